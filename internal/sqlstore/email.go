package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleychat/parley"
)

// EmailCursor returns how far the account's event log has been read for
// reply emails, starting it at the log's end the first time: an account
// that turns email replies on is not mailed its history.
func (db *DB) EmailCursor(ctx context.Context, accountID string) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT seq FROM reply_email_cursors WHERE account_id = ?`, accountID).Scan(&seq)
	if err == nil {
		return seq, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	err = db.do(ctx, func(tx *writeTx) error {
		if err := tx.QueryRowContext(tx.ctx, `SELECT seq FROM reply_email_cursors WHERE account_id = ?`, accountID).Scan(&seq); err == nil {
			return nil // another node started it meanwhile
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var one int
		if err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM accounts WHERE id = ?`, accountID).Scan(&one); err != nil {
			return notFound(err, "account %q not found", accountID)
		}
		last, err := tx.lastEventSeq(accountID)
		if err != nil {
			return err
		}
		seq = last
		_, err = tx.ExecContext(tx.ctx, `INSERT INTO reply_email_cursors (account_id, seq) VALUES (?, ?)`, accountID, seq)
		return err
	})
	return seq, err
}

// StartEmailCursor moves the account's cursor to the log's end: replies
// from now on are mailed, none before.
func (db *DB) StartEmailCursor(ctx context.Context, accountID string) error {
	return db.do(ctx, func(tx *writeTx) error {
		last, err := tx.lastEventSeq(accountID)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(tx.ctx, `INSERT INTO reply_email_cursors (account_id, seq) VALUES (?, ?)
			ON CONFLICT (account_id) DO UPDATE SET seq = excluded.seq`, accountID, last)
		return err
	})
}

// QueueReplyEmails records the emails owed and moves the cursor, in one
// transaction. A conversation with an email already pending keeps that
// one — its earlier message and due time — and the new messages go in it.
func (db *DB) QueueReplyEmails(ctx context.Context, accountID string, emails []*parley.ReplyEmail, from, to int64) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE reply_email_cursors SET seq = ? WHERE account_id = ? AND seq = ?`, to, accountID, from)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ECONFLICT, "the email cursor of account %q moved on meanwhile", accountID)
		}
		for _, e := range emails {
			if e.ID == "" {
				e.ID = parley.NewID("eml")
			}
			e.AccountID, e.State, e.CreatedAt = accountID, parley.ReplyEmailPending, tx.now
			// The conversation must be the account's: the event log is, but
			// the check costs one probe and keeps the rule structural.
			var one int
			if err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM conversations WHERE account_id = ? AND id = ?`, accountID, e.ConversationID).Scan(&one); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				return err
			}
			// A message an email already carried (sent while its event
			// waited to be read here) is not owed again.
			if e.Kind == "" {
				e.Kind = parley.EmailKindReplies
			}
			if _, err := tx.ExecContext(tx.ctx, `INSERT INTO reply_emails (id, account_id, conversation_id, from_seq, state, due_at, created_at, kind)
				SELECT ?, ?, ?, ?, 'pending', ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM reply_emails WHERE account_id = ? AND conversation_id = ? AND kind = ? AND state = 'sent' AND through_seq >= ?)
				ON CONFLICT (conversation_id, kind) WHERE state = 'pending' DO NOTHING`,
				e.ID, accountID, e.ConversationID, e.FromSeq, micros(e.DueAt), micros(tx.now), e.Kind, accountID, e.ConversationID, e.Kind, e.FromSeq); err != nil {
				return err
			}
		}
		return nil
	})
}

const replyEmailColumns = `id, account_id, conversation_id, from_seq, state, due_at, attempts, last_error, through_seq, messages, created_at, sent_at, kind`

func scanReplyEmail(s scanner) (*parley.ReplyEmail, error) {
	var e parley.ReplyEmail
	var due, created int64
	var sent sql.NullInt64
	if err := s.Scan(&e.ID, &e.AccountID, &e.ConversationID, &e.FromSeq, &e.State, &due, &e.Attempts, &e.LastError, &e.ThroughSeq, &e.Messages, &created, &sent, &e.Kind); err != nil {
		return nil, err
	}
	e.DueAt, e.CreatedAt = fromMicros(due), fromMicros(created)
	if sent.Valid {
		t := fromMicros(sent.Int64)
		e.SentAt = &t
	}
	return &e, nil
}

