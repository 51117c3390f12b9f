package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

const webhookColumns = `id, account_id, url, types, secret, active, disabled_reason, cursor, created_at`

func scanWebhook(s scanner) (*parley.Webhook, error) {
	var w parley.Webhook
	var types string
	var active int
	var created int64
	if err := s.Scan(&w.ID, &w.AccountID, &w.URL, &types, &w.Secret, &active, &w.DisabledReason, &w.Cursor, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &w.Types); err != nil {
		return nil, err
	}
	if w.Types == nil {
		w.Types = []string{}
	}
	w.Active, w.CreatedAt = active == 1, fromMicros(created)
	return &w, nil
}

func typesJSON(types []string) string {
	if types == nil {
		types = []string{}
	}
	b, _ := json.Marshal(types)
	return string(b)
}

// CreateWebhook stores a subscription that starts with the next event.
func (db *DB) CreateWebhook(ctx context.Context, w *parley.Webhook) error {
	if w.ID == "" {
		w.ID = parley.NewID("whk")
	}
	return db.do(ctx, func(tx *writeTx) error {
		last, err := tx.lastEventSeq(w.AccountID)
		if err != nil {
			return err
		}
		w.Cursor, w.CreatedAt, w.Active = last, tx.now, true
		_, err = tx.ExecContext(tx.ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES (?, ?, ?, ?, ?, 1, '', ?, ?)`,
			w.ID, w.AccountID, w.URL, typesJSON(w.Types), w.Secret, w.Cursor, micros(tx.now))
		return err
	})
}

// FindWebhook returns one webhook of the account.
func (db *DB) FindWebhook(ctx context.Context, accountID, id string) (*parley.Webhook, error) {
	w, err := scanWebhook(db.read.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "webhook %q not found", id)
	}
	return w, nil
}

func (db *DB) listWebhooks(ctx context.Context, where string, args ...any) ([]*parley.Webhook, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// ListWebhooks returns the account's webhooks.
func (db *DB) ListWebhooks(ctx context.Context, accountID string) ([]*parley.Webhook, error) {
	return db.listWebhooks(ctx, `account_id = ?`, accountID)
}

// ListActiveWebhooks returns the active webhooks of every account.
func (db *DB) ListActiveWebhooks(ctx context.Context) ([]*parley.Webhook, error) {
	return db.listWebhooks(ctx, `active = 1`)
}

// UpdateWebhook saves URL, types and active. Turning a webhook back on
// clears why it was turned off and lets its pending deliveries go.
func (db *DB) UpdateWebhook(ctx context.Context, w *parley.Webhook) error {
	if w.Active {
		w.DisabledReason = ""
	}
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE webhooks SET url = ?, types = ?, active = ?, disabled_reason = ? WHERE account_id = ? AND id = ?`,
			w.URL, typesJSON(w.Types), boolInt(w.Active), w.DisabledReason, w.AccountID, w.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "webhook %q not found", w.ID)
		}
		return nil
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DeleteWebhook removes a webhook and its outbox.
func (db *DB) DeleteWebhook(ctx context.Context, accountID, id string) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `DELETE FROM webhooks WHERE account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "webhook %q not found", id)
		}
		return nil
	})
}

// EnqueueDeliveries adds deliveries and moves the cursor, atomically.
func (db *DB) EnqueueDeliveries(ctx context.Context, w *parley.Webhook, ds []*parley.WebhookDelivery, cursor int64) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE webhooks SET cursor = ? WHERE account_id = ? AND id = ? AND cursor = ?`, cursor, w.AccountID, w.ID, w.Cursor)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ECONFLICT, "webhook %q moved on meanwhile", w.ID)
		}
		if err := tx.currentPayloads(w.AccountID, ds); err != nil {
			return err
		}
		for _, d := range ds {
			if d.ID == "" {
				d.ID = parley.NewID("msg")
			}
			d.AccountID, d.WebhookID, d.State, d.CreatedAt = w.AccountID, w.ID, parley.DeliveryPending, tx.now
			if d.NextAttemptAt.IsZero() {
				d.NextAttemptAt = tx.now
			}
			if _, err := tx.ExecContext(tx.ctx, `INSERT INTO webhook_deliveries (id, account_id, webhook_id, event_seq, event_type, conversation_id, payload, state, attempts, next_attempt_at, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)`,
				d.ID, d.AccountID, d.WebhookID, d.EventSeq, d.EventType, d.ConversationID, string(d.Payload), micros(d.NextAttemptAt), micros(tx.now)); err != nil {
				return err
			}
		}
		w.Cursor = cursor
		return nil
	})
}

