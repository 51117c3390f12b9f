package analytics_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/analytics"
	"github.com/parleychat/parley/internal/sqlstore"
)

// busyMonth writes October 2026 of a busy brand into a new store: convs
// conversations spread over the month, each opened, assigned, 17 messages
// and closed — about 20 events each, in the shapes the store writes.
func busyMonth(tb testing.TB, convs int) (db *sqlstore.DB, a *parley.Account, from time.Time, events int64) {
	const perConv = 17
	ctx := context.Background()
	a = &parley.Account{Name: "Busy"}
	from = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	month := 31 * 24 * time.Hour
	seq := int64(0)
	db, err := sqlstore.BulkEvents(ctx, filepath.Join(tb.TempDir(), "metrics.db"), a, func(write func(*parley.Event) error) error {
		add := func(typ, conv string, msgSeq int, data string, at time.Time) {
			seq++
			if err := write(&parley.Event{Seq: seq, Type: typ, ConversationID: conv, MessageSeq: int64(msgSeq), Data: []byte(data), CreatedAt: at}); err != nil {
				tb.Fatal(err)
			}
		}
		for i := range convs {
			id := fmt.Sprintf("conv_%026d", i)
			at := from.Add(time.Duration(i) * (month / time.Duration(convs)))
			conv := func(state, assignee string) string {
				return fmt.Sprintf(`{"id":%q,"account_id":%q,"consumer_id":"csm_1","channel":"web","state":%q,"skill":"skl_general","assignee_id":%q,"last_seq":0,"created_at":%q,"updated_at":%q}`,
					id, a.ID, state, assignee, at.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano))
			}
			add(parley.EventConversationOpened, id, 0, conv("queued", ""), at)
			add(parley.EventConversationAssigned, id, 0, conv("assigned", "usr_agent"), at.Add(30*time.Second))
			for m := 1; m <= perConv; m++ {
				kind := []string{"consumer", "agent"}[m%2]
				msg := fmt.Sprintf(`{"id":"msg_%d_%d","account_id":%q,"conversation_id":%q,"seq":%d,"sender_kind":%q,"sender_id":"usr_agent","client_id":"0190a1b2-c3d4-7e5f-8a9b-%012d","type":"text","text":"A message of about the usual length, asking or answering something %d","created_at":%q}`,
					i, m, a.ID, id, m, kind, m, m, at.Format(time.RFC3339Nano))
				add(parley.EventMessageCreated, id, m, msg, at.Add(time.Duration(m)*20*time.Second))
			}
			add(parley.EventConversationClosed, id, 0, conv("closed", "usr_agent"), at.Add(8*time.Minute))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, a, from, seq
}

// BenchmarkMetricsMillionEvents computes a month's dashboard over about
// 1,000,000 events — 50,000 conversations — the size of a busy brand's
// month: how long a supervisor waits for the Dashboard tab. "log" reads
// the events (ComputeFromLog, as before the rollup); "rollup" reads the
// rollup's row per conversation (Compute, the rollup caught up). The
// rollup's own reading of the million events is timed once and reported
// as rollup-s.
func BenchmarkMetricsMillionEvents(b *testing.B) {
	const convs = 50_000
	ctx := context.Background()
	db, a, from, events := busyMonth(b, convs)
	month := 31 * 24 * time.Hour
	start := time.Now()
	if n, err := analytics.RollUp(ctx, db, a.ID); err != nil || int64(n) != events {
		b.Fatalf("rolled up %d of %d events: %v", n, events, err)
	}
	rolled := time.Since(start)
	for _, c := range []struct {
		name     string
		from, to time.Time
		closed   int
	}{
		{"month", from, from.Add(month), convs * 99 / 100},
		// The last day reads that day and the week before it (the
		// lookback) of the log, not the month's first three weeks.
		{"last-day", from.Add(month - 24*time.Hour), from.Add(month), convs / 31 * 9 / 10},
	} {
		for _, way := range []struct {
			name    string
			compute computeFunc
		}{{"log", analytics.ComputeFromLog}, {"rollup", analytics.Compute}} {
			b.Run(c.name+"/"+way.name, func(b *testing.B) {
				for range b.N {
					r, err := way.compute(ctx, db, a.ID, analytics.Query{From: c.from, To: c.to, Bucket: "hour"}, nil)
					if err != nil || r.Totals.Closed < c.closed {
						b.Fatalf("closed %d, want at least %d: %v", r.Totals.Closed, c.closed, err)
					}
				}
				b.ReportMetric(float64(events), "events")
				b.ReportMetric(rolled.Seconds(), "rollup-s")
			})
		}
	}
}

// Two nodes rolling up one account at once read every event once: here
// another node reads the whole log while this one is about to save its
// first page, which the store then refuses, and this one stops.
func TestTwoRollupsAtOnceReadEveryEventOnce(t *testing.T) {
	ctx := context.Background()
	db, a, from, events := busyMonth(t, 120) // 2,400 events: twelve pages
	racing := &overtaken{Store: db}
	if n, err := analytics.RollUp(ctx, racing, a.ID); err != nil || n != 0 {
		t.Fatalf("the overtaken node read %d events: %v", n, err)
	}
	if seq, err := db.RollupCursor(ctx, a.ID); err != nil || seq != events || racing.read != int(events) {
		t.Fatalf("cursor %d (%v), the other node read %d; want %d", seq, err, racing.read, events)
	}
	q := analytics.Query{From: from, To: from.Add(31 * 24 * time.Hour), Bucket: "day"}
	rolled := reportsOf(t, analytics.Compute, db, a.ID, q, "skl_general", "usr_agent", nil)
	fromLog := reportsOf(t, analytics.ComputeFromLog, db, a.ID, q, "skl_general", "usr_agent", nil)
	if rolled != fromLog {
		t.Fatalf("rolled up twice at once:\n%s\nfrom the log:\n%s", rolled, fromLog)
	}
	// A report that read the cursor before the rollup moved reads events
	// its rows already hold: each row's seq says which.
	if stale := reportsOf(t, analytics.Compute, staleCursor{db}, a.ID, q, "skl_general", "usr_agent", nil); stale != fromLog {
		t.Fatalf("read with a stale cursor:\n%s\nfrom the log:\n%s", stale, fromLog)
	}
}

// A rollup that stops after some of its rows are saved, before its cursor
// moves (a crash, a failing disk), leaves rows that already hold events
// the cursor says are unread; the next rollup reads those events again
// and counts each once.
func TestARollupStoppedBetweenItsSavesCountsEveryEventOnce(t *testing.T) {
	ctx := context.Background()
	db, a, from, events := busyMonth(t, 120) // more rows than one save's transaction takes
	if _, err := analytics.RollUp(ctx, cursorFails{db}, a.ID); err == nil {
		t.Fatal("the rollup whose cursor could not move reported no error")
	}
	if seq, _ := db.RollupCursor(ctx, a.ID); seq != 0 {
		t.Fatalf("cursor moved to %d", seq)
	}
	rows, err := db.RollupRows(ctx, a.ID, parley.RollupConversation, []string{fmt.Sprintf("conv_%026d", 0), fmt.Sprintf("conv_%026d", 119)})
	if err != nil || len(rows) == 0 {
		t.Fatalf("no rows were saved before the cursor failed (%d, %v): the test tests nothing", len(rows), err)
	}
	if n, err := analytics.RollUp(ctx, db, a.ID); err != nil || int64(n) != events {
		t.Fatalf("the second rollup read %d of %d events: %v", n, events, err)
	}
	q := analytics.Query{From: from, To: from.Add(31 * 24 * time.Hour), Bucket: "day"}
	rolled := reportsOf(t, analytics.Compute, db, a.ID, q, "skl_general", "usr_agent", nil)
	fromLog := reportsOf(t, analytics.ComputeFromLog, db, a.ID, q, "skl_general", "usr_agent", nil)
	if rolled != fromLog {
		t.Fatalf("rolled up after a stop:\n%s\nfrom the log:\n%s", rolled, fromLog)
	}
}

// cursorFails is a store that saves a rollup's rows but never moves its
// cursor.
type cursorFails struct{ parley.Store }

func (cursorFails) SaveRollup(context.Context, string, int64, int64, []*parley.RollupRow) error {
	return parley.Errorf(parley.EUNAVAILABLE, "the disk is gone")
}

// staleCursor is a store whose rollup cursor reads as if nothing had been
// rolled up yet, while its rows are up to date.
type staleCursor struct{ parley.Store }

func (staleCursor) RollupCursor(context.Context, string) (int64, error) { return 0, nil }

// overtaken is a store where, the first time a rollup saves, another node
// rolls the whole log up just before.
type overtaken struct {
	parley.Store
	once sync.Once
	read int
}

func (s *overtaken) SaveRollup(ctx context.Context, accountID string, fromSeq, toSeq int64, rows []*parley.RollupRow) error {
	s.once.Do(func() {
		n, err := analytics.RollUp(ctx, s.Store, accountID)
		if err != nil {
			panic(err)
		}
		s.read = n
	})
	return s.Store.SaveRollup(ctx, accountID, fromSeq, toSeq, rows)
}

// A tick of a brand with many conversations busy at once — here 1,000,
// each writing a message in turn, five rounds — saves each conversation's
// row once, not once for every few hundred events read (session 35: at
// parley bench's steady, each row was rewritten a dozen times a tick).
func TestABusyTickSavesEachRowOnce(t *testing.T) {
	const convs, rounds = 1000, 5
	ctx := context.Background()
	a := &parley.Account{Name: "Busy"}
	at := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	seq := int64(0)
	db, err := sqlstore.BulkEvents(ctx, filepath.Join(t.TempDir(), "busy.db"), a, func(write func(*parley.Event) error) error {
		add := func(typ string, i, msgSeq int, data string) error {
			seq++
			return write(&parley.Event{Seq: seq, Type: typ, ConversationID: fmt.Sprintf("conv_%026d", i), MessageSeq: int64(msgSeq),
				Data: []byte(data), CreatedAt: at.Add(time.Duration(seq) * time.Millisecond)})
		}
		for i := range convs {
			if err := add(parley.EventConversationOpened, i, 0, `{"state":"queued"}`); err != nil {
				return err
			}
		}
		for m := 1; m <= rounds; m++ {
			for i := range convs {
				if err := add(parley.EventMessageCreated, i, m, `{"sender_kind":"consumer","type":"text","text":"hello"}`); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	counting := &rowsCounting{Store: db}
	if n, err := analytics.RollUp(ctx, counting, a.ID); err != nil || int64(n) != seq {
		t.Fatalf("the rollup read %d of %d events: %v", n, seq, err)
	}
	if want := convs + 1; counting.rows != want { // and the hour's row
		t.Fatalf("the rollup saved %d rows for %d conversations in one hour; want %d", counting.rows, convs, want)
	}
}

// rowsCounting is a store that counts the rollup rows saved.
type rowsCounting struct {
	parley.Store
	rows int
}

func (s *rowsCounting) SaveRollupRows(ctx context.Context, accountID string, rows []*parley.RollupRow) error {
	s.rows += len(rows)
	return s.Store.SaveRollupRows(ctx, accountID, rows)
}

func (s *rowsCounting) SaveRollup(ctx context.Context, accountID string, fromSeq, toSeq int64, rows []*parley.RollupRow) error {
	s.rows += len(rows)
	return s.Store.SaveRollup(ctx, accountID, fromSeq, toSeq, rows)
}
