package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// The brand's data beyond the conversation itself: the webhook outbox,
// exports, erasure, the audit log, and the lists the admin screens read.

func testWebhookOutbox(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	if _, _, err := s.AppendMessage(ctx, text(f, "before the webhook", "")); err != nil {
		t.Fatal(err)
	}
	before, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Limit: 1000})
	w := &parley.Webhook{AccountID: f.account.ID, URL: "https://hooks.example/in", Types: []string{parley.EventMessageCreated}, Secret: "whsec_x"}
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	if !w.Active || w.Cursor != before[len(before)-1].Seq {
		t.Fatalf("a new webhook starts active at the log's end (%d): %+v", before[len(before)-1].Seq, w)
	}
	got, err := s.FindWebhook(ctx, f.account.ID, w.ID)
	if err != nil || got.URL != w.URL || len(got.Types) != 1 || got.Cursor != w.Cursor {
		t.Fatalf("FindWebhook = %+v, %v", got, err)
	}
	_, err = s.FindWebhook(ctx, other.account.ID, w.ID)
	wantCode(t, err, parley.ENOTFOUND)
	if list, err := s.ListWebhooks(ctx, other.account.ID); err != nil || len(list) != 0 {
		t.Fatalf("B lists A's webhooks: %d, %v", len(list), err)
	}

	// Three events of one conversation and one without: the outbox hands
	// out a conversation's deliveries one at a time, oldest first.
	payload := json.RawMessage(`{"n":1}`)
	ds := []*parley.WebhookDelivery{
		{EventSeq: w.Cursor + 1, EventType: parley.EventMessageCreated, ConversationID: f.conversation.ID, Payload: payload},
		{EventSeq: w.Cursor + 2, EventType: parley.EventMessageCreated, ConversationID: f.conversation.ID, Payload: payload},
		{EventSeq: w.Cursor + 3, EventType: parley.EventAccountUpdated, Payload: payload},
	}
	stale, start := *w, w.Cursor
	if err := s.EnqueueDeliveries(ctx, w, ds, w.Cursor+3); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.EnqueueDeliveries(ctx, &stale, nil, stale.Cursor+1), parley.ECONFLICT)
	due, err := s.DueDeliveries(ctx, time.Now().Add(time.Second), time.Minute, 10)
	if err != nil || len(due) != 2 || due[0].ID != ds[0].ID || due[1].ID != ds[2].ID {
		t.Fatalf("due = %d (%v): want the conversation's first and the one without a conversation", len(due), err)
	}
	// They are held for the sender that took them: nobody else gets them
	// until the lease runs out.
	if again, _ := s.DueDeliveries(ctx, time.Now().Add(time.Second), time.Minute, 10); len(again) != 0 {
		t.Fatalf("held deliveries handed out again: %d", len(again))
	}
	if later, _ := s.DueDeliveries(ctx, time.Now().Add(2*time.Minute), time.Minute, 10); len(later) != 2 {
		t.Fatalf("after the lease: %d due, want 2", len(later))
	}
	if string(due[0].Payload) != `{"n":1}` || due[0].State != parley.DeliveryPending {
		t.Fatalf("due[0] = %+v", due[0])
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	d := due[0]
	d.State, d.Attempts, d.LastStatus, d.DeliveredAt = parley.DeliveryDelivered, 1, 200, &now
	if err := s.RecordAttempt(ctx, d, ""); err != nil {
		t.Fatal(err)
	}
	due, _ = s.DueDeliveries(ctx, time.Now().Add(5*time.Minute), time.Minute, 10)
	if len(due) != 2 || due[0].ID != ds[1].ID && due[1].ID != ds[1].ID {
		t.Fatalf("after the first is delivered, the conversation's second is due: %d", len(due))
	}
	// A delivery that fails for good turns its webhook off, once.
	d2 := ds[1]
	d2.State, d2.Attempts, d2.LastStatus, d2.LastError, d2.NextAttemptAt = parley.DeliveryFailed, 8, 500, "server error", now
	if err := s.RecordAttempt(ctx, d2, "8 attempts failed"); err != nil {
		t.Fatal(err)
	}
	off, _ := s.FindWebhook(ctx, f.account.ID, w.ID)
	if off.Active || off.DisabledReason != "8 attempts failed" {
		t.Fatalf("after the failure: %+v", off)
	}
	disabled, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventWebhookDisabled}, Limit: 10})
	if len(disabled) != 1 {
		t.Fatalf("webhook.disabled events: %d", len(disabled))
	}
	if active, err := s.ListActiveWebhooks(ctx); err != nil || len(active) != 0 {
		t.Fatalf("active webhooks: %d, %v", len(active), err)
	}
	if due, _ := s.DueDeliveries(ctx, time.Now().Add(time.Hour), time.Minute, 10); len(due) != 0 {
		t.Fatalf("an inactive webhook's deliveries are due: %d", len(due))
	}
	log, err := s.ListDeliveries(ctx, f.account.ID, w.ID, 10)
	if err != nil || len(log) != 3 || log[0].EventSeq != start+3 || log[1].State != parley.DeliveryFailed || log[2].DeliveredAt == nil {
		t.Fatalf("deliveries, newest first = %d, %v", len(log), err)
	}
	again, err := s.Redeliver(ctx, f.account.ID, d2.ID)
	if err != nil || again.State != parley.DeliveryPending {
		t.Fatalf("Redeliver = %+v, %v", again, err)
	}
	_, err = s.Redeliver(ctx, other.account.ID, d2.ID)
	wantCode(t, err, parley.ENOTFOUND)

	w.URL, w.Active, w.Types = "https://hooks.example/v2", true, nil
	if err := s.UpdateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	if on, _ := s.FindWebhook(ctx, f.account.ID, w.ID); !on.Active || on.DisabledReason != "" || on.URL != w.URL || len(on.Types) != 0 {
		t.Fatalf("re-activated: %+v", on)
	}
	if active, _ := s.ListActiveWebhooks(ctx); len(active) != 1 {
		t.Fatalf("active webhooks: %d", len(active))
	}
	wantCode(t, s.DeleteWebhook(ctx, other.account.ID, w.ID), parley.ENOTFOUND)
	if err := s.DeleteWebhook(ctx, f.account.ID, w.ID); err != nil {
		t.Fatal(err)
	}
	if log, _ := s.ListDeliveries(ctx, f.account.ID, w.ID, 10); len(log) != 0 {
		t.Fatalf("a deleted webhook keeps %d deliveries", len(log))
	}
}

