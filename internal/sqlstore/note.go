package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parleychat/parley"
)

// AddNote stores a private note and writes note.created. A note whose
// client ID its author already used in the conversation is not written
// again: n becomes the stored one and duplicate is true.
func (db *DB) AddNote(ctx context.Context, n *parley.Note) (duplicate bool, err error) {
	if n.ID == "" {
		n.ID = parley.NewID("note")
	}
	err = db.do(ctx, func(tx *writeTx) (err error) {
		duplicate, err = addNote(tx, n)
		return err
	})
	return duplicate, err
}

// addNote is AddNote inside a write transaction.
func addNote(tx *writeTx, n *parley.Note) (duplicate bool, err error) {
	if n.ID == "" {
		n.ID = parley.NewID("note")
	}
	var one int
	if err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM conversations WHERE account_id = ? AND id = ?`, n.AccountID, n.ConversationID).Scan(&one); err != nil {
		return false, notFound(err, "conversation %q not found", n.ConversationID)
	}
	if n.ClientID != "" {
		stored, err := scanNote(tx.QueryRowContext(tx.ctx, `SELECT `+noteColumns+` FROM notes WHERE conversation_id = ? AND client_id = ?`, n.ConversationID, n.ClientID))
		switch {
		case err == nil && stored.AuthorID != n.AuthorID:
			return false, parley.Errorf(parley.ECONFLICT, "client_id %q is already used in conversation %q by another author", n.ClientID, n.ConversationID)
		case err == nil:
			*n = *stored
			return true, nil
		case !errors.Is(err, sql.ErrNoRows):
			return false, err
		}
	}
	n.CreatedAt = tx.now
	mentions := ""
	if len(n.Mentions) > 0 {
		b, _ := json.Marshal(n.Mentions)
		mentions = string(b)
	}
	if _, err := tx.ExecContext(tx.ctx, `INSERT INTO notes (id, account_id, conversation_id, author_id, author_name, text, created_at, mentions, client_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.ID, n.AccountID, n.ConversationID, n.AuthorID, n.AuthorName, n.Text, micros(n.CreatedAt), mentions, n.ClientID); err != nil {
		return false, err
	}
	for _, u := range n.Mentions {
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO note_mentions (account_id, user_id, conversation_id, note_id) VALUES (?, ?, ?, ?)`,
			n.AccountID, u, n.ConversationID, n.ID); err != nil {
			return false, err
		}
	}
	return false, tx.event(n.AccountID, parley.EventNoteCreated, n.ConversationID, n)
}

// ListNotes returns a conversation's notes, oldest first.
func (db *DB) ListNotes(ctx context.Context, accountID, conversationID string) ([]*parley.Note, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+noteColumns+` FROM notes WHERE account_id = ? AND conversation_id = ? ORDER BY id`, accountID, conversationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.Note{}
	for rows.Next() {
		n, err := scanNote(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

const noteColumns = `id, account_id, conversation_id, author_id, author_name, text, created_at, mentions, redacted, client_id`

func scanNote(s scanner) (*parley.Note, error) {
	var n parley.Note
	var created int64
	var mentions, redacted string
	if err := s.Scan(&n.ID, &n.AccountID, &n.ConversationID, &n.AuthorID, &n.AuthorName, &n.Text, &created, &mentions, &redacted, &n.ClientID); err != nil {
		return nil, err
	}
	if mentions != "" {
		if err := json.Unmarshal([]byte(mentions), &n.Mentions); err != nil {
			return nil, fmt.Errorf("note %s: mentions: %w", n.ID, err)
		}
	}
	if redacted != "" {
		n.Redacted = &parley.Redaction{}
		if err := json.Unmarshal([]byte(redacted), n.Redacted); err != nil {
			return nil, fmt.Errorf("note %s: redacted: %w", n.ID, err)
		}
	}
	n.CreatedAt = fromMicros(created)
	return &n, nil
}

// CreateCannedResponse stores a canned response.
func (db *DB) CreateCannedResponse(ctx context.Context, c *parley.CannedResponse) error {
	if c.ID == "" {
		c.ID = parley.NewID("can")
	}
	return db.do(ctx, func(tx *writeTx) error {
		if err := tx.accountExists(c.AccountID); err != nil {
			return err
		}
		c.CreatedAt = tx.now
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO canned_responses (id, account_id, shortcut, text, created_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.AccountID, c.Shortcut, c.Text, micros(c.CreatedAt))
		if isUniqueViolation(err) {
			return parley.Errorf(parley.ECONFLICT, "shortcut /%s exists", c.Shortcut)
		}
		return err
	})
}

// ListCannedResponses returns the account's canned responses by shortcut.
func (db *DB) ListCannedResponses(ctx context.Context, accountID string) ([]*parley.CannedResponse, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, account_id, shortcut, text, created_at FROM canned_responses WHERE account_id = ? ORDER BY shortcut`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.CannedResponse{}
	for rows.Next() {
		var c parley.CannedResponse
		var created int64
		if err := rows.Scan(&c.ID, &c.AccountID, &c.Shortcut, &c.Text, &created); err != nil {
			return nil, err
		}
		c.CreatedAt = fromMicros(created)
		out = append(out, &c)
	}
	return out, rows.Err()
}

// UpdateCannedResponse replaces a canned response's shortcut and text.
func (db *DB) UpdateCannedResponse(ctx context.Context, c *parley.CannedResponse) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE canned_responses SET shortcut = ?, text = ? WHERE account_id = ? AND id = ?`, c.Shortcut, c.Text, c.AccountID, c.ID)
		if isUniqueViolation(err) {
			return parley.Errorf(parley.ECONFLICT, "shortcut /%s exists", c.Shortcut)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "canned response %q not found", c.ID)
		}
		var created int64
		if err := tx.QueryRowContext(tx.ctx, `SELECT created_at FROM canned_responses WHERE account_id = ? AND id = ?`, c.AccountID, c.ID).Scan(&created); err != nil {
			return err
		}
		c.CreatedAt = fromMicros(created)
		return nil
	})
}

// DeleteCannedResponse removes one.
func (db *DB) DeleteCannedResponse(ctx context.Context, accountID, id string) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `DELETE FROM canned_responses WHERE account_id = ? AND id = ?`, accountID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "canned response %q not found", id)
		}
		return nil
	})
}
