package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// testRedactMessage: a removed message keeps who sent it and when, and
// nothing of what it said remains — in the message, its event, a bot's
// quote of it, or a webhook delivery already queued; a system line, a
// message removed already and another account's are refused.
func testRedactMessage(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f, other := newFixture(t, s, "A"), newFixture(t, s, "B")
	a := f.account.ID
	const secret = "my passport is X1234567"
	w := &parley.Webhook{AccountID: a, URL: "https://hooks.example/in", Types: []string{parley.EventMessageCreated, parley.EventBotMissed}, Secret: "whsec_x"}
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	m, _, err := s.AppendMessage(ctx, text(f, secret, ""))
	if err != nil {
		t.Fatal(err)
	}
	kept, _, err := s.AppendMessage(ctx, text(f, "and my order is 100234", ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvent(ctx, &parley.Event{AccountID: a, Type: parley.EventBotMissed, ConversationID: f.conversation.ID,
		Data: []byte(`{"misses":1,"question":"` + secret + `"}`)}); err != nil {
		t.Fatal(err)
	}
	read, err := s.ListEvents(ctx, a, parley.EventFilter{Types: w.Types, Limit: 10})
	if err != nil || len(read) != 3 {
		t.Fatalf("events = %d, %v", len(read), err)
	}
	var ds []*parley.WebhookDelivery
	for _, e := range read {
		ds = append(ds, &parley.WebhookDelivery{EventSeq: e.Seq, EventType: e.Type, ConversationID: e.ConversationID, Payload: parley.WebhookBody(e)})
	}
	if err := s.EnqueueDeliveries(ctx, w, ds, read[len(read)-1].Seq); err != nil {
		t.Fatal(err)
	}

	by := parley.Redaction{By: "usr_ann", ByName: "Ann"}
	_, err = s.RedactMessage(ctx, other.account.ID, f.conversation.ID, m.Seq, by)
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.RedactMessage(ctx, a, f.conversation.ID, 99, by)
	wantCode(t, err, parley.ENOTFOUND)
	got, err := s.RedactMessage(ctx, a, f.conversation.ID, m.Seq, by)
	if err != nil || got.Text != "" || got.Redacted == nil || got.Redacted.By != "usr_ann" || got.Redacted.At.IsZero() || got.SenderKind != parley.SenderConsumer || got.Seq != m.Seq {
		t.Fatalf("RedactMessage = %+v, %v", got, err)
	}
	_, err = s.RedactMessage(ctx, a, f.conversation.ID, m.Seq, by)
	wantCode(t, err, parley.ECONFLICT)

	msgs, _ := s.ListMessages(ctx, a, f.conversation.ID, 0, 10)
	if len(msgs) != 2 || msgs[0].Text != "" || msgs[0].Redacted == nil || msgs[0].Redacted.ByName != "Ann" || msgs[1].Text != kept.Text || msgs[1].Redacted != nil {
		t.Fatalf("messages after: %+v %+v", msgs[0], msgs[1])
	}
	saysNothing(t, s, a, "X1234567", parley.EventMessageRedacted)
	queued, _ := s.ListDeliveries(ctx, a, w.ID, 10)
	if len(queued) != 3 {
		t.Fatalf("deliveries = %d", len(queued))
	}
	for _, d := range queued {
		if strings.Contains(string(d.Payload), "X1234567") {
			t.Fatalf("a queued delivery still says it: %s", d.Payload)
		}
	}

	// Parley's own lines are not anyone's words.
	sys := &parley.Message{AccountID: a, ConversationID: f.conversation.ID, SenderKind: parley.SenderSystem, Type: parley.MessageText, Text: "Ann joined the conversation"}
	if sys, _, err = s.AppendMessage(ctx, sys); err != nil {
		t.Fatal(err)
	}
	_, err = s.RedactMessage(ctx, a, f.conversation.ID, sys.Seq, by)
	wantCode(t, err, parley.EINVALID)
}

// testRedactNote: a removed note keeps its author and time; its words
// leave the note, its event and a queued delivery, and its mentions are
// withdrawn.
func testRedactNote(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f, other := newFixture(t, s, "A"), newFixture(t, s, "B")
	a := f.account.ID
	bo := &parley.User{AccountID: a, Email: "bo@a.example", Name: "Bo", Role: parley.RoleAgent, Active: true}
	if err := s.CreateUser(ctx, bo); err != nil {
		t.Fatal(err)
	}
	w := &parley.Webhook{AccountID: a, URL: "https://hooks.example/in", Types: []string{parley.EventNoteCreated}, Secret: "whsec_x"}
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	n := &parley.Note{AccountID: a, ConversationID: f.conversation.ID, AuthorID: "usr_ann", AuthorName: "Ann", Text: "the code is 7391", Mentions: []string{bo.ID}}
	if _, err := s.AddNote(ctx, n); err != nil {
		t.Fatal(err)
	}
	read, _ := s.ListEvents(ctx, a, parley.EventFilter{Types: w.Types, Limit: 10})
	if len(read) != 1 {
		t.Fatalf("note events: %d", len(read))
	}
	if err := s.EnqueueDeliveries(ctx, w, []*parley.WebhookDelivery{{EventSeq: read[0].Seq, EventType: read[0].Type, ConversationID: read[0].ConversationID, Payload: parley.WebhookBody(read[0])}}, read[0].Seq); err != nil {
		t.Fatal(err)
	}
	if unread, _ := s.UnreadMentions(ctx, a, bo.ID); unread != 1 {
		t.Fatalf("unread mentions before: %d", unread)
	}
	by := parley.Redaction{By: "usr_ann", ByName: "Ann"}
	_, err := s.RedactNote(ctx, other.account.ID, f.conversation.ID, n.ID, by)
	wantCode(t, err, parley.ENOTFOUND)
	got, err := s.RedactNote(ctx, a, f.conversation.ID, n.ID, by)
	if err != nil || got.Text != "" || got.Redacted == nil || got.Redacted.ByName != "Ann" || got.AuthorID != "usr_ann" || got.Mentions != nil {
		t.Fatalf("RedactNote = %+v, %v", got, err)
	}
	_, err = s.RedactNote(ctx, a, f.conversation.ID, n.ID, by)
	wantCode(t, err, parley.ECONFLICT)
	notes, _ := s.ListNotes(ctx, a, f.conversation.ID)
	if len(notes) != 1 || notes[0].Text != "" || notes[0].Redacted == nil || notes[0].Redacted.At.IsZero() {
		t.Fatalf("notes after: %+v", notes)
	}
	if unread, _ := s.UnreadMentions(ctx, a, bo.ID); unread != 0 {
		t.Fatalf("a removed note still counts as an unread mention: %d", unread)
	}
	saysNothing(t, s, a, "7391", parley.EventNoteRedacted)
	if queued, _ := s.ListDeliveries(ctx, a, w.ID, 10); len(queued) != 1 || strings.Contains(string(queued[0].Payload), "7391") {
		t.Fatalf("the queued delivery: %+v", queued)
	}
}

// saysNothing fails when an event of the account still holds the removed
// words, or when the removal did not write its one event of type typ.
func saysNothing(t *testing.T, s parley.Store, accountID, words, typ string) {
	t.Helper()
	all, err := s.ListEvents(context.Background(), accountID, parley.EventFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range all {
		if strings.Contains(string(e.Data), words) {
			t.Fatalf("%s still says it: %s", e.Type, e.Data)
		}
		if e.Type == typ {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%s events: %d, want 1", typ, n)
	}
}
