package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"runtime"
	"testing"

	msqlite "modernc.org/sqlite"
)

// TestEveryWritingConnectionSyncsFully: the writer's commits and the
// checkpointer's copies must both reach the disk before SQLite goes on
// (synchronous=FULL, 2): the WAL starts over once a checkpoint says it is
// done, and an acknowledged message may then exist only in the database
// file.
func TestEveryWritingConnectionSyncsFully(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, conn := range map[string]*sql.DB{"writer": db.write.DB, "checkpointer": db.ckpt} {
		var level int
		if err := conn.QueryRow("PRAGMA synchronous").Scan(&level); err != nil {
			t.Fatal(err)
		}
		if level != 2 {
			t.Errorf("the %s's connection has synchronous=%d, want 2 (FULL)", name, level)
		}
	}
	// On Linux commits sync with fdatasync, as SQLite's own builds do there.
	if runtime.GOOS == "linux" && !msqlite.FdatasyncEnabled() {
		t.Errorf("commits sync with fsync; Open should have switched them to fdatasync")
	}
}
