package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// TestClosingLetsGoOfTheFiles: the writer runs the message path's
// statements on its driver connection (driverstmt.go); Close must
// finalize them, or SQLite keeps that connection — and its files — open
// after the store is closed, and a process that opens and closes stores
// (tests, `parley backup`) leaks them.
func TestClosingLetsGoOfTheFiles(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/fd")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "p.db")
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, conv := openConversation(t, db)
	for i := range 3 {
		if _, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: a.ID, ConversationID: conv.ID, SenderKind: parley.SenderAgent,
			Type: parley.MessageText, Text: "hello", ClientID: parley.NewID("c")}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if open := openFiles(t, path); len(open) == 0 {
		t.Fatal("no file of the database is open while the store is; the test cannot see what it looks for")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if open := openFiles(t, path); len(open) > 0 {
		t.Errorf("after Close the process still has %s open", strings.Join(open, ", "))
	}
}

// openFiles lists the process's open files whose path starts with prefix.
func openFiles(t *testing.T, prefix string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, prefix) {
			open = append(open, filepath.Base(target))
		}
	}
	return open
}
