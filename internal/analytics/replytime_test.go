package analytics_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/analytics"
	"github.com/parleychat/parley/internal/sqlstore"
)

// TestTheTypicalReplyIsTheMedianOfTheLastWeek: the widget's "we typically
// reply in…" is the median first response of the seven days before the
// current hour, said only with enough answers; an older answer does not
// count. Typical never waits: its first call starts the computation.
func TestTheTypicalReplyIsTheMedianOfTheLastWeek(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	now := func() time.Time { return time.UnixMicro(clock.Load()).UTC() }
	at := func(tm time.Time) { clock.Store(tm.UnixMicro()) }
	at(t0)
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "r.db"), sqlstore.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	acc := &parley.Account{Name: "Acme"}
	s.CreateAccount(ctx, acc)
	agent := &parley.User{AccountID: acc.ID, Email: "a@acme.test", Role: parley.RoleAgent, MaxConcurrent: 50, Active: true}
	s.CreateUser(ctx, agent)
	visitor := &parley.Consumer{AccountID: acc.ID}
	s.CreateConsumer(ctx, visitor)
	// answered opens a conversation at start and has the agent answer
	// after wait.
	answered := func(start time.Time, wait time.Duration) {
		t.Helper()
		at(start)
		c, err := s.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ClaimConversation(ctx, acc.ID, c.ID, agent.ID); err != nil {
			t.Fatal(err)
		}
		at(start.Add(wait))
		if _, _, err := s.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: c.ID, SenderKind: parley.SenderAgent, SenderID: agent.ID, Type: parley.MessageText, Text: "Hello"}); err != nil {
			t.Fatal(err)
		}
	}
	answered(t0, 9*time.Hour) // eight days before "now": outside the week
	day := 24 * time.Hour
	for i, wait := range []time.Duration{2 * time.Minute, 40 * time.Minute, 45 * time.Minute, 50 * time.Minute} {
		answered(t0.Add(2*day+time.Duration(i)*time.Hour), wait)
	}
	at(t0.Add(8*day + 30*time.Minute))
	r := analytics.NewReplyTimes(s, now)
	if m, err := r.Median(ctx, acc.ID); err != nil || m != 0 {
		t.Fatalf("with four answers in the week: %v, %v; want nothing said", m, err)
	}
	answered(t0.Add(3*day), 3*time.Hour)
	at(t0.Add(8*day + 30*time.Minute))
	if m, err := r.Median(ctx, acc.ID); err != nil || m != 45*time.Minute {
		t.Fatalf("median of 2, 40, 45, 50 and 180 minutes: %v, %v; want 45m", m, err)
	}
	if _, known := r.Typical(acc.ID); known {
		t.Fatal("the first Typical knew the answer: it should not have waited for it")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if d, known := r.Typical(acc.ID); known {
			if d != 45*time.Minute {
				t.Fatalf("Typical = %v", d)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Typical never learned the answer")
		}
		time.Sleep(10 * time.Millisecond) // polling a condition with a deadline
	}
}
