package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/sqlstore"
	"github.com/parleychat/parley/internal/storetest"
)

func open(t *testing.T, bus parley.Bus) parley.Store {
	t.Helper()
	return openFile(t, filepath.Join(t.TempDir(), "parley.db"), sqlstore.Options{Bus: bus})
}

// openFile opens the store at path (closed when the test ends, if the
// test has not closed it).
func openFile(t *testing.T, path string, opt sqlstore.Options) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), path, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsDataAndMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openFile(t, path, sqlstore.Options{})
	a := &parley.Account{Name: "Acme"}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	db.Close()
	applied, err := sqlstore.Migrate(ctx, path)
	if err != nil || len(applied) == 0 {
		t.Fatalf("Migrate: %v %v", applied, err)
	}
	db = openFile(t, path, sqlstore.Options{})
	defer db.Close()
	if _, err := db.FindAccount(ctx, a.ID); err != nil {
		t.Fatalf("account lost after reopen: %v", err)
	}
	wantCode := parley.EUNAVAILABLE
	db.Close()
	if err := db.CreateAccount(ctx, &parley.Account{Name: "late"}); parley.ErrorCode(err) != wantCode {
		t.Fatalf("write after Close: %v, want %s", err, wantCode)
	}
}

// openConversation creates an account with a visitor and a queued
// conversation.
var openConversation = sqlstore.OpenConversationForTest

// TestCheckpointsRunBesideTheWriter: committed pages reach the database
// file without the writer checkpointing (its own bound is far away), so
// commits do not pay for it.
func TestCheckpointsRunBesideTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openFile(t, path, sqlstore.Options{})
	defer db.Close()
	a, conv := openConversation(t, db)
	before, _ := os.Stat(path)
	text := strings.Repeat("a message long enough to fill pages quickly ", 20)
	for i := 0; i < 500; i++ { // about 1,000 pages, far below the writer's bound
		if _, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: a.ID, ConversationID: conv.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := os.Stat(path)
		if st.Size() > before.Size()+1<<20 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes (%d before): nothing checkpointed", st.Size(), before.Size())
		}
		time.Sleep(20 * time.Millisecond) // polling the file with a deadline
	}
}

