package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parleychat/parley"
)

// testConversationFields: a change sets or clears the fields it names and
// keeps the others — two people changing different fields at once keep
// both —, an event says which keys changed, nothing is written when none
// did, and erasure blanks them.
func testConversationFields(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	c, err := s.SetConversationFields(ctx, f.account.ID, f.conversation.ID, map[string]string{"order": "A-1042", "refund": "true"}, []string{"refund", "reason"}, "usr_x")
	if err != nil || c.Fields["order"] != "A-1042" || c.Fields["refund"] != "true" {
		t.Fatalf("set: %+v %v", c, err)
	}
	c, err = s.SetConversationFields(ctx, f.account.ID, f.conversation.ID, map[string]string{"order": "A-1043", "refund": ""}, []string{"refund", "reason"}, "usr_y")
	if err != nil || len(c.Fields) != 1 || c.Fields["order"] != "A-1043" {
		t.Fatalf("change one, clear one: %+v %v", c, err)
	}
	if got, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID); len(got.Fields) != 1 || got.Fields["order"] != "A-1043" {
		t.Fatalf("stored: %+v", got.Fields)
	}
	// The same value again, or clearing what is not there: no event.
	if _, err := s.SetConversationFields(ctx, f.account.ID, f.conversation.ID, map[string]string{"order": "A-1043", "refund": ""}, nil, "usr_y"); err != nil {
		t.Fatal(err)
	}
	events, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventConversationFields}})
	if len(events) != 2 {
		t.Fatalf("%d conversation.fields_changed events, want 2", len(events))
	}
	type fieldChange struct {
		Fields     map[string]string `json:"fields"`
		Categories map[string]string `json:"categories"`
		Changed    []string          `json:"changed"`
		ChangedBy  string            `json:"changed_by"`
	}
	var change fieldChange
	json.Unmarshal(events[1].Data, &change)
	if change.ChangedBy != "usr_y" || len(change.Changed) != 2 || change.Changed[0] != "order" || change.Changed[1] != "refund" || change.Fields["order"] != "A-1043" || change.Categories != nil {
		t.Fatalf("the second change: %s", events[1].Data)
	}
	// The list and checkbox fields' values, as categories.
	change = fieldChange{}
	json.Unmarshal(events[0].Data, &change)
	if len(change.Categories) != 1 || change.Categories["refund"] != "true" {
		t.Fatalf("the first change's categories: %s", events[0].Data)
	}
	// Ten people, ten fields, at once: all ten kept.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, err := s.SetConversationFields(ctx, f.account.ID, f.conversation.ID, map[string]string{fmt.Sprintf("f%d", i): "x"}, nil, "usr_x"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID); len(got.Fields) != 11 {
		t.Fatalf("changed at once, %d fields are left, want 11: %v", len(got.Fields), got.Fields)
	}
	// Another brand's conversation is not found.
	_, err = s.SetConversationFields(ctx, other.account.ID, f.conversation.ID, map[string]string{"order": "x"}, nil, "usr_x")
	wantCode(t, err, parley.ENOTFOUND)
	// Erased with the conversation.
	if err := s.EraseConversations(ctx, f.account.ID, []string{f.conversation.ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID); got.Fields != nil {
		t.Fatalf("erased, the fields stay: %+v", got.Fields)
	}
	// Its events keep the categories, for the metrics, and nothing else of
	// the fields.
	events, _ = s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventConversationFields}})
	change = fieldChange{}
	json.Unmarshal(events[0].Data, &change)
	if change.Categories["refund"] != "true" || change.Fields != nil || strings.Contains(string(events[0].Data), "A-1042") {
		t.Fatalf("erased, the first change: %s", events[0].Data)
	}
}

// testConversationsByField: the inbox keeps the conversations whose fields
// hold the values asked for, every pair; a search finds a field's value
// only when asked to (staff), never a key, and another brand's
// conversations never.
func testConversationsByField(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	damaged, refunded, bare := f.conversation, f.another(t, s), f.another(t, s)
	set := func(accountID, id string, values map[string]string) {
		t.Helper()
		if _, err := s.SetConversationFields(ctx, accountID, id, values, nil, "usr_x"); err != nil {
			t.Fatal(err)
		}
	}
	set(f.account.ID, damaged.ID, map[string]string{"reason": "Damaged", "order_number": "A-1042"})
	set(f.account.ID, refunded.ID, map[string]string{"reason": "Damaged", "refund": "true", "order_number": "B-7"})
	set(other.account.ID, other.conversation.ID, map[string]string{"reason": "Damaged", "order_number": "A-1042"})
	ids := func(filter parley.ConversationFilter) []string {
		t.Helper()
		list, err := s.ListConversations(ctx, f.account.ID, filter)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			out = append(out, c.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for _, tc := range []struct {
		name   string
		filter parley.ConversationFilter
		want   []string
	}{
		{"one field", parley.ConversationFilter{Fields: map[string]string{"reason": "Damaged"}}, sorted(damaged.ID, refunded.ID)},
		{"two fields", parley.ConversationFilter{Fields: map[string]string{"reason": "Damaged", "refund": "true"}}, sorted(refunded.ID)},
		{"another value", parley.ConversationFilter{Fields: map[string]string{"reason": "Sizing"}}, nil},
		{"exactly", parley.ConversationFilter{Fields: map[string]string{"reason": "damaged"}}, nil},
		{"no fields at all", parley.ConversationFilter{Fields: map[string]string{"topic": "x"}}, nil},
		{"search a value", parley.ConversationFilter{Query: "a-104", SearchFields: true}, sorted(damaged.ID)},
		{"search a key", parley.ConversationFilter{Query: "order_number", SearchFields: true}, nil},
		{"search without fields", parley.ConversationFilter{Query: "A-1042"}, nil},
		{"search and filter", parley.ConversationFilter{Query: "B-7", SearchFields: true, Fields: map[string]string{"refund": "true"}}, sorted(refunded.ID)},
		{"with a state", parley.ConversationFilter{State: parley.StateQueued, Fields: map[string]string{"refund": "true"}}, sorted(refunded.ID)},
	} {
		if got := ids(tc.filter); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v (bare: %s)", tc.name, got, tc.want, bare.ID)
		}
	}
}