// currentPayloads builds the deliveries' payloads again from their events
// as they are in this transaction. The dispatcher read the events before:
// an erasure that committed in between has rewritten them and the
// payloads already queued, and must not come back through the copy the
// dispatcher made (TestErasingAVisitorLeavesNothingOfTheirs caught it).
func (tx *writeTx) currentPayloads(accountID string, ds []*parley.WebhookDelivery) error {
	for len(ds) > 0 {
		chunk := ds[:min(len(ds), 500)]
		ds = ds[len(chunk):]
		bySeq := make(map[int64]*parley.WebhookDelivery, len(chunk))
		args := []any{accountID}
		for _, d := range chunk {
			bySeq[d.EventSeq] = d
			args = append(args, d.EventSeq)
		}
		rows, err := tx.QueryContext(tx.ctx, `SELECT seq, type, conversation_id, message_seq, data, created_at FROM events
			WHERE account_id = ? AND seq IN (?`+strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var data string
			var created int64
			e := parley.Event{AccountID: accountID}
			if err := rows.Scan(&e.Seq, &e.Type, &e.ConversationID, &e.MessageSeq, &data, &created); err != nil {
				rows.Close()
				return err
			}
			e.Data, e.CreatedAt = []byte(data), fromMicros(created)
			if d := bySeq[e.Seq]; d != nil {
				d.Payload = parley.WebhookBody(&e)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

const deliveryColumns = `d.id, d.account_id, d.webhook_id, d.event_seq, d.event_type, d.conversation_id, d.payload, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at`

func scanDelivery(s scanner) (*parley.WebhookDelivery, error) {
	var d parley.WebhookDelivery
	var payload string
	var next, created int64
	var delivered sql.NullInt64
	if err := s.Scan(&d.ID, &d.AccountID, &d.WebhookID, &d.EventSeq, &d.EventType, &d.ConversationID, &payload, &d.State, &d.Attempts, &next, &d.LastStatus, &d.LastError, &created, &delivered); err != nil {
		return nil, err
	}
	d.Payload, d.NextAttemptAt, d.CreatedAt = json.RawMessage(payload), fromMicros(next), fromMicros(created)
	if delivered.Valid {
		t := fromMicros(delivered.Int64)
		d.DeliveredAt = &t
	}
	return &d, nil
}

// DueDeliveries returns deliveries due now of active webhooks, each the
// oldest pending one of its conversation for its webhook, and holds them
// for the caller for lease: their next attempt moves to now + lease, so a
// sender on another node does not take them meanwhile (on PostgreSQL the
// rows another node is claiming are skipped, not waited for).
func (db *DB) DueDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*parley.WebhookDelivery, error) {
	var out []*parley.WebhookDelivery
	err := db.doApart(ctx, func(tx *writeTx) error {
		out = nil
		lock := ""
		if db.postgres {
			lock = " FOR UPDATE OF d SKIP LOCKED"
		}
		rows, err := tx.QueryContext(tx.ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND w.active = 1
			AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id AND e.conversation_id = d.conversation_id
				AND d.conversation_id <> '' AND e.state = 'pending' AND e.event_seq < d.event_seq)
			ORDER BY d.next_attempt_at, d.event_seq LIMIT ?`+lock, micros(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range out {
			if _, err := tx.ExecContext(tx.ctx, `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?`, micros(now.Add(lease)), d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// RecordAttempt saves an attempt's outcome.
func (db *DB) RecordAttempt(ctx context.Context, d *parley.WebhookDelivery, disableReason string) error {
	return db.doApart(ctx, func(tx *writeTx) error {
		var delivered any
		if d.DeliveredAt != nil {
			delivered = micros(*d.DeliveredAt)
		}
		res, err := tx.ExecContext(tx.ctx, `UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?, delivered_at = ? WHERE account_id = ? AND id = ?`,
			d.State, d.Attempts, micros(d.NextAttemptAt), d.LastStatus, d.LastError, delivered, d.AccountID, d.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "delivery %q not found", d.ID) // its webhook was deleted meanwhile
		}
		if disableReason == "" {
			return nil
		}
		res, err = tx.ExecContext(tx.ctx, `UPDATE webhooks SET active = 0, disabled_reason = ? WHERE account_id = ? AND id = ? AND active = 1`, disableReason, d.AccountID, d.WebhookID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already off: one notice is enough
		}
		return tx.event(d.AccountID, parley.EventWebhookDisabled, "", map[string]any{"webhook_id": d.WebhookID, "reason": disableReason, "delivery_id": d.ID})
	})
}

// ListDeliveries returns a webhook's latest deliveries, newest first.
func (db *DB) ListDeliveries(ctx context.Context, accountID, webhookID string, limit int) ([]*parley.WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE d.account_id = ? AND d.webhook_id = ? ORDER BY d.event_seq DESC LIMIT ?`, accountID, webhookID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.WebhookDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Redeliver makes a delivery pending and due now.
func (db *DB) Redeliver(ctx context.Context, accountID, id string) (*parley.WebhookDelivery, error) {
	var out *parley.WebhookDelivery
	err := db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = ? WHERE account_id = ? AND id = ?`, micros(tx.now), accountID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "delivery %q not found", id)
		}
		out, err = scanDelivery(tx.QueryRowContext(tx.ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d WHERE d.id = ?`, id))
		return err
	})
	return out, err
}
