package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// Auto-close's view of the store: the conversations of a state that wait
// on their visitor, oldest first, and a close that refuses when the
// conversation changed after the sweep looked.
func testIdleConversations(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	openBot := func(f fixture, says ...parley.SenderKind) *parley.Conversation {
		t.Helper()
		c, err := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
		if err != nil {
			t.Fatal(err)
		}
		for i, kind := range says {
			m := &parley.Message{AccountID: f.account.ID, ConversationID: c.ID, SenderKind: kind, Type: parley.MessageText, Text: "line"}
			if kind == parley.SenderConsumer {
				m.SenderID = f.consumer.ID
			}
			if kind == parley.SenderSystem {
				m.ClientID = "system-" + string(rune('a'+i))
			}
			if _, _, err := s.AppendMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		c, err = s.FindConversation(ctx, f.account.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	silent := openBot(a)                                                                  // nothing said yet
	answered := openBot(a, parley.SenderConsumer, parley.SenderBot)                       // the bot spoke last
	openBot(a, parley.SenderBot, parley.SenderConsumer)                                   // the visitor waits
	openBot(a, parley.SenderConsumer, parley.SenderSystem)                                // a system line after the visitor's
	announced := openBot(a, parley.SenderConsumer, parley.SenderBot, parley.SenderSystem) // a system line after the bot's
	openBot(b, parley.SenderBot)                                                          // another account's

	ids := func(state parley.ConversationState, before time.Time, limit int) []string {
		t.Helper()
		idle, err := s.IdleConversations(ctx, a.account.ID, state, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, ic := range idle {
			out = append(out, ic.ID)
		}
		return out
	}
	later := time.Now().Add(time.Hour)
	want := []string{silent.ID, answered.ID, announced.ID} // by when each last changed
	if got := ids(parley.StateBot, later, 10); !slices.Equal(got, want) {
		t.Fatalf("idle bot conversations = %v, want %v (never one whose last word is the visitor's, nor another account's)", got, want)
	}
	// The last message's client ID, when it is the system's: how auto-close
	// knows it has asked the visitor whether they are still there.
	idle, err := s.IdleConversations(ctx, a.account.ID, parley.StateBot, later, 10)
	if err != nil || len(idle) != 3 || idle[0].LastSystemClientID != "" || idle[1].LastSystemClientID != "" || idle[2].LastSystemClientID != "system-c" {
		t.Fatalf("LastSystemClientID = %+v, %v; want only the announced one's (system-c)", idle, err)
	}
	if got := ids(parley.StateBot, later, 2); !slices.Equal(got, want[:2]) {
		t.Fatalf("with a limit of 2: %v, want %v", got, want[:2])
	}
	if got := ids(parley.StateBot, answered.UpdatedAt, 10); !slices.Equal(got, want[:1]) {
		t.Fatalf("idle since before the second changed: %v, want %v", got, want[:1])
	}
	if got := ids(parley.StateQueued, later, 10); !slices.Equal(got, []string{a.conversation.ID}) {
		t.Fatalf("idle queued conversations = %v, want the fixture's", got)
	}

	// The bot speaks again after the sweep looked: the close is refused and
	// changes nothing.
	if _, _, err := s.AppendMessage(ctx, &parley.Message{AccountID: a.account.ID, ConversationID: answered.ID, SenderKind: parley.SenderBot, Type: parley.MessageText, Text: "anything else?"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CloseConversation(ctx, a.account.ID, answered.ID, parley.ConversationClose{Reason: parley.CloseInactive, ClosedBy: "system", IdleSince: answered.UpdatedAt})
	wantCode(t, err, parley.ECONFLICT)
	if c, _ := s.FindConversation(ctx, a.account.ID, answered.ID); c.State != parley.StateBot {
		t.Fatalf("a refused close changed the state to %s", c.State)
	}
	c, err := s.CloseConversation(ctx, a.account.ID, silent.ID, parley.ConversationClose{Reason: parley.CloseInactive, ClosedBy: "system", IdleSince: silent.UpdatedAt})
	if err != nil || c.State != parley.StateClosed || c.CloseReason != parley.CloseInactive {
		t.Fatalf("close of an untouched conversation: %+v, %v", c, err)
	}
	if got := ids(parley.StateBot, later, 10); !slices.Equal(got, []string{announced.ID, answered.ID}) {
		t.Fatalf("after one closed and one changed: %v", got)
	}
}
