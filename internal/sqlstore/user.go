package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

const userColumns = `id, account_id, email, name, role, skills, max_concurrent, active, password_hash, created_at, totp_secret, totp_pending, totp_last_step, recovery_codes, mention_emails_off, external_id, passkeys, deprovisioned, sso_subject, views, browser_trust, report_emails_off, photo, follow_emails_off`

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
	codes := recoveryCodesJSON(u.RecoveryCodes)
	return db.do(ctx, func(tx *writeTx) error {
		if err := tx.accountExists(u.AccountID); err != nil {
			return err
		}
		if err := tx.skillsExist(u.AccountID, u.Skills); err != nil {
			return err
		}
		u.CreatedAt = tx.now
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)`,
			u.ID, u.AccountID, u.Email, u.Name, string(u.Role), string(skills), u.MaxConcurrent, u.Active, u.PasswordHash, micros(u.CreatedAt),
			u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, codes, u.MentionEmailsOff, u.ExternalID, 0, boolInt(u.Deprovisioned), u.SSOSubject, viewsJSON(u.Views), u.BrowserTrust, u.ReportEmailsOff, u.FollowEmailsOff)
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

// ChangeUser edits a user in one transaction (see parley.Store).
func (db *DB) ChangeUser(ctx context.Context, accountID, id string, keep []byte, change func(*parley.User) error) (*parley.User, [][]byte, error) {
	var out *parley.User
	var ended [][]byte
	err := db.do(ctx, func(tx *writeTx) error {
		ended = nil
		u, err := scanUser(tx.QueryRowContext(tx.ctx, `SELECT `+userColumns+` FROM users WHERE account_id = ? AND id = ?`+tx.forUpdate(), accountID, id))
		if err != nil {
			return notFound(err, "user %q not found", id)
		}
		before := *u
		beforeJSON, _ := json.Marshal(u)
		if err := change(u); err != nil {
			return err
		}
		u.ID, u.AccountID, u.Email, u.CreatedAt, u.Photo = before.ID, before.AccountID, before.Email, before.CreatedAt, before.Photo
		if u.PasswordHash != before.PasswordHash || u.TOTPSecret != before.TOTPSecret || (!u.Active && before.Active) {
			// A new credential, or the person let go: no browser trusted
			// before skips the second factor any more.
			u.BrowserTrust = max(u.BrowserTrust, before.BrowserTrust+1)
		}
		if u.Skills == nil {
			u.Skills = []string{}
		}
		if err := tx.skillsExist(accountID, u.Skills); err != nil {
			return err
		}
		skills, _ := json.Marshal(u.Skills)
		if _, err := tx.ExecContext(tx.ctx, `UPDATE users SET name = ?, role = ?, skills = ?, max_concurrent = ?, active = ?, password_hash = ?,
			totp_secret = ?, totp_pending = ?, totp_last_step = ?, recovery_codes = ?, mention_emails_off = ?, external_id = ?, deprovisioned = ?,
			sso_subject = ?, views = ?, browser_trust = ?, report_emails_off = ?, follow_emails_off = ?
			WHERE account_id = ? AND id = ?`,
			u.Name, string(u.Role), string(skills), u.MaxConcurrent, u.Active, u.PasswordHash,
			u.TOTPSecret, u.TOTPPending, u.TOTPLastStep, recoveryCodesJSON(u.RecoveryCodes), u.MentionEmailsOff, u.ExternalID, boolInt(u.Deprovisioned), u.SSOSubject, viewsJSON(u.Views), u.BrowserTrust, u.ReportEmailsOff, u.FollowEmailsOff, accountID, id); isUniqueViolation(err) {
			return parley.Errorf(parley.ECONFLICT, "another person of the brand is linked to that account of the identity provider")
		} else if err != nil {
			return err
		}
		if u.PasswordHash != before.PasswordHash || u.TOTPSecret != before.TOTPSecret || !u.Active {
			if ended, err = tx.endSessions(accountID, id, keep); err != nil {
				return err
			}
		}
		u.SSOLinked = u.SSOSubject != ""
		out = u
		if afterJSON, _ := json.Marshal(u); string(afterJSON) == string(beforeJSON) {
			return nil
		}
		return tx.event(accountID, parley.EventUserUpdated, "", u)
	})
	if err != nil {
		return nil, nil, err
	}
	return out, ended, nil
}

// SetUserPhoto stores or removes a user's photo (see parley.Store).
func (db *DB) SetUserPhoto(ctx context.Context, accountID, userID string, png []byte) (*parley.User, error) {
	var out *parley.User
	err := db.do(ctx, func(tx *writeTx) error {
		u, err := scanUser(tx.QueryRowContext(tx.ctx, `SELECT `+userColumns+` FROM users WHERE account_id = ? AND id = ?`+tx.forUpdate(), accountID, userID))
		if err != nil {
			return notFound(err, "user %q not found", userID)
		}
		u.Photo = ""
		if png == nil {
			_, err = tx.ExecContext(tx.ctx, `DELETE FROM user_photos WHERE account_id = ? AND user_id = ?`, accountID, userID)
		} else {
			sum := sha256.Sum256(png)
			u.Photo = hex.EncodeToString(sum[:8])
			_, err = tx.ExecContext(tx.ctx, `INSERT INTO user_photos (account_id, user_id, png, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (account_id, user_id) DO UPDATE SET png = excluded.png, updated_at = excluded.updated_at`, accountID, userID, png, micros(tx.now))
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(tx.ctx, `UPDATE users SET photo = ? WHERE account_id = ? AND id = ?`, u.Photo, accountID, userID); err != nil {
			return err
		}
		out = u
		return tx.event(accountID, parley.EventUserUpdated, "", u)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UserPhoto returns a user's photo and its token (see parley.Store).
func (db *DB) UserPhoto(ctx context.Context, accountID, userID string) ([]byte, string, error) {
	var png []byte
	var token string
	err := db.read.QueryRowContext(ctx, `SELECT p.png, u.photo FROM user_photos p JOIN users u ON u.account_id = p.account_id AND u.id = p.user_id
		WHERE p.account_id = ? AND p.user_id = ?`, accountID, userID).Scan(&png, &token)
	if err != nil {
		return nil, "", notFound(err, "user %q has no photo", userID)
	}
	return png, token, nil
}

// UnreadMentions counts the notes mentioning the user after the newest
// one they had seen (note IDs grow with time).
func (db *DB) UnreadMentions(ctx context.Context, accountID, userID string) (int, error) {
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM note_mentions m JOIN users u ON u.account_id = m.account_id AND u.id = m.user_id
		WHERE m.account_id = ? AND m.user_id = ? AND m.note_id > u.mentions_seen`, accountID, userID).Scan(&n)
	return n, err
}

