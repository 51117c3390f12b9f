package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

const passkeyColumns = `id, account_id, user_id, name, rp_id, credential, created_at, last_used_at`

// AddPasskey stores a user's new passkey (see parley.Store).
func (db *DB) AddPasskey(ctx context.Context, pk *parley.Passkey) error {
	return db.do(ctx, func(tx *writeTx) error {
		var n int
		err := tx.QueryRowContext(tx.ctx, `SELECT passkeys FROM users WHERE account_id = ? AND id = ?`+tx.forUpdate(), pk.AccountID, pk.UserID).Scan(&n)
		if err != nil {
			return notFound(err, "user %q not found", pk.UserID)
		}
		if n >= parley.MaxPasskeysPerUser {
			return parley.Errorf(parley.ECONFLICT, "you have %d passkeys, the most one person may have; remove one first", n)
		}
		pk.CreatedAt = tx.now
		_, err = tx.ExecContext(tx.ctx, `INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, 0)`,
			pk.ID, pk.AccountID, pk.UserID, pk.Name, pk.RPID, pk.Credential, micros(pk.CreatedAt))
		if isUniqueViolation(err) {
			return parley.Errorf(parley.ECONFLICT, "this passkey is already registered")
		}
		if err != nil {
			return err
		}
		return tx.countPasskeys(pk.AccountID, pk.UserID)
	})
}

// countPasskeys writes the user's passkey count and user.updated.
func (tx *writeTx) countPasskeys(accountID, userID string) error {
	if _, err := tx.ExecContext(tx.ctx, `UPDATE users SET passkeys = (SELECT COUNT(*) FROM passkeys WHERE account_id = ? AND user_id = ?)
		WHERE account_id = ? AND id = ?`, accountID, userID, accountID, userID); err != nil {
		return err
	}
	u, err := scanUser(tx.QueryRowContext(tx.ctx, `SELECT `+userColumns+` FROM users WHERE account_id = ? AND id = ?`, accountID, userID))
	if err != nil {
		return err
	}
	return tx.event(accountID, parley.EventUserUpdated, "", u)
}

// Passkeys lists a user's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, accountID, userID string) ([]*parley.Passkey, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE account_id = ? AND user_id = ? ORDER BY created_at, id`, accountID, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.Passkey{}
	for rows.Next() {
		pk, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, pk)
	}
	return out, rows.Err()
}

// FindPasskey looks a passkey up by credential ID, across accounts.
func (db *DB) FindPasskey(ctx context.Context, id string) (*parley.Passkey, error) {
	pk, err := scanPasskey(db.read.QueryRowContext(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "no such passkey")
	}
	return pk, nil
}

// RenamePasskey changes a passkey's name.
func (db *DB) RenamePasskey(ctx context.Context, accountID, userID, id, name string) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE passkeys SET name = ? WHERE account_id = ? AND user_id = ? AND id = ?`, name, accountID, userID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "no such passkey")
		}
		return nil
	})
}

// UsePasskey records a sign-in with the passkey.
func (db *DB) UsePasskey(ctx context.Context, accountID, id string, credential []byte, at time.Time) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE passkeys SET credential = ?, last_used_at = ? WHERE account_id = ? AND id = ?`,
			credential, micros(at), accountID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "no such passkey")
		}
		return nil
	})
}

// RemovePasskeys removes some or all of a user's passkeys.
func (db *DB) RemovePasskeys(ctx context.Context, accountID, userID string, ids ...string) (int, error) {
	var removed int
	err := db.do(ctx, func(tx *writeTx) error {
		removed = 0
		q, args := `DELETE FROM passkeys WHERE account_id = ? AND user_id = ?`, []any{accountID, userID}
		if len(ids) > 0 {
			q += ` AND id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
			for _, id := range ids {
				args = append(args, id)
			}
		}
		res, err := tx.ExecContext(tx.ctx, q, args...)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if len(ids) > 0 && int(n) != len(ids) {
			return parley.Errorf(parley.ENOTFOUND, "no such passkey")
		}
		if removed = int(n); removed == 0 {
			return nil
		}
		return tx.countPasskeys(accountID, userID)
	})
	return removed, err
}

func scanPasskey(s scanner) (*parley.Passkey, error) {
	var pk parley.Passkey
	var created, used int64
	if err := s.Scan(&pk.ID, &pk.AccountID, &pk.UserID, &pk.Name, &pk.RPID, &pk.Credential, &created, &used); err != nil {
		return nil, err
	}
	pk.CreatedAt = fromMicros(created)
	if used != 0 {
		pk.LastUsedAt = fromMicros(used)
	}
	return &pk, nil
}
