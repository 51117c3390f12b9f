package retention_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/retention"
	"github.com/parleychat/parley/internal/sqlstore"
)

func TestOldConversationsLoseTheirContentAndRecentOnesKeepIt(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	set := func(t time.Time) { clock.Store(t.UnixMicro()) }
	set(now.Add(-45 * 24 * time.Hour))
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "r.db"), sqlstore.Options{Now: func() time.Time { return time.UnixMicro(clock.Load()).UTC() }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keep := &parley.Account{Name: "Keeps everything"}
	strict := &parley.Account{Name: "Thirty days", Settings: parley.AccountSettings{RetentionDays: 30}}
	s.CreateAccount(ctx, keep)
	s.CreateAccount(ctx, strict)
	talk := func(acc *parley.Account, text string, closedAgo time.Duration) *parley.Conversation {
		set(now.Add(-closedAgo - time.Hour))
		c := &parley.Consumer{AccountID: acc.ID}
		s.CreateConsumer(ctx, c)
		conv, _ := s.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
		s.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer, SenderID: c.ID, Type: parley.MessageText, Text: text})
		set(now.Add(-closedAgo))
		if _, err := s.CloseConversation(ctx, acc.ID, conv.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: "x"}); err != nil {
			t.Fatal(err)
		}
		return conv
	}
	old := talk(strict, "old secret", 40*24*time.Hour)
	recent := talk(strict, "recent words", 10*24*time.Hour)
	open := talk(keep, "kept forever", 400*24*time.Hour)
	set(now)
	n, err := retention.Sweep(ctx, s, now)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v", n, err)
	}
	if msgs, _ := s.ListMessages(ctx, strict.ID, old.ID, 0, 10); len(msgs) != 0 {
		t.Fatalf("the expired conversation kept %d messages", len(msgs))
	}
	if msgs, _ := s.ListMessages(ctx, strict.ID, recent.ID, 0, 10); len(msgs) != 1 {
		t.Fatal("the recent conversation lost its messages")
	}
	if msgs, _ := s.ListMessages(ctx, keep.ID, open.ID, 0, 10); len(msgs) != 1 {
		t.Fatal("an account without retention lost messages")
	}
	events, _ := s.ListEvents(ctx, strict.ID, parley.EventFilter{Limit: 100})
	for _, e := range events {
		if strings.Contains(string(e.Data), "old secret") {
			t.Fatalf("event %s keeps the text", e.Type)
		}
	}
	// The conversation row stays for metrics; a second sweep finds nothing new.
	if c, err := s.FindConversation(ctx, strict.ID, old.ID); err != nil || c.State != parley.StateClosed {
		t.Fatalf("conversation row: %+v %v", c, err)
	}
	if n, _ := retention.Sweep(ctx, s, now); n != 0 {
		t.Fatalf("second sweep erased %d", n)
	}
}
