package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
)

// Snapshot writes a consistent copy of the SQLite database at path to out,
// which must not exist: VACUUM INTO on a read-only connection of its own,
// so a server may go on writing meanwhile (in WAL mode a reader blocks no
// writer). The copy holds every transaction committed before it began and
// nothing of those after, and is compact (no free pages, no WAL).
func Snapshot(ctx context.Context, path, out string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no database at %s: %w", path, err)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists already", out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, out); err != nil {
		os.Remove(out)
		return fmt.Errorf("snapshot of %s: %w", path, err)
	}
	return nil
}

// Check runs SQLite's integrity check on the database at path, read-only,
// and returns what it found wrong (nil: nothing).
func Check(ctx context.Context, path string) error {
	q := url.Values{}
	q.Set("mode", "ro")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("integrity check of %s: %v", path, problems)
	}
	return nil
}
