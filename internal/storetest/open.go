package storetest

import (
	"context"
	"testing"

	"github.com/parleychat/parley"
)

// OpenAssigned: a conversation opened for a user is theirs in the same
// transaction — opened, then assigned, two events in that order — and
// one that cannot be theirs (at capacity, another account's user, with
// the bot) is not opened at all.
func testOpenAssigned(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	agent := &parley.User{AccountID: a.account.ID, Email: "ann@a.test", Name: "Ann", Role: parley.RoleAgent, MaxConcurrent: 1, Active: true}
	if err := s.CreateUser(ctx, agent); err != nil {
		t.Fatal(err)
	}
	before, _ := s.ListEvents(ctx, a.account.ID, parley.EventFilter{Limit: 1000})
	c, err := s.OpenConversation(ctx, a.account.ID, parley.ConversationOpen{ConsumerID: a.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateQueued, AssigneeID: agent.ID})
	if err != nil || c.State != parley.StateAssigned || c.AssigneeID != agent.ID || c.AssignedAt == nil {
		t.Fatalf("OpenConversation for Ann = %+v, %v", c, err)
	}
	evs, _ := s.ListEvents(ctx, a.account.ID, parley.EventFilter{After: before[len(before)-1].Seq, Limit: 10})
	if len(evs) != 2 || evs[0].Type != parley.EventConversationOpened || evs[1].Type != parley.EventConversationAssigned || evs[1].ConversationID != c.ID {
		t.Fatalf("events = %+v; want opened then assigned", evs)
	}
	found, _ := s.FindConversation(ctx, a.account.ID, c.ID)
	if found.State != parley.StateAssigned || found.AssigneeID != agent.ID {
		t.Fatalf("stored = %+v", found)
	}

	count := func() int {
		list, _ := s.ListConversations(ctx, a.account.ID, parley.ConversationFilter{Limit: 100})
		return len(list)
	}
	n := count()
	// Ann has one, her limit: the second is refused, and not opened.
	_, err = s.OpenConversation(ctx, a.account.ID, parley.ConversationOpen{ConsumerID: a.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateQueued, AssigneeID: agent.ID})
	wantCode(t, err, parley.ECONFLICT)
	// Another account's user.
	_, err = s.OpenConversation(ctx, b.account.ID, parley.ConversationOpen{ConsumerID: b.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateQueued, AssigneeID: agent.ID})
	wantCode(t, err, parley.ENOTFOUND)
	// With the bot and for a person at once.
	_, err = s.OpenConversation(ctx, a.account.ID, parley.ConversationOpen{ConsumerID: a.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateBot, AssigneeID: agent.ID})
	wantCode(t, err, parley.EINVALID)
	if got := count(); got != n {
		t.Fatalf("refused opens left %d conversations, want %d", got, n)
	}
	if list, _ := s.ListConversations(ctx, b.account.ID, parley.ConversationFilter{Limit: 100}); len(list) != 1 {
		t.Fatalf("B has %d conversations, want its fixture's only", len(list))
	}
}
