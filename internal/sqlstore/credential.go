package sqlstore

import (
	"context"

	"github.com/parleychat/parley"
)

// CreateSession stores a login session.
func (db *DB) CreateSession(ctx context.Context, s *parley.Session) error {
	return db.do(ctx, func(tx *writeTx) error {
		s.CreatedAt = tx.now
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO sessions (token_hash, account_id, user_id, csrf_token, created_at, expires_at, sso, id_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			s.TokenHash, s.AccountID, s.UserID, s.CSRFToken, micros(s.CreatedAt), micros(s.ExpiresAt), boolInt(s.SSO), s.IDToken)
		return err
	})
}

// FindSession returns the session with the token hash, expired or not; the
// caller checks expiry.
func (db *DB) FindSession(ctx context.Context, tokenHash []byte) (*parley.Session, error) {
	var s parley.Session
	var created, expires int64
	var sso int
	err := db.read.QueryRowContext(ctx, `SELECT token_hash, account_id, user_id, csrf_token, created_at, expires_at, sso, id_token FROM sessions WHERE token_hash = ?`, tokenHash).
		Scan(&s.TokenHash, &s.AccountID, &s.UserID, &s.CSRFToken, &created, &expires, &sso, &s.IDToken)
	if err != nil {
		return nil, notFound(err, "session not found")
	}
	s.CreatedAt, s.ExpiresAt, s.SSO = fromMicros(created), fromMicros(expires), sso != 0
	return &s, nil
}

// DeleteSession ends a session; ending an unknown one is not an error.
func (db *DB) DeleteSession(ctx context.Context, tokenHash []byte) error {
	return db.do(ctx, func(tx *writeTx) error {
		_, err := tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
		return err
	})
}

// CreateAPIKey stores a key and writes api_key.created.
func (db *DB) CreateAPIKey(ctx context.Context, k *parley.APIKey) error {
	if k.ID == "" {
		k.ID = parley.NewID("key")
	}
	return db.do(ctx, func(tx *writeTx) error {
		if err := tx.accountExists(k.AccountID); err != nil {
			return err
		}
		k.CreatedAt = tx.now
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO api_keys (id, account_id, name, role, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.AccountID, k.Name, string(k.Role), k.SecretHash, micros(k.CreatedAt)); err != nil {
			return err
		}
		return tx.event(k.AccountID, parley.EventAPIKeyCreated, "", k)
	})
}

// FindAPIKey returns an unrevoked key by ID, in any account; the caller
// compares the secret.
func (db *DB) FindAPIKey(ctx context.Context, id string) (*parley.APIKey, error) {
	k, err := scanAPIKey(db.read.QueryRowContext(ctx, `SELECT id, account_id, name, role, secret_hash, created_at FROM api_keys WHERE id = ? AND revoked = 0`, id))
	if err != nil {
		return nil, notFound(err, "api key not found")
	}
	return k, nil
}

// ListAPIKeys returns the account's unrevoked keys.
func (db *DB) ListAPIKeys(ctx context.Context, accountID string) ([]*parley.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, account_id, name, role, secret_hash, created_at FROM api_keys WHERE account_id = ? AND revoked = 0 ORDER BY id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey disables a key for good and writes api_key.revoked.
func (db *DB) RevokeAPIKey(ctx context.Context, accountID, id string) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE api_keys SET revoked = 1 WHERE account_id = ? AND id = ? AND revoked = 0`, accountID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "api key %q not found", id)
		}
		return tx.event(accountID, parley.EventAPIKeyRevoked, "", map[string]string{"id": id})
	})
}

func scanAPIKey(s scanner) (*parley.APIKey, error) {
	var k parley.APIKey
	var role string
	var created int64
	if err := s.Scan(&k.ID, &k.AccountID, &k.Name, &role, &k.SecretHash, &created); err != nil {
		return nil, err
	}
	k.Role = parley.Role(role)
	k.CreatedAt = fromMicros(created)
	return &k, nil
}
