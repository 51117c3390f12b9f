package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/parleychat/parley"
)

// SaveAttachment writes the bytes to a file (synced before the row that
// names it commits) and records the attachment. On PostgreSQL the bytes
// go into the row itself, so that every node serves them.
func (db *DB) SaveAttachment(ctx context.Context, a *parley.Attachment, content []byte) error {
	if a.ID == "" {
		a.ID = parley.NewID("att")
	}
	sum := sha256.Sum256(content)
	a.SHA256, a.Size = hex.EncodeToString(sum[:]), int64(len(content))
	if db.postgres {
		return db.do(ctx, func(tx *writeTx) error {
			if err := tx.attachmentTarget(a); err != nil {
				return err
			}
			_, err := tx.ExecContext(tx.ctx, `INSERT INTO attachments (id, account_id, conversation_id, uploader_id, name, content_type, size, sha256, created_at, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				a.ID, a.AccountID, a.ConversationID, a.UploaderID, a.Name, a.ContentType, a.Size, a.SHA256, micros(a.CreatedAt), content)
			return err
		})
	}
	dir := filepath.Join(db.blobDir, a.AccountID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, a.ID)
	if err := writeSynced(path, content); err != nil {
		return fmt.Errorf("write attachment: %w", err)
	}
	err := db.do(ctx, func(tx *writeTx) error {
		if err := tx.attachmentTarget(a); err != nil {
			return err
		}
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO attachments (id, account_id, conversation_id, uploader_id, name, content_type, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.AccountID, a.ConversationID, a.UploaderID, a.Name, a.ContentType, a.Size, a.SHA256, micros(a.CreatedAt))
		return err
	})
	if err != nil {
		os.Remove(path)
	}
	return err
}

// attachmentTarget checks the attachment's conversation and stamps its time.
func (tx *writeTx) attachmentTarget(a *parley.Attachment) error {
	var one int
	if err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM conversations WHERE account_id = ? AND id = ?`, a.AccountID, a.ConversationID).Scan(&one); err != nil {
		return notFound(err, "conversation %q not found", a.ConversationID)
	}
	a.CreatedAt = tx.now
	return nil
}

// OpenAttachment returns the attachment and a reader of its bytes.
func (db *DB) OpenAttachment(ctx context.Context, accountID, id string) (*parley.Attachment, io.ReadCloser, error) {
	var a parley.Attachment
	var created int64
	err := db.read.QueryRowContext(ctx, `SELECT id, account_id, conversation_id, uploader_id, name, content_type, size, sha256, created_at FROM attachments WHERE account_id = ? AND id = ?`, accountID, id).
		Scan(&a.ID, &a.AccountID, &a.ConversationID, &a.UploaderID, &a.Name, &a.ContentType, &a.Size, &a.SHA256, &created)
	if err != nil {
		return nil, nil, notFound(err, "attachment %q not found", id)
	}
	a.CreatedAt = fromMicros(created)
	if db.postgres {
		var content []byte
		if err := db.read.QueryRowContext(ctx, `SELECT content FROM attachments WHERE account_id = ? AND id = ?`, accountID, id).Scan(&content); err != nil {
			return nil, nil, notFound(err, "attachment %q not found", id)
		}
		return &a, io.NopCloser(bytes.NewReader(content)), nil
	}
	f, err := os.Open(filepath.Join(db.blobDir, accountID, filepath.Base(a.ID)))
	if err != nil {
		return nil, nil, fmt.Errorf("open attachment: %w", err)
	}
	return &a, f, nil
}

func writeSynced(path string, content []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
