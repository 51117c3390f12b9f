package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/parleychat/parley"
)

// CreateAccount stores a new account. It writes no event: an account's event
// log starts with its own first change.
func (db *DB) CreateAccount(ctx context.Context, a *parley.Account) error {
	if a.ID == "" {
		a.ID = parley.NewID("acc")
	}
	settings, err := json.Marshal(a.Settings)
	if err != nil {
		return err
	}
	return db.do(ctx, func(tx *writeTx) error {
		a.CreatedAt = tx.now
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO accounts (id, name, settings, created_at) VALUES (?, ?, ?, ?)`,
			a.ID, a.Name, string(settings), micros(a.CreatedAt))
		if isUniqueViolation(err) {
			return parley.Errorf(parley.ECONFLICT, "account %q exists", a.ID)
		}
		return err
	})
}

// UpdateAccount replaces the account's name and settings and writes
// account.updated.
func (db *DB) UpdateAccount(ctx context.Context, a *parley.Account) error {
	settings, err := json.Marshal(a.Settings)
	if err != nil {
		return err
	}
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE accounts SET name = ?, settings = ? WHERE id = ?`, a.Name, string(settings), a.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "account %q not found", a.ID)
		}
		return tx.event(a.ID, parley.EventAccountUpdated, "", a)
	})
}

// ChangeAccount edits the account inside one write transaction.
func (db *DB) ChangeAccount(ctx context.Context, id string, change func(*parley.Account) error) (*parley.Account, error) {
	var out *parley.Account
	err := db.do(ctx, func(tx *writeTx) error {
		a, err := scanAccount(tx.QueryRowContext(tx.ctx, `SELECT id, name, settings, created_at FROM accounts WHERE id = ?`+tx.forUpdate(), id))
		if err != nil {
			return notFound(err, "account %q not found", id)
		}
		if err := change(a); err != nil {
			return err
		}
		settings, err := json.Marshal(a.Settings)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE accounts SET name = ?, settings = ? WHERE id = ?`, a.Name, string(settings), id); err != nil {
			return err
		}
		out = a
		return tx.event(id, parley.EventAccountUpdated, "", a)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetIdentityKey stores the account's identity-token key and writes
// identity_key.changed (with the algorithm, never the key).
func (db *DB) SetIdentityKey(ctx context.Context, accountID string, k parley.IdentityKey) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE accounts SET identity_alg = ?, identity_key = ? WHERE id = ?`, k.Alg, k.Key, accountID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "account %q not found", accountID)
		}
		return tx.event(accountID, parley.EventIdentityKeyChanged, "", map[string]string{"alg": k.Alg})
	})
}

// FindIdentityKey returns the account's identity-token key.
func (db *DB) FindIdentityKey(ctx context.Context, accountID string) (*parley.IdentityKey, error) {
	var k parley.IdentityKey
	err := db.read.QueryRowContext(ctx, `SELECT identity_alg, identity_key FROM accounts WHERE id = ?`, accountID).Scan(&k.Alg, &k.Key)
	if err != nil {
		return nil, notFound(err, "account %q not found", accountID)
	}
	if k.Alg == "" {
		return nil, parley.Errorf(parley.ENOTFOUND, "no identity key is set")
	}
	return &k, nil
}

// FindAccount returns the account with the given ID.
func (db *DB) FindAccount(ctx context.Context, id string) (*parley.Account, error) {
	row := db.read.QueryRowContext(ctx, `SELECT id, name, settings, created_at FROM accounts WHERE id = ?`, id)
	a, err := scanAccount(row)
	if err != nil {
		return nil, notFound(err, "account %q not found", id)
	}
	return a, nil
}

// ListAccounts returns every account, oldest first.
func (db *DB) ListAccounts(ctx context.Context) ([]*parley.Account, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, name, settings, created_at FROM accounts ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*parley.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanAccount(s scanner) (*parley.Account, error) {
	var a parley.Account
	var settings string
	var created int64
	if err := s.Scan(&a.ID, &a.Name, &settings, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &a.Settings); err != nil {
		return nil, fmt.Errorf("account %s settings: %w", a.ID, err)
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// accountExists fails with ENOTFOUND unless the account exists.
func (tx *writeTx) accountExists(accountID string) error {
	var one int
	err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM accounts WHERE id = ?`, accountID).Scan(&one)
	if err == sql.ErrNoRows {
		return parley.Errorf(parley.ENOTFOUND, "account %q not found", accountID)
	}
	return err
}
