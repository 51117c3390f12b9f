package analytics_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/analytics"
	"github.com/parleychat/parley/internal/localbus"
	"github.com/parleychat/parley/internal/sqlstore"
)

// listCounting counts the events the rollup reads back from the store.
type listCounting struct {
	parley.Store
	listed atomic.Int64
}

func (s *listCounting) ListEvents(ctx context.Context, accountID string, f parley.EventFilter) ([]*parley.Event, error) {
	events, err := s.Store.ListEvents(ctx, accountID, f)
	s.listed.Add(int64(len(events)))
	return events, err
}

// TestTheRollupFoldsWhatTheBusDelivered: with a Tail on the bus, the
// rollup folds the events that follow its cursor from the Tail instead of
// reading them back from the store — and its reports are the log's, also
// when the Tail is too small to hold a tick's events or the bus misses
// some (a notification lost between nodes): the store fills those gaps.
func TestTheRollupFoldsWhatTheBusDelivered(t *testing.T) {
	for _, tc := range []struct {
		name       string
		limit      int
		dropEvery  int   // the Tail misses every n-th event (0: none)
		lateEvery  int   // every n-th event comes after the one that follows it (a cluster's nodes publish apart)
		wantListed int64 // most events the rollup may read from the store
	}{
		{"the tail holds every event", 0, 0, 0, 0},
		{"a tail smaller than a tick", 7, 0, 0, -1},
		{"a bus that misses events", 0, 5, 0, -1},
		{"a bus that delivers some events late", 0, 0, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
			var clock atomic.Int64
			at := func(d time.Duration) { clock.Store(t0.Add(d).UnixMicro()) }
			at(0)
			bus := localbus.New()
			tail := analytics.NewTail(tc.limit, 0)
			var n atomic.Int64
			var mu sync.Mutex
			var late *parley.Event // held back until the next event
			deliverLate := func() {
				mu.Lock()
				e := late
				late = nil
				mu.Unlock()
				if e != nil {
					tail.OnEvent(e)
				}
			}
			bus.Subscribe(func(e *parley.Event) {
				i := n.Add(1)
				if tc.dropEvery > 0 && i%int64(tc.dropEvery) == 0 {
					return
				}
				if tc.lateEvery > 0 && i%int64(tc.lateEvery) == 0 {
					mu.Lock()
					late = e
					mu.Unlock()
					return
				}
				tail.OnEvent(e)
				deliverLate()
			})
			db, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "t.db"), sqlstore.Options{Bus: bus, Now: func() time.Time { return time.UnixMicro(clock.Load()).UTC() }})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			s := &listCounting{Store: db}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			acc := &parley.Account{Name: "Acme"}
			must(db.CreateAccount(ctx, acc))
			agent := &parley.User{AccountID: acc.ID, Email: "a@acme.test", Role: parley.RoleAgent, MaxConcurrent: 5, Active: true}
			must(db.CreateUser(ctx, agent))
			visitor := &parley.Consumer{AccountID: acc.ID}
			must(db.CreateConsumer(ctx, visitor))
			rollUp := func() {
				t.Helper()
				deliverLate()
				must(analytics.RollUpAll(ctx, s, tail))
			}
			rollUp() // a Tail holds events once a rollup takes from it
			listedBefore := s.listed.Load()
			m := time.Minute
			for i := range 6 {
				d := time.Duration(i) * 17 * m
				at(d)
				c, err := db.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
				must(err)
				for j, kind := range []parley.SenderKind{parley.SenderConsumer, parley.SenderBot, parley.SenderConsumer, parley.SenderSystem, parley.SenderAgent, parley.SenderConsumer, parley.SenderAgent} {
					at(d + time.Duration(j+1)*m)
					if kind == parley.SenderAgent && j == 4 {
						_, err := db.ClaimConversation(ctx, acc.ID, c.ID, agent.ID)
						must(err)
					}
					_, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: c.ID, SenderKind: kind, Type: parley.MessageText,
						Text: fmt.Sprintf("message %d of %d", j, i), ClientID: parley.NewID("c")})
					must(err)
				}
				at(d + 9*m)
				_, err = db.LabelConversation(ctx, acc.ID, c.ID, []string{"label-" + fmt.Sprint(i%2)}, agent.ID)
				must(err)
				if i%3 != 2 {
					at(d + 12*m)
					_, err = db.CloseConversation(ctx, acc.ID, c.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: agent.ID})
					must(err)
					must(db.RateConversation(ctx, acc.ID, c.ID, 1+i%5, ""))
				}
				if i%2 == 1 {
					rollUp()
				}
			}
			rollUp()
			listed := s.listed.Load() - listedBefore
			if tc.wantListed >= 0 && listed > tc.wantListed {
				t.Errorf("the rollup read %d events back from the store; the tail held them all", listed)
			}
			if tc.wantListed < 0 && listed == 0 {
				t.Errorf("the rollup read nothing from the store; the tail cannot have held every event")
			}
			q := analytics.Query{From: t0, To: t0.Add(3 * time.Hour), Bucket: "hour"}
			fromRollup := reportsOf(t, analytics.Compute, s, acc.ID, q, "", agent.ID, nil)
			if fromLog := reportsOf(t, analytics.ComputeFromLog, s, acc.ID, q, "", agent.ID, nil); fromLog != fromRollup {
				t.Errorf("the rollup differs from the log:\nrollup %s\nlog    %s", fromRollup, fromLog)
			}
		})
	}
}
