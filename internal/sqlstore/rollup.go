package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/parleychat/parley"
)

// The metrics rollup's rows (migrations/*/0012_metrics_rollup.sql).

const rollupColumns = `kind, item, seq, start_at, end_at, data`

func scanRollupRow(rows *sql.Rows) (*parley.RollupRow, error) {
	var r parley.RollupRow
	var start, end int64
	var data string
	if err := rows.Scan(&r.Kind, &r.Item, &r.Seq, &start, &end, &data); err != nil {
		return nil, err
	}
	r.Start, r.End, r.Data = fromMicros(start), fromMicros(end), []byte(data)
	return &r, nil
}

// RollupCursor returns the seq of the last event the account's rollup read.
func (db *DB) RollupCursor(ctx context.Context, accountID string) (int64, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, `SELECT seq FROM metrics_rollup_cursors WHERE account_id = ?`, accountID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

// rollupItemsPerQuery bounds a query's IN list.
const rollupItemsPerQuery = 500

// RollupRows returns the account's rows of kind with those items.
func (db *DB) RollupRows(ctx context.Context, accountID, kind string, items []string) ([]*parley.RollupRow, error) {
	var out []*parley.RollupRow
	for len(items) > 0 {
		n := min(len(items), rollupItemsPerQuery)
		args := []any{accountID, kind}
		for _, it := range items[:n] {
			args = append(args, it)
		}
		items = items[n:]
		rows, err := db.read.QueryContext(ctx, `SELECT `+rollupColumns+` FROM metrics_rollup
			WHERE account_id = ? AND kind = ? AND item IN (?`+strings.Repeat(", ?", n-1)+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			r, err := scanRollupRow(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, r)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ScanRollup calls fn for each of the account's rows with End >= from and
// Start < to, a page at a time (each page its own short read).
func (db *DB) ScanRollup(ctx context.Context, accountID string, from, to time.Time, fn func(*parley.RollupRow) error) error {
	afterEnd, afterKind, afterItem := micros(from), "", ""
	for {
		rows, err := db.read.QueryContext(ctx, `SELECT `+rollupColumns+` FROM metrics_rollup
			WHERE account_id = ? AND end_at >= ? AND (end_at > ? OR (kind, item) > (?, ?)) AND start_at < ?
			ORDER BY end_at, kind, item LIMIT ?`, accountID, afterEnd, afterEnd, afterKind, afterItem, micros(to), exportPage)
		if err != nil {
			return err
		}
		var page []*parley.RollupRow
		for rows.Next() {
			r, err := scanRollupRow(rows)
			if err != nil {
				rows.Close()
				return err
			}
			page = append(page, r)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < exportPage {
			return nil
		}
		last := page[len(page)-1]
		afterEnd, afterKind, afterItem = micros(last.End), last.Kind, last.Item
	}
}

// SaveRollup writes rows and moves the account's cursor from fromSeq to
// toSeq, atomically.
func (db *DB) SaveRollup(ctx context.Context, accountID string, fromSeq, toSeq int64, rows []*parley.RollupRow) error {
	return db.doApart(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(tx.ctx, `UPDATE metrics_rollup_cursors SET seq = ? WHERE account_id = ? AND seq = ?`, toSeq, accountID, fromSeq)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if n == 0 && fromSeq == 0 {
			res, err = tx.ExecContext(tx.ctx, `INSERT INTO metrics_rollup_cursors (account_id, seq) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING`, accountID, toSeq)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
		}
		if n == 0 {
			return parley.Errorf(parley.ECONFLICT, "the metrics rollup of account %q moved past seq %d meanwhile", accountID, fromSeq)
		}
		return writeRollupRows(tx, accountID, rows)
	})
}

// SaveRollupRows writes rows without moving the cursor, in one
// transaction.
func (db *DB) SaveRollupRows(ctx context.Context, accountID string, rows []*parley.RollupRow) error {
	return db.doApart(ctx, func(tx *writeTx) error { return writeRollupRows(tx, accountID, rows) })
}

// writeRollupRows upserts rows. A stored row read further than the one
// written (a higher seq) stays: a rollup that lost a race, or one that
// stopped between its saves and read the same events again, never takes
// a row back to an earlier reading.
func writeRollupRows(tx *writeTx, accountID string, rows []*parley.RollupRow) error {
	if len(rows) == 0 {
		return nil
	}
	// One statement prepared for all the rows: parsed per row, the
	// rollup of a busy account held the writer — and every message
	// waiting behind it — for most of a second (the parser was 9 % of
	// the server's CPU in parley bench's max, session 13).
	st, err := tx.Tx.PrepareContext(tx.ctx, tx.db.write.sql(`INSERT INTO metrics_rollup (account_id, `+rollupColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id, kind, item) DO UPDATE SET seq = excluded.seq, start_at = excluded.start_at, end_at = excluded.end_at, data = excluded.data
		WHERE metrics_rollup.seq <= excluded.seq`))
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(tx.ctx, tx.db.write.args([]any{accountID, r.Kind, r.Item, r.Seq, micros(r.Start), micros(r.End), string(r.Data)})...); err != nil {
			return err
		}
	}
	return nil
}
