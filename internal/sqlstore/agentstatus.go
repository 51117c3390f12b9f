package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/parleychat/parley"
)

const statusColumns = `user_id, status, reason, cause, by_user, started_at, ended_at`

func scanStatus(s scanner) (*parley.AgentStatus, error) {
	var st parley.AgentStatus
	var since int64
	var until sql.NullInt64
	if err := s.Scan(&st.UserID, &st.Status, &st.Reason, &st.Cause, &st.By, &since, &until); err != nil {
		return nil, err
	}
	st.Since, st.Until = fromMicros(since), fromNullMicros(until)
	return &st, nil
}

// SetAgentStatus ends the person's current span and begins c's, with
// agent.status_changed (see parley.Store).
func (db *DB) SetAgentStatus(ctx context.Context, accountID, userID string, c parley.StatusChange) (bool, error) {
	if err := parley.CheckStatus(c.Status, "", nil); err != nil {
		return false, err
	}
	changed := false
	err := db.do(ctx, func(tx *writeTx) error {
		changed = false
		var one int
		err := tx.QueryRowContext(tx.ctx, `SELECT 1 FROM users WHERE account_id = ? AND id = ?`, accountID, userID).Scan(&one)
		if err != nil {
			return notFound(err, "user %q not found", userID)
		}
		at := c.At
		if at.IsZero() {
			at = tx.now
		}
		cur, err := scanStatus(tx.QueryRowContext(tx.ctx, `SELECT `+statusColumns+` FROM agent_status
			WHERE account_id = ? AND user_id = ? AND ended_at IS NULL`+tx.forUpdate(), accountID, userID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// Never recorded: they were offline until now.
			if !c.IfSince.IsZero() || c.Status == parley.StatusOffline {
				return nil
			}
			cur = &parley.AgentStatus{Status: parley.StatusOffline, Since: at}
		case err != nil:
			return err
		default:
			if !c.IfSince.IsZero() && !cur.Since.Equal(c.IfSince) {
				return nil
			}
			same := cur.Status == c.Status && cur.Reason == c.Reason
			if same && (c.Status != parley.StatusAway || cur.Cause == c.Cause) {
				return nil
			}
			if at.Before(cur.Since) {
				at = cur.Since
			}
			if _, err := tx.ExecContext(tx.ctx, `UPDATE agent_status SET ended_at = ? WHERE account_id = ? AND user_id = ? AND ended_at IS NULL`,
				micros(at), accountID, userID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(tx.ctx, `INSERT INTO agent_status (account_id, user_id, status, reason, cause, by_user, started_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			accountID, userID, c.Status, c.Reason, c.Cause, c.By, micros(at)); err != nil {
			return err
		}
		changed = true
		return tx.event(accountID, parley.EventAgentStatusChanged, "", parley.StatusChanged{
			UserID: userID, Status: c.Status, Reason: c.Reason, Cause: c.Cause, By: c.By,
			Previous: cur.Status, PreviousReason: cur.Reason, PreviousSince: cur.Since,
		})
	})
	return changed, err
}

// AgentStatuses returns the spans overlapping [from, to) (see parley.Store).
func (db *DB) AgentStatuses(ctx context.Context, accountID string, from, to time.Time) ([]*parley.AgentStatus, error) {
	// The spans that last come from the partial unique index; the ended
	// ones from the index on their end, which bounds the read by from.
	q := `SELECT ` + statusColumns + ` FROM agent_status WHERE account_id = ? AND ended_at IS NULL`
	args := []any{accountID}
	if !to.IsZero() {
		q += ` AND started_at < ?`
		args = append(args, micros(to))
	}
	if !from.IsZero() || !to.IsZero() {
		q += ` UNION ALL SELECT ` + statusColumns + ` FROM agent_status WHERE account_id = ? AND ended_at IS NOT NULL AND ended_at > ?`
		args = append(args, accountID, micros(from))
		if !to.IsZero() {
			q += ` AND started_at < ?`
			args = append(args, micros(to))
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT * FROM (`+q+`) s ORDER BY user_id, started_at, ended_at IS NULL, ended_at`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*parley.AgentStatus{}
	for rows.Next() {
		st, err := scanStatus(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// PresentAgents returns the spans that last and are not offline, in every
// account.
func (db *DB) PresentAgents(ctx context.Context) ([]parley.AccountAgentStatus, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT account_id, `+statusColumns+` FROM agent_status WHERE ended_at IS NULL AND status <> 'offline'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []parley.AccountAgentStatus
	for rows.Next() {
		var a parley.AccountAgentStatus
		var acc string
		st, err := scanStatus(scanFunc(func(dest ...any) error { return rows.Scan(append([]any{&acc}, dest...)...) }))
		if err != nil {
			return nil, err
		}
		a.AccountID, a.AgentStatus = acc, *st
		out = append(out, a)
	}
	return out, rows.Err()
}
