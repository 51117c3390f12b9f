package storetest

import (
	"context"
	"encoding/json"
	"fmt"
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
	c, err := s.SetConversationFields(ctx, f.account.ID, f.conversation.ID, map[string]string{"order": "A-1042", "refund": "true"}, "usr_x")
	if err != nil || c.Fields["order"] != "A-1042" || c.Fields["refund"] != "true" {
		t.Fatalf("set: %+v %v", c, err)
	}
	c, err = s.SetConversationFields(ctx, f.account.ID, f.conversation.ID, map[string]string{"order": "A-1043", "refund": ""}, "usr_y")
	if err != nil || len(c.Fields) != 1 || c.Fields["order"] != "A-1043" {
		t.Fatalf("change one, clear one: %+v %v", c, err)
	}
	if got, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID); len(got.Fields) != 1 || got.Fields["order"] != "A-1043" {
		t.Fatalf("stored: %+v", got.Fields)
	}
	// The same value again, or clearing what is not there: no event.
	if _, err := s.SetConversationFields(ctx, f.account.ID, f.conversation.ID, map[string]string{"order": "A-1043", "refund": ""}, "usr_y"); err != nil {
		t.Fatal(err)
	}
	events, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventConversationFields}})
	if len(events) != 2 {
		t.Fatalf("%d conversation.fields_changed events, want 2", len(events))
	}
	var change struct {
		Fields    map[string]string `json:"fields"`
		Changed   []string          `json:"changed"`
		ChangedBy string            `json:"changed_by"`
	}
	json.Unmarshal(events[1].Data, &change)
	if change.ChangedBy != "usr_y" || len(change.Changed) != 2 || change.Changed[0] != "order" || change.Changed[1] != "refund" || change.Fields["order"] != "A-1043" {
		t.Fatalf("the second change: %s", events[1].Data)
	}
	// Ten people, ten fields, at once: all ten kept.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			if _, err := s.SetConversationFields(ctx, f.account.ID, f.conversation.ID, map[string]string{fmt.Sprintf("f%d", i): "x"}, "usr_x"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID); len(got.Fields) != 11 {
		t.Fatalf("changed at once, %d fields are left, want 11: %v", len(got.Fields), got.Fields)
	}
	// Another brand's conversation is not found.
	_, err = s.SetConversationFields(ctx, other.account.ID, f.conversation.ID, map[string]string{"order": "x"}, "usr_x")
	wantCode(t, err, parley.ENOTFOUND)
	// Erased with the conversation.
	if err := s.EraseConversations(ctx, f.account.ID, []string{f.conversation.ID}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID); got.Fields != nil {
		t.Fatalf("erased, the fields stay: %+v", got.Fields)
	}
}
