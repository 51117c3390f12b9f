package analytics_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/analytics"
	"github.com/parleychat/parley/internal/sqlstore"
)

// BenchmarkMetricsMillionEvents computes a month's dashboard over about
// 1,000,000 events — 50,000 conversations, each opened, assigned, 17
// messages and closed, the shapes the store writes — the size of a busy
// brand's month: how long a supervisor waits for the Dashboard tab.
func BenchmarkMetricsMillionEvents(b *testing.B) {
	const convs, perConv = 50_000, 17
	ctx := context.Background()
	a := &parley.Account{Name: "Busy"}
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	month := 31 * 24 * time.Hour
	seq := int64(0)
	db, err := sqlstore.BulkEvents(ctx, filepath.Join(b.TempDir(), "metrics.db"), a, func(write func(*parley.Event) error) error {
		add := func(typ, conv string, msgSeq int, data string, at time.Time) {
			seq++
			if err := write(&parley.Event{Seq: seq, Type: typ, ConversationID: conv, MessageSeq: int64(msgSeq), Data: []byte(data), CreatedAt: at}); err != nil {
				b.Fatal(err)
			}
		}
		for i := range convs {
			id := fmt.Sprintf("conv_%026d", i)
			at := from.Add(time.Duration(i) * (month / convs))
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
		b.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name     string
		from, to time.Time
		closed   int
	}{
		{"month", from, from.Add(month), convs * 99 / 100},
		// The last day reads that day and the week before it (the
		// lookback), not the month's first three weeks.
		{"last-day", from.Add(month - 24*time.Hour), from.Add(month), convs / 31 * 9 / 10},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				r, err := analytics.Compute(ctx, db, a.ID, analytics.Query{From: c.from, To: c.to, Bucket: "hour"}, nil)
				if err != nil || r.Totals.Closed < c.closed {
					b.Fatalf("closed %d, want at least %d: %v", r.Totals.Closed, c.closed, err)
				}
			}
			b.ReportMetric(float64(seq), "events")
		})
	}
}
