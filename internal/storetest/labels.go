package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// Labels: a conversation's set is replaced and read back, filtered on,
// written as one conversation.labeled with what changed, kept through a
// close, and scoped to the account.
func testLabels(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	second := a.another(t, s)

	c, err := s.LabelConversation(ctx, a.account.ID, a.conversation.ID, []string{"billing", "vip"}, "usr_1")
	if err != nil || !slices.Equal(c.Labels, []string{"billing", "vip"}) {
		t.Fatalf("LabelConversation = %+v, %v", c, err)
	}
	if _, err := s.LabelConversation(ctx, a.account.ID, second.ID, []string{"billing"}, "usr_1"); err != nil {
		t.Fatal(err)
	}
	// Replacing the set: vip goes, refund comes.
	if c, err = s.LabelConversation(ctx, a.account.ID, a.conversation.ID, []string{"billing", "refund"}, "usr_2"); err != nil || !slices.Equal(c.Labels, []string{"billing", "refund"}) {
		t.Fatalf("relabel = %+v, %v", c, err)
	}
	found, err := s.FindConversation(ctx, a.account.ID, a.conversation.ID)
	if err != nil || !slices.Equal(found.Labels, []string{"billing", "refund"}) {
		t.Fatalf("FindConversation labels = %v, %v", found.Labels, err)
	}

	evs, err := s.ListEvents(ctx, a.account.ID, parley.EventFilter{Types: []string{parley.EventConversationLabeled}, Limit: 10})
	if err != nil || len(evs) != 3 {
		t.Fatalf("conversation.labeled events = %d, %v; want 3", len(evs), err)
	}
	var change parley.LabelChange
	if err := json.Unmarshal(evs[2].Data, &change); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(change.Added, []string{"refund"}) || !slices.Equal(change.Removed, []string{"vip"}) || change.LabeledBy != "usr_2" ||
		change.Conversation == nil || !slices.Equal(change.Labels, []string{"billing", "refund"}) || evs[2].ConversationID != a.conversation.ID {
		t.Fatalf("last conversation.labeled = %s", evs[2].Data)
	}
	// The same set again writes nothing.
	if _, err := s.LabelConversation(ctx, a.account.ID, a.conversation.ID, []string{"billing", "refund"}, "usr_2"); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.ListEvents(ctx, a.account.ID, parley.EventFilter{Types: []string{parley.EventConversationLabeled}, Limit: 10}); len(again) != 3 {
		t.Fatalf("relabelling with the same set wrote an event: %d events", len(again))
	}

	ids := func(label string) []string {
		t.Helper()
		list, err := s.ListConversations(ctx, a.account.ID, parley.ConversationFilter{Label: label})
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, c := range list {
			out = append(out, c.ID)
		}
		return out
	}
	if got := ids("billing"); !slices.Equal(got, []string{second.ID, a.conversation.ID}) {
		t.Fatalf("label billing lists %v, want both (newest first)", got)
	}
	if got := ids("vip"); len(got) != 0 {
		t.Fatalf("label vip (removed) lists %v", got)
	}

	// Removing every label; a closed conversation keeps and takes labels.
	if c, err := s.LabelConversation(ctx, a.account.ID, second.ID, []string{}, "usr_1"); err != nil || len(c.Labels) != 0 {
		t.Fatalf("removing all = %+v, %v", c, err)
	}
	closed, err := s.CloseConversation(ctx, a.account.ID, a.conversation.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: "usr_2"})
	if err != nil || !slices.Equal(closed.Labels, []string{"billing", "refund"}) {
		t.Fatalf("closed = %+v, %v; want its labels kept", closed, err)
	}
	if c, err := s.LabelConversation(ctx, a.account.ID, a.conversation.ID, []string{"refund"}, "usr_2"); err != nil || !slices.Equal(c.Labels, []string{"refund"}) {
		t.Fatalf("labelling a closed conversation = %+v, %v", c, err)
	}

	// Another account's conversation is not found, and its lists and
	// counts never see A's labels.
	_, err = s.LabelConversation(ctx, b.account.ID, a.conversation.ID, []string{"billing"}, "usr_1")
	wantCode(t, err, parley.ENOTFOUND)
	if list, _ := s.ListConversations(ctx, b.account.ID, parley.ConversationFilter{Label: "refund"}); len(list) != 0 {
		t.Fatalf("account B lists A's labelled conversations: %v", list)
	}
}

// Blocking a visitor: the flag is read back, each change writes one event
// naming who made it, the same state again writes nothing, and another
// account's consumer is not found.
func testBlockConsumer(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	c, err := s.BlockConsumer(ctx, a.account.ID, a.consumer.ID, true, "usr_1")
	if err != nil || !c.Blocked {
		t.Fatalf("block = %+v, %v", c, err)
	}
	if found, _ := s.FindConsumer(ctx, a.account.ID, a.consumer.ID); !found.Blocked {
		t.Fatal("FindConsumer does not say blocked")
	}
	if byExt, _ := s.FindConsumer(ctx, b.account.ID, b.consumer.ID); byExt.Blocked {
		t.Fatal("B's consumer is blocked too")
	}
	if _, err := s.BlockConsumer(ctx, a.account.ID, a.consumer.ID, true, "usr_1"); err != nil {
		t.Fatal(err)
	}
	if c, err := s.BlockConsumer(ctx, a.account.ID, a.consumer.ID, false, "usr_2"); err != nil || c.Blocked {
		t.Fatalf("unblock = %+v, %v", c, err)
	}
	evs, _ := s.ListEvents(ctx, a.account.ID, parley.EventFilter{Types: []string{parley.EventConsumerBlocked, parley.EventConsumerUnblocked}, Limit: 10})
	if len(evs) != 2 || evs[0].Type != parley.EventConsumerBlocked || evs[1].Type != parley.EventConsumerUnblocked ||
		!strings.Contains(string(evs[0].Data), `"blocked_by":"usr_1"`) || !strings.Contains(string(evs[1].Data), `"unblocked_by":"usr_2"`) {
		t.Fatalf("events: %+v", evs)
	}
	_, err = s.BlockConsumer(ctx, b.account.ID, a.consumer.ID, true, "usr_1")
	wantCode(t, err, parley.ENOTFOUND)
}