// MarkMentionsSeen remembers the newest note mentioning the user.
func (db *DB) MarkMentionsSeen(ctx context.Context, accountID, userID string) error {
	return db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE users SET mentions_seen = COALESCE((SELECT MAX(note_id) FROM note_mentions
			WHERE account_id = ? AND user_id = ?), '') WHERE account_id = ? AND id = ?`, accountID, userID, accountID, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return parley.Errorf(parley.ENOTFOUND, "user %q not found", userID)
		}
		return nil
	})
}

// EndSessions ends a user's sessions but keep (see parley.Store).
func (db *DB) EndSessions(ctx context.Context, accountID, userID string, keep []byte) ([][]byte, error) {
	var ended [][]byte
	err := db.do(ctx, func(tx *writeTx) error {
		var err error
		ended, err = tx.endSessions(accountID, userID, keep)
		return err
	})
	return ended, err
}

// endSessions deletes the user's sessions but keep and returns their token
// hashes.
func (tx *writeTx) endSessions(accountID, userID string, keep []byte) ([][]byte, error) {
	rows, err := tx.QueryContext(tx.ctx, `SELECT token_hash FROM sessions WHERE account_id = ? AND user_id = ?`, accountID, userID)
	if err != nil {
		return nil, err
	}
	var ended [][]byte
	for rows.Next() {
		var h []byte
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return nil, err
		}
		if !bytes.Equal(h, keep) {
			ended = append(ended, h)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, h := range ended {
		if _, err := tx.ExecContext(tx.ctx, `DELETE FROM sessions WHERE token_hash = ?`, h); err != nil {
			return nil, err
		}
	}
	return ended, nil
}

func recoveryCodesJSON(codes []string) string {
	if len(codes) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(codes)
	return string(b)
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

// FindUserBySSOSubject returns the person of the account linked to that
// account of its identity provider.
func (db *DB) FindUserBySSOSubject(ctx context.Context, accountID, subject string) (*parley.User, error) {
	if subject == "" {
		return nil, parley.Errorf(parley.ENOTFOUND, "user not found")
	}
	u, err := scanUser(db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE account_id = ? AND sso_subject = ?`, accountID, subject))
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
	var role, skills, codes, views string
	var created int64
	var deprovisioned int
	if err := s.Scan(&u.ID, &u.AccountID, &u.Email, &u.Name, &role, &skills, &u.MaxConcurrent, &u.Active, &u.PasswordHash, &created,
		&u.TOTPSecret, &u.TOTPPending, &u.TOTPLastStep, &codes, &u.MentionEmailsOff, &u.ExternalID, &u.Passkeys, &deprovisioned, &u.SSOSubject, &views, &u.BrowserTrust, &u.ReportEmailsOff, &u.Photo, &u.FollowEmailsOff); err != nil {
		return nil, err
	}
	u.Role = parley.Role(role)
	if err := json.Unmarshal([]byte(skills), &u.Skills); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(codes), &u.RecoveryCodes); err != nil {
		return nil, err
	}
	u.TwoFactor = u.TOTPSecret != ""
	u.Deprovisioned = deprovisioned != 0
	u.SSOLinked = u.SSOSubject != ""
	if err := json.Unmarshal([]byte(views), &u.Views); err != nil {
		return nil, fmt.Errorf("views of %s: %w", u.ID, err)
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
		if err := tx.checkOverflow(s); err != nil {
			return err
		}
		if s.Hours != nil {
			if err := s.Hours.Validate(); err != nil {
				return parley.Errorf(parley.EINVALID, "hours: %s", parley.ErrorMessage(err))
			}
		}
		_, err := tx.ExecContext(tx.ctx, `INSERT INTO skills (id, account_id, name, created_at, overflow_to, overflow_after, overflow_unstaffed, hours) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.AccountID, s.Name, micros(s.CreatedAt), s.OverflowTo, s.OverflowAfterSeconds, s.OverflowUnstaffed, hoursJSON(s.Hours))
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
	rows, err := db.read.QueryContext(ctx, `SELECT id, account_id, name, created_at, overflow_to, overflow_after, overflow_unstaffed, hours FROM skills WHERE account_id = ? ORDER BY name`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.Skill{}
	for rows.Next() {
		var s parley.Skill
		var created int64
		var hours string
		if err := rows.Scan(&s.ID, &s.AccountID, &s.Name, &created, &s.OverflowTo, &s.OverflowAfterSeconds, &s.OverflowUnstaffed, &hours); err != nil {
			return nil, err
		}
		s.CreatedAt = fromMicros(created)
		if s.Hours, err = hoursOf(hours); err != nil {
			return nil, err
		}
		out = append(out, &s)
	}
	return out, rows.Err()
}

// ChangeSkill edits a skill in one transaction (see parley.Store).
func (db *DB) ChangeSkill(ctx context.Context, accountID, id string, change func(*parley.Skill) error) (*parley.Skill, error) {
	var out *parley.Skill
	err := db.do(ctx, func(tx *writeTx) error {
		s := &parley.Skill{ID: id, AccountID: accountID}
		var created int64
		var hours string
		err := tx.QueryRowContext(tx.ctx, `SELECT name, created_at, overflow_to, overflow_after, overflow_unstaffed, hours FROM skills WHERE account_id = ? AND id = ?`+tx.forUpdate(),
			accountID, id).Scan(&s.Name, &created, &s.OverflowTo, &s.OverflowAfterSeconds, &s.OverflowUnstaffed, &hours)
		if err != nil {
			return notFound(err, "skill %q not found", id)
		}
		s.CreatedAt = fromMicros(created)
		if s.Hours, err = hoursOf(hours); err != nil {
			return err
		}
		if err := change(s); err != nil {
			return err
		}
		s.ID, s.AccountID = id, accountID
		if err := tx.checkOverflow(s); err != nil {
			return err
		}
		if s.Hours != nil {
			if err := s.Hours.Validate(); err != nil {
				return parley.Errorf(parley.EINVALID, "hours: %s", parley.ErrorMessage(err))
			}
		}
		_, err = tx.ExecContext(tx.ctx, `UPDATE skills SET name = ?, overflow_to = ?, overflow_after = ?, overflow_unstaffed = ?, hours = ? WHERE account_id = ? AND id = ?`,
			s.Name, s.OverflowTo, s.OverflowAfterSeconds, s.OverflowUnstaffed, hoursJSON(s.Hours), accountID, id)
		if isUniqueViolation(err) {
			return parley.Errorf(parley.ECONFLICT, "skill %q exists", s.Name)
		}
		if err != nil {
			return err
		}
		out = s
		return tx.event(accountID, parley.EventSkillUpdated, "", s)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// hoursJSON is a skill's own hours as stored: JSON, or empty for the brand's.
func hoursJSON(h *parley.BusinessHours) string {
	if h == nil {
		return ""
	}
	b, _ := json.Marshal(h)
	return string(b)
}

// hoursOf reads a skill's stored hours back.
func hoursOf(stored string) (*parley.BusinessHours, error) {
	if stored == "" {
		return nil, nil
	}
	var h parley.BusinessHours
	if err := json.Unmarshal([]byte(stored), &h); err != nil {
		return nil, fmt.Errorf("a skill's hours: %w", err)
	}
	return &h, nil
}

// checkOverflow checks a skill's overflow against the account's other
// skills as they are in the transaction: a target that exists and is not
// the skill, and no chain of overflows that comes back to it.
func (tx *writeTx) checkOverflow(s *parley.Skill) error {
	switch {
	case s.OverflowAfterSeconds == 0:
		if s.OverflowTo != "" || s.OverflowUnstaffed {
			return parley.Errorf(parley.EINVALID, "overflow_to and overflow_unstaffed need overflow_after_seconds")
		}
		return nil
	case s.OverflowAfterSeconds < parley.MinOverflowSeconds || s.OverflowAfterSeconds > parley.MaxOverflowSeconds:
		return parley.Errorf(parley.EINVALID, "overflow_after_seconds must be 0 (never) or from %d to %d", parley.MinOverflowSeconds, parley.MaxOverflowSeconds)
	case s.OverflowTo == s.ID:
		return parley.Errorf(parley.EINVALID, "a skill cannot overflow to itself")
	case s.OverflowTo == "":
		return nil // the general queue, which never overflows
	}
	next := map[string]string{}
	rows, err := tx.QueryContext(tx.ctx, `SELECT id, overflow_to, overflow_after FROM skills WHERE account_id = ?`, s.AccountID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, to string
		var after int
		if err := rows.Scan(&id, &to, &after); err != nil {
			rows.Close()
			return err
		}
		next[id] = ""
		if after > 0 {
			next[id] = to
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, ok := next[s.OverflowTo]; !ok {
		return parley.Errorf(parley.EINVALID, "overflow_to: skill %q not found", s.OverflowTo)
	}
	next[s.ID] = s.OverflowTo
	for at, steps := s.OverflowTo, 0; at != "" && steps <= len(next); at, steps = next[at], steps+1 {
		if at == s.ID {
			return parley.Errorf(parley.EINVALID, "overflow_to: the overflows from %q would come back to it", s.Name)
		}
	}
	return nil
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

// DueMentionEmails returns, across accounts, the mentions of active users
// who want mention emails, in notes written from since to before, that they
// have neither looked at (mentions_seen) nor been emailed about, oldest
// first, at most limit.
func (db *DB) DueMentionEmails(ctx context.Context, since, before time.Time, limit int) ([]parley.MentionDue, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT m.account_id, m.user_id, m.conversation_id, n.id, n.author_name, n.text, n.created_at
		FROM note_mentions m JOIN users u ON u.account_id = m.account_id AND u.id = m.user_id JOIN notes n ON n.account_id = m.account_id AND n.id = m.note_id
		WHERE m.note_id >= ? AND u.active = 1 AND u.mention_emails_off = 0 AND m.note_id > u.mentions_seen AND m.note_id > u.mentions_emailed AND n.created_at <= ?
		ORDER BY m.note_id LIMIT ?`, parley.IDFloor("note", since), micros(before), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []parley.MentionDue
	for rows.Next() {
		var d parley.MentionDue
		var at int64
		if err := rows.Scan(&d.AccountID, &d.UserID, &d.ConversationID, &d.NoteID, &d.Author, &d.Text, &at); err != nil {
			return nil, err
		}
		d.At = fromMicros(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// MarkMentionsEmailed records that the user was emailed about the notes
// up to noteID; false when they already were (another node did).
func (db *DB) MarkMentionsEmailed(ctx context.Context, accountID, userID, noteID string) (bool, error) {
	return db.markEmailed(ctx, "mentions_emailed", accountID, userID, noteID)
}

// markEmailed moves one of a user's email cursors (a column of users
// holding the ID of the last item mailed) forward to id; false when it
// was there already.
func (db *DB) markEmailed(ctx context.Context, column, accountID, userID, id string) (bool, error) {
	var changed bool
	err := db.do(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE users SET `+column+` = ? WHERE account_id = ? AND id = ? AND `+column+` < ?`, id, accountID, userID, id)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		changed = n > 0
		return nil
	})
	return changed, err
}

// DueFollowEmails returns, across accounts, the messages that visitors
// and people wrote from since to before in conversations that active users
// who want follow emails follow, written after they began following, by
// someone else, and newer than the last they were emailed about; oldest
// first, at most limit. A conversation untouched since since is not read.
func (db *DB) DueFollowEmails(ctx context.Context, since, before time.Time, limit int) ([]parley.FollowDue, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT f.account_id, f.user_id, m.conversation_id, m.id, m.sender_kind, m.sender_name, v.name, m.text, m.created_at
		FROM conversation_followers f
		JOIN users u ON u.account_id = f.account_id AND u.id = f.user_id
		JOIN conversations c ON c.id = f.conversation_id
		JOIN consumers v ON v.id = c.consumer_id
		JOIN messages m ON m.conversation_id = f.conversation_id
		WHERE c.updated_at >= ? AND u.active = 1 AND u.follow_emails_off = 0
			AND m.created_at >= ? AND m.created_at <= ? AND m.created_at >= f.since AND m.id > u.follows_emailed
			AND m.sender_id <> f.user_id AND m.sender_kind IN ('consumer', 'agent') AND m.text <> ''
		ORDER BY m.id, f.user_id LIMIT ?`, micros(since), micros(since), micros(before), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []parley.FollowDue
	for rows.Next() {
		var d parley.FollowDue
		var kind, visitor string
		var at int64
		if err := rows.Scan(&d.AccountID, &d.UserID, &d.ConversationID, &d.MessageID, &kind, &d.Sender, &visitor, &d.Text, &at); err != nil {
			return nil, err
		}
		d.FromVisitor, d.Visitor, d.At = kind == string(parley.SenderConsumer), visitor, fromMicros(at)
		if d.FromVisitor {
			d.Sender = visitor
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// MarkFollowsEmailed records that the user was emailed about the messages
// of the conversations they follow up to messageID; false when they
// already were (another node did).
func (db *DB) MarkFollowsEmailed(ctx context.Context, accountID, userID, messageID string) (bool, error) {
	return db.markEmailed(ctx, "follows_emailed", accountID, userID, messageID)
}

// viewsJSON is a person's saved views as stored: a JSON list, [] when
// none.
func viewsJSON(views []parley.InboxView) string {
	if len(views) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(views)
	return string(b)
}
