package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/parleychat/parley"
)

// MergeConsumer: the duplicate's conversations and the visitor's messages
// in them become the contact's; the contact keeps what it has and takes
// what it lacks; the duplicate stays, emptied, naming the contact (and so
// do earlier duplicates of it); two external IDs, a merge into itself,
// an erased or merged contact and another account's are refused, and a
// refused merge changes nothing.
func testMergeConsumer(t *testing.T, open Opener) {
	ctx := context.Background()
	rec := &recorder{}
	s := open(t, rec)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	mk := func(name, email, ext string, attrs map[string]string) *parley.Consumer {
		c := &parley.Consumer{AccountID: f.account.ID, Name: name, Email: email, ExternalID: ext, Attributes: attrs}
		if err := s.CreateConsumer(ctx, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	phone := mk("", "zoe@example.test", "", map[string]string{"device": "phone", "plan": "free"})
	laptop := mk("Zoë", "", "crm-42", map[string]string{"plan": "pro"})
	old := mk("Z", "", "", nil)
	conv, err := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: phone.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessage(ctx, &parley.Message{AccountID: f.account.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer, SenderID: phone.ID, Type: parley.MessageText, Text: "from my phone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BlockConsumer(ctx, f.account.ID, phone.ID, true, "usr_x"); err != nil {
		t.Fatal(err)
	}
	// An earlier duplicate of the phone's.
	if _, err := s.MergeConsumer(ctx, f.account.ID, old.ID, phone.ID, "usr_x"); err != nil {
		t.Fatal(err)
	}

	_, err = s.MergeConsumer(ctx, f.account.ID, phone.ID, phone.ID, "usr_x")
	wantCode(t, err, parley.EINVALID)
	_, err = s.MergeConsumer(ctx, f.account.ID, phone.ID, other.consumer.ID, "usr_x")
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.MergeConsumer(ctx, f.account.ID, old.ID, laptop.ID, "usr_x")
	wantCode(t, err, parley.ECONFLICT) // merged already
	twin := mk("", "", "crm-43", nil)
	_, err = s.MergeConsumer(ctx, f.account.ID, twin.ID, laptop.ID, "usr_x")
	wantCode(t, err, parley.ECONFLICT) // two people to the brand's site

	merged, err := s.MergeConsumer(ctx, f.account.ID, phone.ID, laptop.ID, "usr_agent")
	if err != nil {
		t.Fatal(err)
	}
	if merged.ID != laptop.ID || merged.Name != "Zoë" || merged.Email != "zoe@example.test" || merged.ExternalID != "crm-42" ||
		merged.Attributes["plan"] != "pro" || merged.Attributes["device"] != "phone" || !merged.Blocked {
		t.Fatalf("merged contact: %+v", merged)
	}
	if got, _ := s.FindConsumer(ctx, f.account.ID, laptop.ID); got.Email != "zoe@example.test" || !got.Blocked {
		t.Fatalf("read back: %+v", got)
	}
	for _, id := range []string{phone.ID, old.ID} {
		if dup, _ := s.FindConsumer(ctx, f.account.ID, id); dup.MergedInto != laptop.ID || dup.Name != "" || dup.Email != "" || len(dup.Attributes) != 0 {
			t.Fatalf("duplicate %s: %+v; want emptied, naming %s", id, dup, laptop.ID)
		}
	}
	if c, _ := s.FindConversation(ctx, f.account.ID, conv.ID); c.ConsumerID != laptop.ID {
		t.Fatalf("the conversation is %s's", c.ConsumerID)
	}
	if msgs, _ := s.ListMessages(ctx, f.account.ID, conv.ID, 0, 10); len(msgs) != 1 || msgs[0].SenderID != laptop.ID {
		t.Fatalf("messages: %+v", msgs)
	}
	var ev parley.ConsumerMerged
	found := false
	for _, e := range rec.snapshot() {
		if e.Type == parley.EventConsumerMerged && e.AccountID == f.account.ID {
			found = true
			if err := json.Unmarshal(e.Data, &ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !found || ev.ConsumerID != laptop.ID || ev.MergedID != phone.ID || ev.MergedBy != "usr_agent" || ev.Conversations != 1 {
		t.Fatalf("consumer.merged: %+v", ev)
	}
	// The contacts list has one Zoë.
	list, err := s.ListConsumers(ctx, f.account.ID, parley.ConsumerFilter{Query: "zoe"})
	if err != nil || len(list) != 1 || list[0].ID != laptop.ID || list[0].Conversations != 1 {
		t.Fatalf("contacts: %+v, %v", list, err)
	}
	// Erased contacts are not merged.
	if err := s.EraseConsumer(ctx, f.account.ID, twin.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.MergeConsumer(ctx, f.account.ID, twin.ID, laptop.ID, "usr_x")
	wantCode(t, err, parley.ECONFLICT)
}
