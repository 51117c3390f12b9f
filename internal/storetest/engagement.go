package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// testOpenFromEngagement: a conversation a visitor starts from an
// engagement carries its ID and opens with its text, all or nothing.
func testOpenFromEngagement(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	e := &parley.Engagement{ID: "boots", Name: "Boots sizing", Text: "Not sure of your size?"}
	c, err := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot, Engagement: e})
	if err != nil || c.Engagement != "boots" || c.LastSeq != 1 {
		t.Fatalf("open: %+v %v", c, err)
	}
	if got, _ := s.FindConversation(ctx, f.account.ID, c.ID); got.Engagement != "boots" || got.LastSeq != 1 {
		t.Fatalf("stored: %+v", got)
	}
	m := text(f, "Do they run small?", "v1")
	m.ConversationID = c.ID
	if stored, _, err := s.AppendMessage(ctx, m); err != nil || stored.Seq != 2 {
		t.Fatalf("the visitor's answer: %+v %v", stored, err)
	}
	msgs, _ := s.ListMessages(ctx, f.account.ID, c.ID, 0, 10)
	if len(msgs) != 2 || msgs[0].SenderKind != parley.SenderSystem || msgs[0].Text != e.Text || msgs[0].Notice == nil ||
		msgs[0].Notice.Code != parley.NoticeEngagement || msgs[0].Notice.Args["id"] != "boots" || msgs[0].Notice.Args["name"] != "Boots sizing" {
		t.Fatalf("messages: %+v", msgs)
	}
	events, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Limit: 100})
	var types []string
	for _, ev := range events {
		if ev.ConversationID == c.ID {
			types = append(types, ev.Type)
			if ev.Type == parley.EventConversationOpened && !strings.Contains(string(ev.Data), `"engagement":"boots"`) {
				t.Fatalf("conversation.opened: %s", ev.Data)
			}
		}
	}
	if strings.Join(types, " ") != "conversation.opened message.created message.created" {
		t.Fatalf("events: %v", types)
	}
	// An open that fails after the message is written (the assignment,
	// last in the transaction) leaves neither the conversation nor it.
	before, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{Limit: 100})
	if _, err = s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateQueued,
		AssigneeID: parley.NewID("usr"), Engagement: e}); err == nil {
		t.Fatal("opened for a user who does not exist")
	}
	if after, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{Limit: 100}); len(after) != len(before) {
		t.Fatalf("a failed open left a conversation: %d, then %d", len(before), len(after))
	}
	if again, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Limit: 100}); len(again) != len(events) {
		t.Fatalf("a failed open left events: %d, then %d", len(events), len(again))
	}
	// Without one, nothing is said first.
	plain := f.another(t, s)
	if plain.Engagement != "" || plain.LastSeq != 0 {
		t.Fatalf("a plain conversation: %+v", plain)
	}
}