// TestAnAcknowledgedMessageIsInTheFilesAtOnce: once an append returns, its
// message is in the database's files as the kernel holds them, so a
// process killed the next moment (kill -9, an out-of-memory kill) has lost
// nothing it acknowledged. The writer gathers its WAL writes and hands
// them on at the commit's sync (walvfs.go); a copy of the files taken with
// the store still open, as a crash leaves them, must hold every message.
func TestAnAcknowledgedMessageIsInTheFilesAtOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "parley.db")
	db := openFile(t, path, sqlstore.Options{})
	a, conv := openConversation(t, db)
	text := strings.Repeat("a message that fills a good part of a page ", 30)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := 0; w < 8; w++ { // writers that share commits, as a busy server's do
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if _, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: a.ID, ConversationID: conv.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: text}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The last one alone: a commit of one small write.
	last, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: a.ID, ConversationID: conv.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: "the last"})
	if err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(t.TempDir(), "parley.db")
	for _, suffix := range []string{"-wal", ""} { // the WAL first: a checkpoint may be copying from it
		b, err := os.ReadFile(path + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(crashed+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	after := openFile(t, crashed, sqlstore.Options{})
	msgs, err := after.ListMessages(ctx, a.ID, conv.ID, 0, 500)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 201 || msgs[len(msgs)-1].Seq != last.Seq || msgs[len(msgs)-1].Text != "the last" {
		t.Fatalf("the files as a crash leaves them hold %d messages (want 201, the last %q at seq %d)", len(msgs), "the last", last.Seq)
	}
}

// TestCommitsAreReported: OnCommit (the metrics behind group commit)
// accounts for every acknowledged write exactly once, with the time its
// commit took, and writes waiting together share a commit.
func TestCommitsAreReported(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var commits, writes int
	var slowest time.Duration
	shorter := 0 // batches that took less time than their own commit
	db := openFile(t, filepath.Join(t.TempDir(), "parley.db"), sqlstore.Options{OnCommit: func(n int, took, batch time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		commits++
		writes += n
		slowest = max(slowest, took)
		if batch < took {
			shorter++
		}
	}})
	a, conv := openConversation(t, db)
	mu.Lock()
	commits, writes = 0, 0
	mu.Unlock()
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: a.ID, ConversationID: conv.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: fmt.Sprint("message ", i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if writes != n {
		t.Fatalf("commits reported %d writes, want the %d acknowledged", writes, n)
	}
	if commits < 1 || commits >= n {
		t.Fatalf("%d commits for %d concurrent writes: they did not share commits", commits, n)
	}
	if slowest <= 0 {
		t.Fatalf("no commit reported how long it took")
	}
	if shorter > 0 {
		t.Fatalf("%d batches reported taking less time than their own commit", shorter)
	}
}

// TestEventCursorsContinueAfterReopen: an account's event seqs come from
// its stored events, so a restart continues them with no gap and no reuse.
func TestEventCursorsContinueAfterReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openFile(t, path, sqlstore.Options{})
	a := &parley.Account{Name: "Acme"}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	other := &parley.Account{Name: "Other"}
	if err := db.CreateAccount(ctx, other); err != nil {
		t.Fatal(err)
	}
	for _, acc := range []*parley.Account{a, a, other} {
		if err := db.CreateConsumer(ctx, &parley.Consumer{AccountID: acc.ID}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	db = openFile(t, path, sqlstore.Options{})
	defer db.Close()
	if err := db.CreateConsumer(ctx, &parley.Consumer{AccountID: a.ID}); err != nil {
		t.Fatal(err)
	}
	events, err := db.ListEvents(ctx, a.ID, parley.EventFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) < 3 {
		t.Fatalf("%d events", len(events))
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("after reopen, event %d has seq %d: %+v", i, e.Seq, events)
		}
	}
}

// A scan of a range of events (exports, metrics) returns exactly the
// events of the range, starting near it rather than at the first event of
// the account's history — also when the clock was stepped back between
// two commits.
func TestScanningEventsReadsExactlyTheRange(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var now atomic.Int64
	db := openFile(t, filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{Now: func() time.Time { return time.UnixMicro(now.Load()).UTC() }})
	at := func(d time.Duration) { now.Store(t0.Add(d).UnixMicro()) }
	at(0)
	a := &parley.Account{Name: "Acme"}
	db.CreateAccount(ctx, a)
	other := &parley.Account{Name: "Other"}
	db.CreateAccount(ctx, other)
	signal := func(acc *parley.Account, name string) {
		if err := db.AppendEvent(ctx, &parley.Event{AccountID: acc.ID, Type: parley.EventWidgetLoaded, Data: json.RawMessage(`{"n":"` + name + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	for d := range 100 {
		for h := range 4 {
			at(time.Duration(d)*day + time.Duration(h)*6*time.Hour)
			signal(a, fmt.Sprintf("d%d-h%d", d, h))
			signal(other, "other")
		}
	}
	// The clock steps back across midnight between two commits.
	at(100*day + 5*time.Minute)
	signal(a, "d100-first")
	at(100*day - 10*time.Minute)
	signal(a, "d99-stepped-back")
	at(100*day + 20*time.Minute)
	signal(a, "d100-after")
	scan := func(from, to time.Time) []string {
		var got []string
		if err := db.ScanEvents(ctx, a.ID, from, to, func(e *parley.Event) error {
			if e.Type == parley.EventWidgetLoaded {
				var d struct{ N string }
				json.Unmarshal(e.Data, &d)
				got = append(got, d.N)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := strings.Join(scan(t0.Add(50*day), t0.Add(51*day)), " "); got != "d50-h0 d50-h1 d50-h2 d50-h3" {
		t.Fatalf("day 50: %s", got)
	}
	if got := strings.Join(scan(t0.Add(50*day+time.Microsecond), t0.Add(50*day+12*time.Hour+time.Microsecond)), " "); got != "d50-h1 d50-h2" {
		t.Fatalf("day 50, from just after midnight to just after noon: %s", got)
	}
	if got := strings.Join(scan(t0.Add(100*day), t0.Add(101*day)), " "); got != "d100-first d100-after" {
		t.Fatalf("day 100, the clock stepped back: %s", got)
	}
	if got := strings.Join(scan(t0.Add(99*day), t0.Add(100*day)), " "); got != "d99-h0 d99-h1 d99-h2 d99-h3 d99-stepped-back" {
		t.Fatalf("day 99, the clock stepped back into it: %s", got)
	}
	if got := scan(t0.Add(-day), t0); len(got) != 0 {
		t.Fatalf("before the first event: %v", got)
	}
	if got := scan(t0.Add(200*day), t0.Add(201*day)); len(got) != 0 {
		t.Fatalf("after the last event: %v", got)
	}
	if got := scan(t0, t0.Add(200*day)); len(got) != 403 {
		t.Fatalf("the whole history: %d events", len(got))
	}
}
