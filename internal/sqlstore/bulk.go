package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/parleychat/parley"
)

// BulkEvents makes a new SQLite database at path with one account, the
// events fill adds written in one raw transaction, and returns it opened
// as a store, with the account. It is for benchmarks that need millions
// of events: through the writer they take minutes, this way seconds. The
// events must be numbered 1, 2, … as the store would.
func BulkEvents(ctx context.Context, path string, account *parley.Account, fill func(add func(*parley.Event) error) error) (*DB, error) {
	db, err := Open(ctx, path, Options{})
	if err != nil {
		return nil, err
	}
	err = db.CreateAccount(ctx, account)
	db.Close()
	if err != nil {
		return nil, err
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (account_id, seq, type, conversation_id, message_seq, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	err = fill(func(e *parley.Event) error {
		_, err := stmt.ExecContext(ctx, account.ID, e.Seq, e.Type, e.ConversationID, e.MessageSeq, string(e.Data), e.CreatedAt.UnixMicro())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bulk events: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return Open(ctx, path, Options{})
}
