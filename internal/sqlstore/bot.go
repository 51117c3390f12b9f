package sqlstore

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
		err := tx.QueryRowContext(tx.ctx, `SELECT version FROM bots WHERE account_id = ?`+tx.forUpdate(), accountID).Scan(&current)
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
		return saveBotSession(tx, accountID, conversationID, state, "")
	})
}

// saveBotSession is SaveBotSession inside a write transaction; trigger,
// when not empty, is the bot turn that left this state.
func saveBotSession(tx *writeTx, accountID, conversationID string, state json.RawMessage, trigger string) error {
	if _, err := tx.findConversation(accountID, conversationID); err != nil {
		return err
	}
	_, err := tx.ExecContext(tx.ctx, `INSERT INTO bot_sessions (conversation_id, account_id, state, last_trigger, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state, last_trigger = excluded.last_trigger, updated_at = excluded.updated_at`,
		conversationID, accountID, string(state), trigger, micros(tx.now))
	return err
}

// ApplyBotTurn writes a bot turn in one transaction: its messages, the
// session, the visitor, the events, and a handoff or a close.
func (db *DB) ApplyBotTurn(ctx context.Context, t *parley.BotTurn) (bool, error) {
	rich := make([]any, len(t.Messages))
	for i, m := range t.Messages {
		var err error
		if rich[i], err = richOf(m); err != nil {
			return false, err
		}
	}
	for _, e := range t.Events {
		if len(e.Data) > 0 && !json.Valid(e.Data) {
			return false, parley.Errorf(parley.EINVALID, "%s event data is not JSON", e.Type)
		}
	}
	applied := false
	err := db.do(ctx, func(tx *writeTx) error {
		applied = false // a batch may run twice (tryBatch)
		if t.Trigger != "" {
			var last string
			err := tx.QueryRowContext(tx.ctx, `SELECT last_trigger FROM bot_sessions WHERE account_id = ? AND conversation_id = ?`+tx.forUpdate(), t.AccountID, t.ConversationID).Scan(&last)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if last == t.Trigger {
				return nil // applied before
			}
		}
		c, err := tx.findConversation(t.AccountID, t.ConversationID)
		if err != nil {
			return err
		}
		if c.State != parley.StateBot {
			return parley.Errorf(parley.ECONFLICT, "conversation %q is no longer the bot's (%s)", t.ConversationID, c.State)
		}
		for i, m := range t.Messages {
			if m.AccountID != t.AccountID || m.ConversationID != t.ConversationID {
				return parley.Errorf(parley.EINVALID, "a bot turn's messages belong to its conversation")
			}
			if _, _, err := db.appendMessage(tx, m, rich[i]); err != nil {
				return err
			}
		}
		if err := saveBotSession(tx, t.AccountID, t.ConversationID, t.Session, t.Trigger); err != nil {
			return err
		}
		if t.Consumer != nil {
			if t.Consumer.AccountID != t.AccountID || t.Consumer.ID != c.ConsumerID {
				return parley.Errorf(parley.EINVALID, "a bot turn updates only its conversation's visitor")
			}
			if err := updateConsumer(tx, t.Consumer); err != nil {
				return err
			}
		}
		for _, e := range t.Events {
			e.AccountID, e.ConversationID = t.AccountID, t.ConversationID
			if err := appendEvent(tx, e); err != nil {
				return err
			}
		}
		if t.Note != nil {
			t.Note.AccountID, t.Note.ConversationID = t.AccountID, t.ConversationID
			if _, err := addNote(tx, t.Note); err != nil {
				return err
			}
		}
		switch {
		case t.Requeue != nil:
			if _, err := requeueConversation(tx, t.AccountID, t.ConversationID, *t.Requeue); err != nil {
				return err
			}
		case t.Close != nil:
			if _, err := closeConversation(tx, t.AccountID, t.ConversationID, *t.Close); err != nil {
				return err
			}
		}
		applied = true
		return nil
	})
	return applied, err
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
