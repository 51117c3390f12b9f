package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/parleychat/parley"
)

// PutBot saves the account's bot configuration and writes bot.updated.
func (db *DB) PutBot(ctx context.Context, accountID string, config json.RawMessage, expectVersion int64) (*parley.BotRecord, error) {
	var out *parley.BotRecord
	err := db.do(ctx, func(tx *writeTx) error {
		var current int64
		err := tx.QueryRowContext(tx.ctx, `SELECT version FROM bots WHERE account_id = ?`, accountID).Scan(&current)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if expectVersion > 0 && current != expectVersion {
			return parley.Errorf(parley.ECONFLICT, "the bot is at version %d, not %d: someone else saved it meanwhile", current, expectVersion)
		}
		out = &parley.BotRecord{AccountID: accountID, Config: config, Version: current + 1, UpdatedAt: tx.now}
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO bots (account_id, config, version, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET config = excluded.config, version = excluded.version, updated_at = excluded.updated_at`,
			accountID, string(config), out.Version, micros(tx.now)); err != nil {
			return err
		}
		return tx.event(accountID, parley.EventBotUpdated, "", map[string]int64{"version": out.Version})
	})
	return out, err
}

// FindBot returns the account's bot configuration.
func (db *DB) FindBot(ctx context.Context, accountID string) (*parley.BotRecord, error) {
	r := &parley.BotRecord{AccountID: accountID}
	var config string
	var updated int64
	err := db.read.QueryRowContext(ctx, `SELECT config, version, updated_at FROM bots WHERE account_id = ?`, accountID).Scan(&config, &r.Version, &updated)
	if err != nil {
		return nil, notFound(err, "account %q has no bot", accountID)
	}
	r.Config, r.UpdatedAt = json.RawMessage(config), fromMicros(updated)
	return r, nil
}

// SaveBotSession keeps the bot's state in a conversation of the account.
func (db *DB) SaveBotSession(ctx context.Context, accountID, conversationID string, state json.RawMessage) error {
	return db.do(ctx, func(tx *writeTx) error {
		if _, err := tx.findConversation(accountID, conversationID); err != nil {
			return err
		}
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO bot_sessions (conversation_id, account_id, state, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
			conversationID, accountID, string(state), micros(tx.now))
		return err
	})
}

// FindBotSession returns the bot's state in a conversation, nil when none.
func (db *DB) FindBotSession(ctx context.Context, accountID, conversationID string) (json.RawMessage, error) {
	var state string
	err := db.read.QueryRowContext(ctx, `SELECT state FROM bot_sessions WHERE account_id = ? AND conversation_id = ?`, accountID, conversationID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return json.RawMessage(state), nil
}
