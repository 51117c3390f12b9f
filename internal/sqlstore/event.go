package sqlstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/parleychat/parley"
)

// AppendEvent records e with the account's next cursor.
func (db *DB) AppendEvent(ctx context.Context, e *parley.Event) error {
	if len(e.Data) == 0 {
		e.Data = []byte("{}")
	}
	if !json.Valid(e.Data) {
		return parley.Errorf(parley.EINVALID, "event data is not JSON")
	}
	return db.do(ctx, func(tx *writeTx) error { return appendEvent(tx, e) })
}

// appendEvent is AppendEvent inside a write transaction.
func appendEvent(tx *writeTx, e *parley.Event) error {
	if len(e.Data) == 0 {
		e.Data = []byte("{}")
	}
	if err := tx.eventSeq(e.AccountID, e.Type, e.ConversationID, 0, json.RawMessage(e.Data)); err != nil {
		return err
	}
	stored := tx.op.events[len(tx.op.events)-1]
	e.Seq, e.CreatedAt = stored.Seq, stored.CreatedAt
	return nil
}

// ListEvents returns the account's events after f.After, in cursor order.
func (db *DB) ListEvents(ctx context.Context, accountID string, f parley.EventFilter) ([]*parley.Event, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	query := `SELECT account_id, seq, type, conversation_id, message_seq, data, created_at FROM events WHERE account_id = ? AND seq > ?`
	args := []any{accountID, f.After}
	if len(f.Types) > 0 {
		query += ` AND type IN (?` + strings.Repeat(", ?", len(f.Types)-1) + `)`
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	if f.Newest {
		query += ` ORDER BY seq DESC LIMIT ?`
	} else {
		query += ` ORDER BY seq LIMIT ?`
	}
	args = append(args, f.Limit)
	return db.queryEvents(ctx, query, args...)
}

// ConversationActivity returns a conversation's events but messages and
// receipts, oldest first. The conditions are the partial index's
// (events_activity), written as literals so that both databases use it.
func (db *DB) ConversationActivity(ctx context.Context, accountID, conversationID string, limit int) ([]*parley.Event, error) {
	if limit <= 0 || limit > 1000 {
		limit = 500
	}
	// SQLite without statistics would walk the account's events by their
	// key instead (it also gives the order): named, the index is used, and
	// a query that could not use it fails rather than scanning.
	from := "events INDEXED BY events_activity"
	if db.postgres {
		from = "events"
	}
	return db.queryEvents(ctx, `SELECT account_id, seq, type, conversation_id, message_seq, data, created_at FROM `+from+`
		WHERE account_id = ? AND conversation_id = ? AND conversation_id <> '' AND type <> 'message.created' AND type <> 'receipt.updated'
		ORDER BY seq LIMIT ?`, accountID, conversationID, limit)
}

func (db *DB) queryEvents(ctx context.Context, query string, args ...any) ([]*parley.Event, error) {
	rows, err := db.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.Event{}
	for rows.Next() {
		var e parley.Event
		var data string
		var created int64
		if err := rows.Scan(&e.AccountID, &e.Seq, &e.Type, &e.ConversationID, &e.MessageSeq, &data, &created); err != nil {
			return nil, err
		}
		e.Data = []byte(data)
		e.CreatedAt = fromMicros(created)
		out = append(out, &e)
	}
	return out, rows.Err()
}
