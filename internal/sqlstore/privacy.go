package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

// eraseLocked removes the content of the account's conversations inside a
// write transaction and returns the attachment files to delete after it
// commits.
func (tx *writeTx) eraseConversations(accountID string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in := `(?` + strings.Repeat(", ?", len(ids)-1) + `)`
	args := []any{accountID}
	for _, id := range ids {
		args = append(args, id)
	}
	var files []string
	rows, err := tx.QueryContext(tx.ctx, `SELECT id FROM attachments WHERE account_id = ? AND conversation_id IN `+in, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		files = append(files, id)
	}
	rows.Close()
	for _, q := range []string{
		`DELETE FROM messages WHERE account_id = ? AND conversation_id IN ` + in,
		`DELETE FROM notes WHERE account_id = ? AND conversation_id IN ` + in,
		`DELETE FROM note_mentions WHERE account_id = ? AND conversation_id IN ` + in,
		`DELETE FROM attachments WHERE account_id = ? AND conversation_id IN ` + in,
		`DELETE FROM bot_sessions WHERE account_id = ? AND conversation_id IN ` + in,
		`UPDATE events SET data = ` + erasedEventData(tx.db.postgres) + ` WHERE account_id = ? AND conversation_id IN ` + in,
		`UPDATE conversations SET erased = 1, close_reason = '', csat_comment = '', fields = '' WHERE account_id = ? AND id IN ` + in,
	} {
		if _, err := tx.ExecContext(tx.ctx, q, args...); err != nil {
			return nil, err
		}
	}
	return files, tx.rewritePayloads(`d.conversation_id IN `+in, args...)
}

// rewritePayloads writes again, from their events as they are now (erased),
// the webhook payloads of the account's deliveries that where selects;
// args are the account's ID and where's arguments. A receiver still gets
// the event's type, time and kept fields, as it would from an erased event
// delivered after the erasure.
func (tx *writeTx) rewritePayloads(where string, args ...any) error {
	rows, err := tx.QueryContext(tx.ctx, `SELECT d.id, e.account_id, e.seq, e.type, e.conversation_id, e.message_seq, e.data, e.created_at
		FROM webhook_deliveries d JOIN events e ON e.account_id = d.account_id AND e.seq = d.event_seq
		WHERE d.account_id = ? AND `+where, args...)
	if err != nil {
		return err
	}
	payloads := map[string]json.RawMessage{}
	for rows.Next() {
		var id, data string
		var created int64
		var e parley.Event
		if err := rows.Scan(&id, &e.AccountID, &e.Seq, &e.Type, &e.ConversationID, &e.MessageSeq, &data, &created); err != nil {
			rows.Close()
			return err
		}
		e.Data, e.CreatedAt = []byte(data), fromMicros(created)
		payloads[id] = parley.WebhookBody(&e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, p := range payloads {
		if _, err := tx.ExecContext(tx.ctx, `UPDATE webhook_deliveries SET payload = ? WHERE id = ?`, string(p), id); err != nil {
			return err
		}
	}
	return nil
}

// erasedEventData is the SQL expression an erased event's data becomes:
// {"erased":true} with those fields of parley.ErasureKeeps that the event
// has. Both forms drop a field the event lacks because its value is null:
// SQLite's JSON merge patch removes it, PostgreSQL's jsonb_strip_nulls too.
func erasedEventData(postgres bool) string {
	var b strings.Builder
	if postgres {
		b.WriteString(`jsonb_strip_nulls(jsonb_build_object('erased', true`)
		for _, f := range parley.ErasureKeeps {
			fmt.Fprintf(&b, `, '%s', data::jsonb -> '%s'`, f, f)
		}
		b.WriteString(`))::text`)
		return b.String()
	}
	b.WriteString(`json_patch('{"erased":true}', json_object(`)
	for i, f := range parley.ErasureKeeps {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, `'%s', json(data -> '$.%s')`, f, f)
	}
	b.WriteString(`))`)
	return b.String()
}

func (db *DB) removeBlobs(accountID string, files []string) {
	for _, f := range files {
		os.Remove(filepath.Join(db.blobDir, accountID, filepath.Base(f)))
	}
}

// EraseConversations removes the conversations' content.
func (db *DB) EraseConversations(ctx context.Context, accountID string, ids []string) error {
	var files []string
	err := db.do(ctx, func(tx *writeTx) error {
		var err error
		files, err = tx.eraseConversations(accountID, ids)
		if err != nil {
			return err
		}
		return tx.event(accountID, parley.EventConversationsExpired, "", map[string]int{"conversations": len(ids)})
	})
	if err == nil {
		db.removeBlobs(accountID, files)
	}
	return err
}

// EraseConsumer erases a visitor and everything they said or were told.
func (db *DB) EraseConsumer(ctx context.Context, accountID, consumerID string) error {
	var files []string
	err := db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE consumers SET name = '', email = '', external_id = '', attributes = '{}', erased = 1 WHERE account_id = ? AND id = ?`, accountID, consumerID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "consumer %q not found", consumerID)
		}
		rows, err := tx.QueryContext(tx.ctx, `SELECT id FROM conversations WHERE account_id = ? AND consumer_id = ?`, accountID, consumerID)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if files, err = tx.eraseConversations(accountID, ids); err != nil {
			return err
		}
		// The visitor's own events (created, updated, identity) name them.
		like := `%"` + consumerID + `"%`
		if _, err := tx.ExecContext(tx.ctx, `UPDATE events SET data = `+erasedEventData(tx.db.postgres)+` WHERE account_id = ? AND conversation_id = '' AND data LIKE ?`, accountID, like); err != nil {
			return err
		}
		if err := tx.rewritePayloads(`d.conversation_id = '' AND d.payload LIKE ?`, accountID, like); err != nil {
			return err
		}
		return tx.event(accountID, parley.EventConsumerErased, "", map[string]any{"consumer_id": consumerID, "conversations": len(ids)})
	})
	if err == nil {
		db.removeBlobs(accountID, files)
	}
	return err
}

// ExpiredConversations lists closed conversations past retention.
func (db *DB) ExpiredConversations(ctx context.Context, accountID string, closedBefore time.Time, limit int) ([]string, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id FROM conversations WHERE account_id = ? AND erased = 0 AND state = 'closed' AND closed_at < ? ORDER BY closed_at LIMIT ?`,
		accountID, micros(closedBefore), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// AppendAudit records an action.
func (db *DB) AppendAudit(ctx context.Context, e *parley.AuditEntry) error {
	if e.ID == "" {
		e.ID = parley.NewID("aud")
	}
	return db.do(ctx, func(tx *writeTx) error {
		if e.At.IsZero() {
			e.At = tx.now
		}
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO audit_log (id, account_id, at, actor_id, actor_kind, actor_name, action, target, ip, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.AccountID, micros(e.At), e.ActorID, e.ActorKind, e.ActorName, e.Action, e.Target, e.IP, e.Status)
		return err
	})
}

// ListAudit returns audit entries, newest first.
func (db *DB) ListAudit(ctx context.Context, accountID, before string, limit int) ([]*parley.AuditEntry, error) {
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT id, account_id, at, actor_id, actor_kind, actor_name, action, target, ip, status FROM audit_log WHERE account_id = ?`
	args := []any{accountID}
	if before != "" {
		q += ` AND id < ?`
		args = append(args, before)
	}
	rows, err := db.read.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.AuditEntry{}
	for rows.Next() {
		var e parley.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &e.AccountID, &at, &e.ActorID, &e.ActorKind, &e.ActorName, &e.Action, &e.Target, &e.IP, &e.Status); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}
