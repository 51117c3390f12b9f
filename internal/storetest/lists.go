package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/parleychat/parley"
)

// The queue's order: priority first, then the longest waiting — whatever
// the order they were opened in — and no cursor with it.
func testQueueOrder(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A") // its conversation is queued first, priority 0
	openQueued := func(priority int) string {
		t.Helper()
		c, err := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateQueued, Priority: priority})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	second := openQueued(0)
	urgent := openQueued(5)
	bot, err := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{State: parley.StateQueued, QueueOrder: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range list {
		got = append(got, c.ID)
	}
	if want := []string{urgent, f.conversation.ID, second}; !slices.Equal(got, want) {
		t.Fatalf("queue order = %v, want %v (priority, then the longest waiting; not the bot's %s)", got, want, bot.ID)
	}
	if list, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{State: parley.StateQueued, QueueOrder: true, Limit: 1}); len(list) != 1 || list[0].ID != urgent {
		t.Fatalf("the queue's head: %+v", list)
	}
	_, err = s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{QueueOrder: true, After: second})
	wantCode(t, err, parley.EINVALID)
}