// DueReplyEmails returns pending emails due at now, the longest due first.
func (db *DB) DueReplyEmails(ctx context.Context, now time.Time, limit int) ([]*parley.ReplyEmail, error) {
	return db.replyEmails(ctx, `WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?`, micros(now), limit)
}

// ListReplyEmails returns a conversation's reply emails, oldest first.
func (db *DB) ListReplyEmails(ctx context.Context, accountID, conversationID string) ([]*parley.ReplyEmail, error) {
	return db.replyEmails(ctx, `WHERE account_id = ? AND conversation_id = ? ORDER BY created_at, id`, accountID, conversationID)
}

// replyEmails reads the reply emails a WHERE … ORDER BY … clause picks.
func (db *DB) replyEmails(ctx context.Context, where string, args ...any) ([]*parley.ReplyEmail, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+replyEmailColumns+` FROM reply_emails `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*parley.ReplyEmail
	for rows.Next() {
		e, err := scanReplyEmail(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// FinishReplyEmail records an email's outcome, and for sent and failed
// writes the event, in one transaction. Only a pending email changes:
// ECONFLICT otherwise (another node finished it).
func (db *DB) FinishReplyEmail(ctx context.Context, e *parley.ReplyEmail) error {
	return db.do(ctx, func(tx *writeTx) error {
		var sent any
		if e.SentAt != nil {
			sent = micros(*e.SentAt)
		}
		res, err := tx.ExecContext(tx.ctx, `UPDATE reply_emails SET state = ?, due_at = ?, attempts = ?, last_error = ?, through_seq = ?, messages = ?, sent_at = ?
			WHERE account_id = ? AND id = ? AND state = 'pending'`,
			e.State, micros(e.DueAt), e.Attempts, e.LastError, e.ThroughSeq, e.Messages, sent, e.AccountID, e.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ECONFLICT, "reply email %q is no longer pending", e.ID)
		}
		switch e.State {
		case parley.ReplyEmailSent:
			return tx.event(e.AccountID, parley.EventEmailSent, e.ConversationID, parley.EmailReport{EmailID: e.ID, Kind: e.Kind, Messages: e.Messages, ThroughSeq: e.ThroughSeq})
		case parley.ReplyEmailFailed:
			return tx.event(e.AccountID, parley.EventEmailFailed, e.ConversationID, parley.EmailReport{EmailID: e.ID, Kind: e.Kind, Error: e.LastError})
		}
		return nil
	})
}

// ReplyAddress returns the token of the conversation's reply address,
// making token it when the conversation has none.
func (db *DB) ReplyAddress(ctx context.Context, accountID, conversationID, token string) (string, error) {
	var got string
	err := db.read.QueryRowContext(ctx, `SELECT token FROM reply_addresses WHERE account_id = ? AND conversation_id = ?`, accountID, conversationID).Scan(&got)
	if err == nil {
		return got, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	err = db.do(ctx, func(tx *writeTx) error {
		var one int
		if err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM conversations WHERE account_id = ? AND id = ?`, accountID, conversationID).Scan(&one); err != nil {
			return notFound(err, "conversation %q not found", conversationID)
		}
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO reply_addresses (token, account_id, conversation_id, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (conversation_id) DO NOTHING`, token, accountID, conversationID, micros(tx.now)); err != nil {
			return err
		}
		return tx.QueryRowContext(tx.ctx, `SELECT token FROM reply_addresses WHERE account_id = ? AND conversation_id = ?`, accountID, conversationID).Scan(&got)
	})
	return got, err
}

// FindReplyAddress returns the account and conversation a reply address
// names (ENOTFOUND: none). Like a session token, the token is looked up
// across accounts: it is the credential.
func (db *DB) FindReplyAddress(ctx context.Context, token string) (accountID, conversationID string, err error) {
	err = db.read.QueryRowContext(ctx, `SELECT account_id, conversation_id FROM reply_addresses WHERE token = ?`, token).Scan(&accountID, &conversationID)
	if err != nil {
		return "", "", notFound(err, "no such reply address")
	}
	return accountID, conversationID, nil
}
