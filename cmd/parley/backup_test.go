package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/sqlstore"
)

// A backup taken while the server writes holds every message acknowledged
// before it began, the attachments and the secret; restored into a new
// data dir it opens, passes SQLite's integrity check, and serves them.
func TestABackupTakenWhileWritingRestoresEverythingAcknowledged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.key"), []byte(strings.Repeat("k", 64)), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.Open(ctx, filepath.Join(dir, "parley.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc := &parley.Account{Name: "Acme"}
	store.CreateAccount(ctx, acc)
	visitor := &parley.Consumer{AccountID: acc.ID}
	store.CreateConsumer(ctx, visitor)
	conv, err := store.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	photo := []byte("\x89PNG\r\n\x1a\n a photo of the parcel")
	att := &parley.Attachment{ID: parley.NewID("att"), AccountID: acc.ID, ConversationID: conv.ID, UploaderID: visitor.ID, Name: "box.png", ContentType: "image/png", Size: int64(len(photo))}
	if err := store.SaveAttachment(ctx, att, photo); err != nil {
		t.Fatal(err)
	}
	// A writer keeps appending; acked counts what the store acknowledged.
	var acked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, _, err := store.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer,
				SenderID: visitor.ID, Type: parley.MessageText, Text: "message"}); err != nil {
				t.Error(err)
				return
			}
			acked.Add(1)
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for acked.Load() < 50 { // under way before the backup starts
		if time.Now().After(deadline) {
			t.Fatal("the writer stalled")
		}
		runtime.Gosched()
	}
	before := acked.Load()
	archive := filepath.Join(t.TempDir(), "backup.tar.gz")
	out := runCLI(t, "backup", "--data", dir, "--out", archive)
	after := acked.Load()
	close(stop)
	wg.Wait()
	store.Close()
	if !strings.Contains(out, "1 attachments, the secret") {
		t.Fatalf("backup said %q", out)
	}
	if _, err := os.Stat(archive + ".partial"); !os.IsNotExist(err) {
		t.Fatalf("the partial archive stayed: %v", err)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if out := runCLI(t, "restore", "--from", archive, "--data", restored); !strings.Contains(out, "1 accounts, 1 attachments") {
		t.Fatalf("restore said %q", out)
	}
	if err := sqlstore.Check(ctx, filepath.Join(restored, "parley.db")); err != nil {
		t.Fatal(err)
	}
	again, err := sqlstore.Open(ctx, filepath.Join(restored, "parley.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	msgs, err := again.ListMessages(ctx, acc.ID, conv.ID, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if n := int64(len(msgs)); n < before || n > after {
		t.Fatalf("restored %d messages; %d were acknowledged before the backup began, %d by its end", n, before, after)
	}
	for i, m := range msgs { // gap-free, as the log promised
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d", i, m.Seq)
		}
	}
	_, body, err := again.OpenAttachment(ctx, acc.ID, att.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, photo) {
		t.Fatalf("the attachment came back as %q", got)
	}
	if secret, _ := os.ReadFile(filepath.Join(restored, "secret.key")); string(secret) != strings.Repeat("k", 64) {
		t.Fatalf("the secret came back as %q", secret)
	}
}

// Refused: a PostgreSQL installation, an archive that exists, restoring
// over data, and archives that are not a backup or climb out of the
// data dir. A refused restore leaves nothing behind.
func TestBackupAndRestoreRefuseWhatTheyCannotDo(t *testing.T) {
	dir := t.TempDir()
	store, err := sqlstore.Open(context.Background(), filepath.Join(dir, "parley.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	fail := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, func(string) string { return "" }, nil, &out, &errOut)
		if err == nil {
			t.Fatalf("parley %v succeeded: %s", args, out.String())
		}
		return err.Error()
	}
	if msg := fail("backup", "--database-url", "postgres://x/y", "--out", "b.tar.gz"); !strings.Contains(msg, "pg_dump") {
		t.Fatalf("PostgreSQL: %s", msg)
	}
	taken := filepath.Join(t.TempDir(), "taken.tar.gz")
	os.WriteFile(taken, []byte("x"), 0o600)
	if msg := fail("backup", "--data", dir, "--out", taken); !strings.Contains(msg, "exists already") {
		t.Fatalf("an archive that exists: %s", msg)
	}
	if msg := fail("backup", "--data", t.TempDir(), "--out", filepath.Join(t.TempDir(), "b.tar.gz")); !strings.Contains(msg, "no database") {
		t.Fatalf("no database: %s", msg)
	}
	good := filepath.Join(t.TempDir(), "good.tar.gz")
	runCLI(t, "backup", "--data", dir, "--out", good)
	if msg := fail("restore", "--from", good, "--data", dir); !strings.Contains(msg, "not empty") {
		t.Fatalf("restoring over data: %s", msg)
	}
	archive := func(entries map[string]string, order ...string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		tw := tar.NewWriter(zw)
		for _, name := range order {
			tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(entries[name])), Typeflag: tar.TypeReg})
			tw.Write([]byte(entries[name]))
		}
		tw.Close()
		zw.Close()
		path := filepath.Join(t.TempDir(), "a.tar.gz")
		os.WriteFile(path, b.Bytes(), 0o600)
		return path
	}
	manifest := `{"format":1,"parley_version":"test","attachments":0,"secret":false}`
	for name, tc := range map[string]struct {
		path, want string
	}{
		"not gzip":           {taken, "gzip"},
		"climbing out":       {archive(map[string]string{"manifest.json": manifest, "../evil": "x"}, "manifest.json", "../evil"), "does not"},
		"an attachment path": {archive(map[string]string{"manifest.json": manifest, "attachments/../../x": "x"}, "manifest.json", "attachments/../../x"), "not an attachment"},
		"no database":        {archive(map[string]string{"manifest.json": manifest}, "manifest.json"), "no parley.db"},
		"another format":     {archive(map[string]string{"manifest.json": `{"format":9}`}, "manifest.json"), "format 9"},
		"a damaged database": {archive(map[string]string{"manifest.json": manifest, "parley.db": "SQLite format 3\x00 but not really"}, "manifest.json", "parley.db"), "restore from"},
	} {
		into := filepath.Join(t.TempDir(), "new")
		if msg := fail("restore", "--from", tc.path, "--data", into); !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %s", name, msg)
		}
		if entries, _ := os.ReadDir(into); len(entries) != 0 {
			t.Errorf("%s: left %d entries behind", name, len(entries))
		}
	}
}