func testExportsAndErasure(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	from := time.Now().Add(-time.Minute)
	for _, body := range []string{"my card number is 1234", "thanks"} {
		if _, _, err := s.AppendMessage(ctx, text(f, body, "")); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.AppendMessage(ctx, text(other, "B's", "")); err != nil {
		t.Fatal(err)
	}
	to := time.Now().Add(time.Minute)
	var convs, msgs, events int
	if err := s.ScanConversations(ctx, f.account.ID, from, to, func(c *parley.Conversation) error {
		if c.AccountID != f.account.ID {
			t.Errorf("scan of A gave %+v", c)
		}
		convs++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.ScanMessages(ctx, f.account.ID, from, to, func(m *parley.Message) error {
		if m.AccountID != f.account.ID {
			t.Errorf("scan of A gave %+v", m)
		}
		msgs++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	lastSeq := int64(0)
	if err := s.ScanEvents(ctx, f.account.ID, from, to, func(e *parley.Event) error {
		if e.AccountID != f.account.ID || e.Seq <= lastSeq {
			t.Errorf("scan of A gave %+v after seq %d", e, lastSeq)
		}
		lastSeq = e.Seq
		events++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// consumer.created, conversation.opened, two message.created.
	if convs != 1 || msgs != 2 || events != 4 {
		t.Fatalf("scanned %d conversations, %d messages, %d events; want 1, 2, 4", convs, msgs, events)
	}
	if err := s.ScanMessages(ctx, f.account.ID, to, to.Add(time.Hour), func(*parley.Message) error { msgs++; return nil }); err != nil || msgs != 2 {
		t.Fatalf("a later range has messages: %d, %v", msgs-2, err)
	}

	if _, err := s.CloseConversation(ctx, f.account.ID, f.conversation.ID, parley.ConversationClose{Reason: "resolved"}); err != nil {
		t.Fatal(err)
	}
	expired, err := s.ExpiredConversations(ctx, f.account.ID, time.Now().Add(time.Minute), 10)
	if err != nil || len(expired) != 1 || expired[0] != f.conversation.ID {
		t.Fatalf("expired = %v, %v", expired, err)
	}
	if expired, _ := s.ExpiredConversations(ctx, f.account.ID, from, 10); len(expired) != 0 {
		t.Fatalf("closed after the cut-off, yet expired: %v", expired)
	}
	// Another account's IDs are not erased.
	if err := s.EraseConversations(ctx, other.account.ID, []string{f.conversation.ID}); err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.ListMessages(ctx, f.account.ID, f.conversation.ID, 0, 10); len(ms) != 2 {
		t.Fatalf("B erased A's messages: %d left", len(ms))
	}
	if err := s.EraseConversations(ctx, f.account.ID, []string{f.conversation.ID}); err != nil {
		t.Fatal(err)
	}
	if ms, err := s.ListMessages(ctx, f.account.ID, f.conversation.ID, 0, 10); err != nil || len(ms) != 0 {
		t.Fatalf("after erasure: %d messages, %v", len(ms), err)
	}
	// The events keep what happened (metrics read it), not what was said.
	evs, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventMessageCreated, parley.EventConversationClosed}, Limit: 10})
	if len(evs) != 3 {
		t.Fatalf("%d message and close events after erasure", len(evs))
	}
	for i, want := range []map[string]any{
		{"erased": true, "sender_kind": "consumer"},
		{"erased": true, "sender_kind": "consumer"},
		{"erased": true, "state": "closed", "priority": 0.0}, // the priority says what happened, not who
	} {
		var got map[string]any
		if err := json.Unmarshal(evs[i].Data, &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s event after erasure: %s (%v), want %v", evs[i].Type, evs[i].Data, err, want)
		}
	}
	if expired, _ := s.ExpiredConversations(ctx, f.account.ID, time.Now().Add(time.Minute), 10); len(expired) != 0 {
		t.Fatalf("an erased conversation is still listed: %v", expired)
	}

	if err := s.EraseConsumer(ctx, other.account.ID, other.consumer.ID); err != nil {
		t.Fatal(err)
	}
	c, err := s.FindConsumer(ctx, other.account.ID, other.consumer.ID)
	if err != nil || c.Name != "" {
		t.Fatalf("erased consumer = %+v, %v", c, err)
	}
	if ms, _ := s.ListMessages(ctx, other.account.ID, other.conversation.ID, 0, 10); len(ms) != 0 {
		t.Fatalf("an erased consumer's conversation keeps %d messages", len(ms))
	}
	if ev, _ := s.ListEvents(ctx, other.account.ID, parley.EventFilter{Types: []string{parley.EventConsumerErased}, Limit: 10}); len(ev) != 1 {
		t.Fatalf("consumer.erased events: %d", len(ev))
	}
}

func testAuditAndAdminLists(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	for i, action := range []string{"PUT /api/v1/bot", "POST /api/v1/users", "DELETE /api/v1/webhooks/{id}"} {
		e := &parley.AuditEntry{AccountID: f.account.ID, ActorID: "usr_1", ActorKind: "user", Action: action, Target: "/x", IP: "127.0.0.1", Status: 200 + i}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	page, err := s.ListAudit(ctx, f.account.ID, "", 2)
	if err != nil || len(page) != 2 || page[0].Action != "DELETE /api/v1/webhooks/{id}" || page[0].Status != 202 {
		t.Fatalf("first page = %+v, %v", page, err)
	}
	rest, _ := s.ListAudit(ctx, f.account.ID, page[1].ID, 2)
	if len(rest) != 1 || rest[0].Action != "PUT /api/v1/bot" {
		t.Fatalf("second page = %+v", rest)
	}
	if theirs, _ := s.ListAudit(ctx, other.account.ID, "", 10); len(theirs) != 0 {
		t.Fatalf("B sees %d of A's audit entries", len(theirs))
	}

	accounts, err := s.ListAccounts(ctx)
	if err != nil || len(accounts) != 2 || accounts[0].ID != f.account.ID {
		t.Fatalf("ListAccounts = %d, %v", len(accounts), err)
	}
	if err := s.CreateSkill(ctx, &parley.Skill{AccountID: f.account.ID, Name: "billing"}); err != nil {
		t.Fatal(err)
	}
	if skills, _ := s.ListSkills(ctx, other.account.ID); len(skills) != 0 {
		t.Fatalf("B lists A's skills: %d", len(skills))
	}
	if skills, _ := s.ListSkills(ctx, f.account.ID); len(skills) != 1 || skills[0].Name != "billing" {
		t.Fatalf("skills = %+v", skills)
	}
	k := &parley.APIKey{AccountID: f.account.ID, Name: "CRM", Role: parley.RoleAdmin, SecretHash: []byte("h")}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if keys, _ := s.ListAPIKeys(ctx, f.account.ID); len(keys) != 1 || keys[0].Name != "CRM" {
		t.Fatalf("keys = %+v", keys)
	}
	if keys, _ := s.ListAPIKeys(ctx, other.account.ID); len(keys) != 0 {
		t.Fatalf("B lists A's keys: %d", len(keys))
	}

	u := &parley.User{AccountID: f.account.ID, Email: "s@a.example", Role: parley.RoleAdmin, Active: true}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &parley.Session{TokenHash: []byte("tok"), AccountID: f.account.ID, UserID: u.ID, CSRFToken: "c", ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, []byte("tok")); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindSession(ctx, []byte("tok"))
	wantCode(t, err, parley.ENOTFOUND)

	c := &parley.Consumer{AccountID: f.account.ID, ExternalID: "crm-42", Name: "Known"}
	if err := s.CreateConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindConsumerByExternalID(ctx, f.account.ID, "crm-42"); err != nil || got.ID != c.ID {
		t.Fatalf("FindConsumerByExternalID = %+v, %v", got, err)
	}
	_, err = s.FindConsumerByExternalID(ctx, other.account.ID, "crm-42")
	wantCode(t, err, parley.ENOTFOUND)
}

// A dispatcher that read events before an erasure and queues their
// deliveries after it queues the erased events, not the copies it read.
func testDeliveriesQueuedAfterAnErasure(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	w := &parley.Webhook{AccountID: f.account.ID, URL: "https://hooks.example/in", Types: []string{parley.EventMessageCreated}, Secret: "whsec_x"}
	if err := s.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessage(ctx, text(f, "Send it to 12 Privet Drive", "")); err != nil {
		t.Fatal(err)
	}
	read, err := s.ListEvents(ctx, f.account.ID, parley.EventFilter{After: w.Cursor, Types: w.Types, Limit: 10})
	if err != nil || len(read) != 1 || !strings.Contains(string(parley.WebhookBody(read[0])), "Privet") {
		t.Fatalf("events read = %d, %v", len(read), err)
	}
	if err := s.EraseConsumer(ctx, f.account.ID, f.consumer.ID); err != nil {
		t.Fatal(err)
	}
	ds := []*parley.WebhookDelivery{{EventSeq: read[0].Seq, EventType: read[0].Type, ConversationID: read[0].ConversationID, Payload: parley.WebhookBody(read[0])}}
	if err := s.EnqueueDeliveries(ctx, w, ds, read[0].Seq); err != nil {
		t.Fatal(err)
	}
	queued, err := s.ListDeliveries(ctx, f.account.ID, w.ID, 10)
	if err != nil || len(queued) != 1 {
		t.Fatalf("deliveries = %d, %v", len(queued), err)
	}
	if p := string(queued[0].Payload); strings.Contains(p, "Privet") || !strings.Contains(p, parley.EventMessageCreated) {
		t.Fatalf("the queued payload = %s; want the erased event", p)
	}
}
