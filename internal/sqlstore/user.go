package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/parleychat/parley"
)

const userColumns = `id, account_id, email, name, role, skills, max_concurrent, active, password_hash, created_at`

// CreateUser stores a new user and writes user.created.
func (db *DB) CreateUser(ctx context.Context, u *parley.User) error {
	if u.ID == "" {
		u.ID = parley.NewID("usr")
	}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	if u.Skills == nil {
		u.Skills = []string{}
	}
	skills, _ := json.Marshal(u.Skills)
	return db.do(ctx, func(tx *writeTx) error {
		if err := tx.accountExists(u.AccountID); err != nil {
			return err
		}
		if err := tx.skillsExist(u.AccountID, u.Skills); err != nil {
			return err
		}
		u.CreatedAt = tx.now
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.AccountID, u.Email, u.Name, string(u.Role), string(skills), u.MaxConcurrent, u.Active, u.PasswordHash, micros(u.CreatedAt))
		if isUniqueViolation(err) {
			return parley.Errorf(parley.ECONFLICT, "a user with email %q exists", u.Email)
		}
		if err != nil {
			return err
		}
		return tx.event(u.AccountID, parley.EventUserCreated, "", u)
	})
}

// UpdateUser replaces a user's name, role, skills, capacity, active flag and
// password hash, and writes user.updated.
func (db *DB) UpdateUser(ctx context.Context, u *parley.User) error {
	if u.Skills == nil {
		u.Skills = []string{}
	}
	skills, _ := json.Marshal(u.Skills)
	return db.do(ctx, func(tx *writeTx) error {
		if err := tx.skillsExist(u.AccountID, u.Skills); err != nil {
			return err
		}
		res, err := tx.ExecContext(tx.ctx, `UPDATE users SET name = ?, role = ?, skills = ?, max_concurrent = ?, active = ?, password_hash = ? WHERE account_id = ? AND id = ?`,
			u.Name, string(u.Role), string(skills), u.MaxConcurrent, u.Active, u.PasswordHash, u.AccountID, u.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "user %q not found", u.ID)
		}
		if !u.Active {
			if _, err := tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE user_id = ?`, u.ID); err != nil {
				return err
			}
		}
		return tx.event(u.AccountID, parley.EventUserUpdated, "", u)
	})
}

// FindUser returns a user of the account.
func (db *DB) FindUser(ctx context.Context, accountID, id string) (*parley.User, error) {
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "user %q not found", id)
	}
	return u, nil
}

// FindUserByEmail returns the user with the email, in any account.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*parley.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if err != nil {
		return nil, notFound(err, "user not found")
	}
	return u, nil
}

// ListUsers returns the account's users, oldest first.
func (db *DB) ListUsers(ctx context.Context, accountID string) ([]*parley.User, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE account_id = ? ORDER BY id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func scanUser(s scanner) (*parley.User, error) {
	var u parley.User
	var role, skills string
	var created int64
	if err := s.Scan(&u.ID, &u.AccountID, &u.Email, &u.Name, &role, &skills, &u.MaxConcurrent, &u.Active, &u.PasswordHash, &created); err != nil {
		return nil, err
	}
	u.Role = parley.Role(role)
	if err := json.Unmarshal([]byte(skills), &u.Skills); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

// CreateSkill stores a new skill and writes skill.created.
func (db *DB) CreateSkill(ctx context.Context, s *parley.Skill) error {
	if s.ID == "" {
		s.ID = parley.NewID("skl")
	}
	return db.do(ctx, func(tx *writeTx) error {
		if err := tx.accountExists(s.AccountID); err != nil {
			return err
		}
		s.CreatedAt = tx.now
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO skills (id, account_id, name, created_at) VALUES (?, ?, ?, ?)`,
			s.ID, s.AccountID, s.Name, micros(s.CreatedAt))
		if isUniqueViolation(err) {
			return parley.Errorf(parley.ECONFLICT, "skill %q exists", s.Name)
		}
		if err != nil {
			return err
		}
		return tx.event(s.AccountID, parley.EventSkillCreated, "", s)
	})
}

// ListSkills returns the account's skills by name.
func (db *DB) ListSkills(ctx context.Context, accountID string) ([]*parley.Skill, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, account_id, name, created_at FROM skills WHERE account_id = ? ORDER BY name`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.Skill{}
	for rows.Next() {
		var s parley.Skill
		var created int64
		if err := rows.Scan(&s.ID, &s.AccountID, &s.Name, &created); err != nil {
			return nil, err
		}
		s.CreatedAt = fromMicros(created)
		out = append(out, &s)
	}
	return out, rows.Err()
}

// skillsExist fails with EINVALID unless every ID names a skill of the account.
func (tx *writeTx) skillsExist(accountID string, ids []string) error {
	for _, id := range ids {
		var one int
		err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM skills WHERE account_id = ? AND id = ?`, accountID, id).Scan(&one)
		if err == sql.ErrNoRows {
			return parley.Errorf(parley.EINVALID, "skill %q not found", id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
