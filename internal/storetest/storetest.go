// Package storetest is the conformance suite every parley.Store passes: the
// SQLite store today, the PostgreSQL store of the cluster shape later.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// Opener returns a new, empty store that publishes committed events to bus.
// The store is closed by the suite.
type Opener func(t *testing.T, bus parley.Bus) parley.Store

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"AccountsAndUsers", testAccountsAndUsers},
		{"TenantIsolation", testTenantIsolation},
		{"MessageSeqGapFreeUnderConcurrency", testMessageSeqGapFree},
		{"IdempotentClientID", testIdempotentClientID},
		{"ConversationLifecycle", testConversationLifecycle},
		{"EventsOnePerChangeGapFree", testEventsGapFree},
		{"BusGetsCommittedEventsInOrder", testBusOrder},
		{"Receipts", testReceipts},
		{"ListConversationsPaging", testListConversations},
		{"CredentialsAndKeys", testCredentials},
		{"FailedWriteChangesNothing", testFailedWrite},
		{"AppendChecksEveryTime", testAppendChecksEveryTime},
		{"AccountSettingsAndFreeEvents", testAccountSettingsAndEvents},
		{"Attachments", testAttachments},
		{"NotesAndCannedResponses", testNotes},
		{"ANoteIsWrittenOncePerClientID", testNoteClientIDs},
		{"ClaimsNeverDoubleAssignOrOverfill", testClaims},
		{"RequeueKeepsQueueOrder", testRequeue},
		{"BotConfigVersionsAndSessions", testBots},
		{"BotTurnAllOrNothingAndOnce", testBotTurn},
		{"ConsumerNamesOfOneAccount", testConsumerNames},
		{"LastMessagesOfOneAccount", testLastMessages},
		{"UnansweredByBotOfOneAccount", testUnansweredByBot},
		{"WebhookOutbox", testWebhookOutbox},
		{"ExportsAndErasure", testExportsAndErasure},
		{"AuditAndAdminLists", testAuditAndAdminLists},
		{"MetricsRollup", testMetricsRollup},
		{"IdleConversationsForAutoClose", testIdleConversations},
		{"Labels", testLabels},
		{"BlockConsumer", testBlockConsumer},
		{"QueueOrder", testQueueOrder},
		{"SetPriority", testSetPriority},
		{"ChangeAccount", testChangeAccount},
		{"ChangeUser", testChangeUser},
		{"Contacts", testContacts},
		{"UnreadMentions", testUnreadMentions},
		{"ConversationActivity", testConversationActivity},
		{"Snooze", testSnooze},
		{"ReplyEmails", testReplyEmails},
		{"OpenAssigned", testOpenAssigned},
		{"MentionEmails", testMentionEmails},
		{"AgentStatus", testAgentStatus},
		{"DeliveriesQueuedAfterAnErasure", testDeliveriesQueuedAfterAnErasure},
		{"QueueOverflow", testQueueOverflow},
		{"UserPhotos", testUserPhotos},
		{"FollowConversation", testFollowConversation},
		{"FollowEmails", testFollowEmails},
		{"MergeConsumer", testMergeConsumer},
		{"SSO", testSSO},
		{"SSOSubject", testSSOSubject},
		{"BrowserTrust", testBrowserTrust},
		{"InboxViews", testInboxViews},
		{"Passkeys", testPasskeys},
		{"RedactMessage", testRedactMessage},
		{"RedactNote", testRedactNote},
		{"OpenFromEngagement", testOpenFromEngagement},
		{"ConversationFields", testConversationFields},
		{"ConversationsByField", testConversationsByField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

// recorder is a Bus that remembers what was published.
type recorder struct {
	mu     sync.Mutex
	events []*parley.Event
}

func (r *recorder) Publish(_ context.Context, es []*parley.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, es...)
	return nil
}

func (r *recorder) Subscribe(func(*parley.Event)) func() { return func() {} }

func (r *recorder) snapshot() []*parley.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*parley.Event(nil), r.events...)
}

// fixture is one account with a consumer and an open conversation.
type fixture struct {
	account      *parley.Account
	consumer     *parley.Consumer
	conversation *parley.Conversation
}

func newFixture(t *testing.T, s parley.Store, name string) fixture {
	t.Helper()
	ctx := context.Background()
	a := &parley.Account{Name: name}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	c := &parley.Consumer{AccountID: a.ID, Name: "Visitor of " + name}
	if err := s.CreateConsumer(ctx, c); err != nil {
		t.Fatalf("CreateConsumer: %v", err)
	}
	conv, err := s.OpenConversation(ctx, a.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatalf("OpenConversation: %v", err)
	}
	return fixture{a, c, conv}
}

// another opens one more queued conversation for the fixture's visitor.
func (f fixture) another(t *testing.T, s parley.Store) *parley.Conversation {
	t.Helper()
	c, err := s.OpenConversation(context.Background(), f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func text(f fixture, body, clientID string) *parley.Message {
	return &parley.Message{AccountID: f.account.ID, ConversationID: f.conversation.ID, SenderKind: parley.SenderConsumer,
		SenderID: f.consumer.ID, Type: parley.MessageText, Text: body, ClientID: clientID}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := parley.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testAccountsAndUsers(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := &parley.Account{Name: "Acme", Settings: parley.AccountSettings{AutoAssign: true}}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindAccount(ctx, a.ID)
	if err != nil || got.Name != "Acme" || !got.Settings.AutoAssign {
		t.Fatalf("FindAccount = %+v, %v", got, err)
	}
	_, err = s.FindAccount(ctx, "acc_missing")
	wantCode(t, err, parley.ENOTFOUND)

	sk := &parley.Skill{AccountID: a.ID, Name: "billing"}
	if err := s.CreateSkill(ctx, sk); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateSkill(ctx, &parley.Skill{AccountID: a.ID, Name: "billing"}), parley.ECONFLICT)
	u := &parley.User{AccountID: a.ID, Email: " Ann@Example.com ", Name: "Ann", Role: parley.RoleAgent, Skills: []string{sk.ID}, MaxConcurrent: 3, Active: true, PasswordHash: "h", ExternalID: "00u-okta-1"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateUser(ctx, &parley.User{AccountID: a.ID, Email: "ann@example.com", Role: parley.RoleAgent, Active: true}), parley.ECONFLICT)
	wantCode(t, s.CreateUser(ctx, &parley.User{AccountID: a.ID, Email: "bob@example.com", Role: parley.RoleAgent, Skills: []string{"skl_nope"}}), parley.EINVALID)
	byEmail, err := s.FindUserByEmail(ctx, "ANN@example.com")
	if err != nil || byEmail.ID != u.ID || len(byEmail.Skills) != 1 || byEmail.Skills[0] != sk.ID || byEmail.PasswordHash != "h" || byEmail.ExternalID != "00u-okta-1" {
		t.Fatalf("FindUserByEmail = %+v, %v", byEmail, err)
	}
	// The identity provider's ID changes with the rest of a person.
	if changed, _, err := s.ChangeUser(ctx, a.ID, u.ID, nil, func(u *parley.User) error { u.ExternalID = "entra-2"; return nil }); err != nil || changed.ExternalID != "entra-2" {
		t.Fatalf("ChangeUser external ID: %+v %v", changed, err)
	}
	if got, _ := s.FindUser(ctx, a.ID, u.ID); got.ExternalID != "entra-2" {
		t.Fatalf("external ID after ChangeUser: %q", got.ExternalID)
	}
	u.Name, u.MaxConcurrent = "Ann B", 5
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got2, _ := s.FindUser(ctx, a.ID, u.ID)
	if got2.Name != "Ann B" || got2.MaxConcurrent != 5 {
		t.Fatalf("after UpdateUser: %+v", got2)
	}
	users, err := s.ListUsers(ctx, a.ID)
	if err != nil || len(users) != 1 {
		t.Fatalf("ListUsers = %d, %v", len(users), err)
	}
}

func testTenantIsolation(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	if _, _, err := s.AppendMessage(ctx, text(a, "secret of A", "")); err != nil {
		t.Fatal(err)
	}
	bID := b.account.ID
	_, err := s.FindConversation(ctx, bID, a.conversation.ID)
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.ListMessages(ctx, bID, a.conversation.ID, 0, 10)
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.FindConsumer(ctx, bID, a.consumer.ID)
	wantCode(t, err, parley.ENOTFOUND)
	m := text(a, "injected", "")
	m.AccountID = bID
	_, _, err = s.AppendMessage(ctx, m)
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.CloseConversation(ctx, bID, a.conversation.ID, parley.ConversationClose{Reason: "x"})
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.UpdateReceipt(ctx, bID, parley.Receipt{ConversationID: a.conversation.ID, Side: parley.SideAgent, Kind: parley.ReceiptRead, Seq: 1})
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.OpenConversation(ctx, bID, parley.ConversationOpen{ConsumerID: a.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateQueued})
	wantCode(t, err, parley.ENOTFOUND)
	// Another consumer of the same account cannot write into A's conversation.
	intruder := &parley.Consumer{AccountID: a.account.ID}
	s.CreateConsumer(ctx, intruder)
	im := text(a, "not mine", "")
	im.SenderID = intruder.ID
	_, _, err = s.AppendMessage(ctx, im)
	wantCode(t, err, parley.ENOTFOUND)
	convs, err := s.ListConversations(ctx, bID, parley.ConversationFilter{})
	if err != nil || len(convs) != 1 || convs[0].ID != b.conversation.ID {
		t.Fatalf("B lists %d conversations (%v), want only its own", len(convs), err)
	}
	events, _ := s.ListEvents(ctx, bID, parley.EventFilter{Limit: 1000})
	for _, e := range events {
		if e.AccountID != bID || e.ConversationID == a.conversation.ID {
			t.Fatalf("B sees event of A: %+v", e)
		}
	}
}

func testMessageSeqGapFree(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, _, err := s.AppendMessage(ctx, text(f, fmt.Sprintf("w%d-%d", w, i), fmt.Sprintf("w%d-%d", w, i))); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	msgs, err := s.ListMessages(ctx, f.account.ID, f.conversation.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != writers*each {
		t.Fatalf("stored %d messages, want %d", len(msgs), writers*each)
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: gap or duplicate", i, m.Seq)
		}
	}
	conv, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID)
	if conv.LastSeq != writers*each {
		t.Fatalf("LastSeq = %d", conv.LastSeq)
	}
	after, _ := s.ListMessages(ctx, f.account.ID, f.conversation.ID, 190, 1000)
	if len(after) != 10 || after[0].Seq != 191 {
		t.Fatalf("after seq 190: %d messages starting %d", len(after), after[0].Seq)
	}
}

func testIdempotentClientID(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	first, dup, err := s.AppendMessage(ctx, text(f, "hello", "c-1"))
	if err != nil || dup {
		t.Fatalf("first append: dup=%v err=%v", dup, err)
	}
	before, err := s.FindConversation(ctx, f.account.ID, f.conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	again, dup, err := s.AppendMessage(ctx, text(f, "hello (resent)", "c-1"))
	if err != nil || !dup {
		t.Fatalf("resend: dup=%v err=%v", dup, err)
	}
	if again.ID != first.ID || again.Seq != first.Seq || again.Text != "hello" {
		t.Fatalf("resend answered %+v, want the original %+v", again, first)
	}
	// A resend changes nothing: not the seq, not the activity time.
	after, err := s.FindConversation(ctx, f.account.ID, f.conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.LastSeq != before.LastSeq || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("a resend moved the conversation: last_seq %d → %d, updated_at %v → %v", before.LastSeq, after.LastSeq, before.UpdatedAt, after.UpdatedAt)
	}
	// Concurrent resends of one client id still store one message.
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.AppendMessage(ctx, text(f, "burst", "c-2"))
		}()
	}
	wg.Wait()
	msgs, _ := s.ListMessages(ctx, f.account.ID, f.conversation.ID, 0, 100)
	if len(msgs) != 2 {
		t.Fatalf("stored %d messages, want 2", len(msgs))
	}
	events, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventMessageCreated}})
	if len(events) != 2 {
		t.Fatalf("%d message.created events, want 2", len(events))
	}
	// Another sender's message with a taken client ID is refused and
	// leaves no gap in the seqs.
	agent := &parley.Message{AccountID: f.account.ID, ConversationID: f.conversation.ID, SenderKind: parley.SenderAgent,
		SenderID: "usr_x", Type: parley.MessageText, Text: "same id", ClientID: "c-1"}
	if _, _, err := s.AppendMessage(ctx, agent); parley.ErrorCode(err) != parley.ECONFLICT {
		t.Fatalf("another sender's taken client id: %v, want conflict", err)
	}
	next, _, err := s.AppendMessage(ctx, text(f, "next", "c-3"))
	if err != nil || next.Seq != 3 {
		t.Fatalf("next append after the refused one: %+v %v, want seq 3", next, err)
	}
	// A resend after the conversation closed still gets its original.
	if _, err := s.CloseConversation(ctx, f.account.ID, f.conversation.ID, parley.ConversationClose{Reason: "done", ClosedBy: "system"}); err != nil {
		t.Fatal(err)
	}
	again, dup, err = s.AppendMessage(ctx, text(f, "hello (resent late)", "c-1"))
	if err != nil || !dup || again.ID != first.ID {
		t.Fatalf("resend into a closed conversation: %+v dup=%v err=%v", again, dup, err)
	}
	if _, _, err := s.AppendMessage(ctx, text(f, "new", "c-4")); parley.ErrorCode(err) != parley.ECONFLICT {
		t.Fatalf("new message into a closed conversation: %v, want conflict", err)
	}
}

func testConversationLifecycle(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	u := &parley.User{AccountID: f.account.ID, Email: "agent@a.example", Name: "Agent", Role: parley.RoleAgent, MaxConcurrent: 2, Active: true}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	c, err := s.ClaimConversation(ctx, f.account.ID, f.conversation.ID, u.ID)
	if err != nil || c.State != parley.StateAssigned || c.AssigneeID != u.ID || c.AssignedAt == nil {
		t.Fatalf("assign: %+v %v", c, err)
	}
	_, err = s.ClaimConversation(ctx, f.account.ID, f.conversation.ID, u.ID)
	wantCode(t, err, parley.ECONFLICT)
	c, err = s.CloseConversation(ctx, f.account.ID, f.conversation.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: u.ID})
	if err != nil || c.State != parley.StateClosed || c.ClosedAt == nil || c.CloseReason != "resolved" {
		t.Fatalf("close: %+v %v", c, err)
	}
	_, err = s.CloseConversation(ctx, f.account.ID, f.conversation.ID, parley.ConversationClose{})
	wantCode(t, err, parley.ECONFLICT)
	_, _, err = s.AppendMessage(ctx, text(f, "too late", ""))
	wantCode(t, err, parley.ECONFLICT)
	wantCode(t, s.RateConversation(ctx, f.account.ID, f.conversation.ID, 6, ""), parley.EINVALID)
	if err := s.RateConversation(ctx, f.account.ID, f.conversation.ID, 4, "quick"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RateConversation(ctx, f.account.ID, f.conversation.ID, 5, ""), parley.ECONFLICT)
	open2, _ := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, State: parley.StateQueued})
	wantCode(t, s.RateConversation(ctx, f.account.ID, open2.ID, 5, ""), parley.ECONFLICT)
	got, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID)
	if got.State != parley.StateClosed || got.ClosedBy != u.ID || got.CSATScore != 4 || got.CSATComment != "quick" {
		t.Fatalf("stored conversation: %+v", got)
	}
	wantCode(t, s.RateConversation(ctx, f.account.ID, f.conversation.ID, 4, "another comment"), parley.ECONFLICT) // it has one
	// A score given alone takes a comment afterwards, once, with the same score.
	third, _ := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, State: parley.StateQueued})
	if _, err := s.CloseConversation(ctx, f.account.ID, third.ID, parley.ConversationClose{Reason: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RateConversation(ctx, f.account.ID, third.ID, 2, ""); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RateConversation(ctx, f.account.ID, third.ID, 5, "changed my mind"), parley.ECONFLICT)
	if err := s.RateConversation(ctx, f.account.ID, third.ID, 2, "the wait was long"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RateConversation(ctx, f.account.ID, third.ID, 2, "and again"), parley.ECONFLICT)
	if got, _ := s.FindConversation(ctx, f.account.ID, third.ID); got.CSATScore != 2 || got.CSATComment != "the wait was long" {
		t.Fatalf("rated, then commented: %+v", got)
	}
	_, err = s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, State: parley.StateClosed})
	wantCode(t, err, parley.EINVALID)
}

func testConsumerNames(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A") // its visitor is named "Visitor of A"
	b := newFixture(t, s, "B")
	unnamed := &parley.Consumer{AccountID: a.account.ID}
	if err := s.CreateConsumer(ctx, unnamed); err != nil {
		t.Fatal(err)
	}
	ids := []string{a.consumer.ID, b.consumer.ID, unnamed.ID, "con_unknown"}
	for i := 0; i < 600; i++ { // more than one query's worth of IDs
		ids = append(ids, fmt.Sprintf("con_missing%d", i))
	}
	names, err := s.ConsumerNames(ctx, a.account.ID, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || names[a.consumer.ID] != "Visitor of A" {
		t.Fatalf("names in account A: %v (want only A's named visitor; B's is another account's)", names)
	}
	if names, err := s.ConsumerNames(ctx, a.account.ID, nil); err != nil || len(names) != 0 {
		t.Fatalf("no IDs: %v %v", names, err)
	}
}

func testLastMessages(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	joined := &parley.Message{AccountID: a.account.ID, ConversationID: a.conversation.ID, SenderKind: parley.SenderSystem, ClientID: "joined",
		Type: parley.MessageText, Text: "Ann joined the conversation"}
	for _, m := range []*parley.Message{text(a, "first", ""), text(a, "second", ""), joined, text(b, "B's", "")} {
		if _, _, err := s.AppendMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	onlySystem := a.another(t, s)
	if _, _, err := s.AppendMessage(ctx, &parley.Message{AccountID: a.account.ID, ConversationID: onlySystem.ID, SenderKind: parley.SenderSystem,
		ClientID: "notice", Type: parley.MessageText, Text: "You're in line"}); err != nil {
		t.Fatal(err)
	}
	empty := a.another(t, s)
	last, err := s.LastMessages(ctx, a.account.ID, []string{a.conversation.ID, b.conversation.ID, empty.ID, onlySystem.ID, "conv_unknown"})
	if err != nil {
		t.Fatal(err)
	}
	if len(last) != 1 || last[a.conversation.ID] == nil || last[a.conversation.ID].Text != "second" || last[a.conversation.ID].Seq != 2 {
		t.Fatalf("last messages in account A: %+v (want only A's conversation, its second message: not the system line after it)", last)
	}
}

func testUnansweredByBot(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	withBot := func(f fixture) *parley.Conversation {
		c, err := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	say := func(f fixture, c *parley.Conversation, kind parley.SenderKind, body string) {
		m := &parley.Message{AccountID: f.account.ID, ConversationID: c.ID, SenderKind: kind, Type: parley.MessageText, Text: body}
		if kind == parley.SenderConsumer {
			m.SenderID = f.consumer.ID
		}
		if _, _, err := s.AppendMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	owed, answered, silent := withBot(a), withBot(a), withBot(a)
	say(a, owed, parley.SenderBot, "Hi!")
	say(a, owed, parley.SenderConsumer, "where is my parcel?")
	say(a, answered, parley.SenderConsumer, "hello")
	say(a, answered, parley.SenderBot, "Hello!")
	_ = silent                                          // no message at all
	say(a, a.conversation, parley.SenderConsumer, "hi") // queued for people, not the bot
	say(other, withBot(other), parley.SenderConsumer, "B's question")
	got, err := s.UnansweredByBot(ctx, a.account.ID, time.Now().Add(time.Minute), "", 10)
	if err != nil || len(got) != 1 || got[0].ConversationID != owed.ID || got[0].Text != "where is my parcel?" {
		t.Fatalf("owed answers = %+v, %v; want only %s's question", got, err, owed.ID)
	}
	if got, _ := s.UnansweredByBot(ctx, a.account.ID, time.Now().Add(-time.Minute), "", 10); len(got) != 0 {
		t.Fatalf("questions stored after the time given were listed: %d", len(got))
	}
	if got, _ := s.UnansweredByBot(ctx, a.account.ID, time.Now().Add(time.Minute), owed.ID, 10); len(got) != 0 {
		t.Fatalf("paging after the last one listed %d", len(got))
	}
}

func testEventsGapFree(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	for i := 0; i < 5; i++ {
		s.AppendMessage(ctx, text(a, "a", ""))
		s.AppendMessage(ctx, text(b, "b", ""))
	}
	for _, f := range []fixture{a, b} {
		events, err := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		// consumer.created, conversation.opened, 5 × message.created
		if len(events) != 7 {
			t.Fatalf("%d events, want 7", len(events))
		}
		for i, e := range events {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
		}
		page, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{After: 3, Limit: 2})
		if len(page) != 2 || page[0].Seq != 4 || page[1].Seq != 5 {
			t.Fatalf("page after 3: %+v", page)
		}
		latest, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventMessageCreated}, Limit: 2, Newest: true})
		if len(latest) != 2 || latest[0].Seq != 7 || latest[1].Seq != 6 || latest[0].AccountID != f.account.ID {
			t.Fatalf("the newest two message.created: %+v", latest)
		}
		opened, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventConversationOpened}})
		if len(opened) != 1 || opened[0].ConversationID != f.conversation.ID {
			t.Fatalf("conversation.opened events: %+v", opened)
		}
	}
}

func testBusOrder(t *testing.T, open Opener) {
	ctx := context.Background()
	rec := &recorder{}
	s := open(t, rec)
	f := newFixture(t, s, "A")
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				s.AppendMessage(ctx, text(f, "x", ""))
			}
		}()
	}
	wg.Wait()
	stored, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Limit: 1000})
	published := rec.snapshot()
	if len(published) != len(stored) {
		t.Fatalf("published %d events, stored %d", len(published), len(stored))
	}
	for i := range stored {
		if published[i].Seq != stored[i].Seq || published[i].Type != stored[i].Type {
			t.Fatalf("event %d published as seq %d %s, stored as %d %s", i, published[i].Seq, published[i].Type, stored[i].Seq, stored[i].Type)
		}
	}
}

func testReceipts(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	for i := 0; i < 3; i++ {
		s.AppendMessage(ctx, text(f, "m", ""))
	}
	r := parley.Receipt{ConversationID: f.conversation.ID, Side: parley.SideAgent, Kind: parley.ReceiptRead, Seq: 2}
	changed, err := s.UpdateReceipt(ctx, f.account.ID, r)
	if err != nil || !changed {
		t.Fatalf("raise to 2: %v %v", changed, err)
	}
	r.Seq = 1
	if changed, _ := s.UpdateReceipt(ctx, f.account.ID, r); changed {
		t.Fatal("lowering a receipt changed it")
	}
	r.Seq = 9
	_, err = s.UpdateReceipt(ctx, f.account.ID, r)
	wantCode(t, err, parley.EINVALID)
	// A visitor's receipt counts in their own conversation only.
	mine := parley.Receipt{ConversationID: f.conversation.ID, Side: parley.SideConsumer, Kind: parley.ReceiptDelivered, Seq: 3, ConsumerID: f.consumer.ID}
	notMine := mine
	notMine.ConsumerID = "con_someone_else"
	_, err = s.UpdateReceipt(ctx, f.account.ID, notMine)
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.UpdateReceipt(ctx, "acc_other", mine)
	wantCode(t, err, parley.ENOTFOUND)
	missing := mine
	missing.ConversationID = "conv_missing"
	_, err = s.UpdateReceipt(ctx, f.account.ID, missing)
	wantCode(t, err, parley.ENOTFOUND)
	if changed, err := s.UpdateReceipt(ctx, f.account.ID, mine); err != nil || !changed {
		t.Fatalf("the visitor's own receipt: %v %v", changed, err)
	}
	if changed, err := s.UpdateReceipt(ctx, f.account.ID, mine); err != nil || changed {
		t.Fatalf("the same receipt again: changed=%v %v, want unchanged", changed, err)
	}
	c, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID)
	if c.AgentReadSeq != 2 || c.ConsumerReadSeq != 0 || c.ConsumerDeliveredSeq != 3 {
		t.Fatalf("receipts stored: %+v", c)
	}
	events, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventReceiptUpdated}})
	if len(events) != 2 {
		t.Fatalf("%d receipt events, want 2 (one per change)", len(events))
	}
	// An append after a receipt (the writer may keep what it knows of the
	// conversation) still gets the next seq.
	m, _, err := s.AppendMessage(ctx, text(f, "after the receipts", ""))
	if err != nil || m.Seq != 4 {
		t.Fatalf("append after receipts: %+v %v", m, err)
	}
}

func testListConversations(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	ids := []string{f.conversation.ID}
	for i := 0; i < 6; i++ {
		c, err := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateQueued})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	var seen []string
	after := ""
	for {
		page, err := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			seen = append(seen, c.ID)
		}
		after = page[len(page)-1].ID
	}
	if len(seen) != len(ids) {
		t.Fatalf("paged through %d conversations, want %d", len(seen), len(ids))
	}
	for i := range seen {
		if seen[i] != ids[len(ids)-1-i] {
			t.Fatalf("page order: got %v, want newest first of %v", seen, ids)
		}
	}
	// Search by visitor or by what was said, never across accounts.
	s.AppendMessage(ctx, &parley.Message{AccountID: f.account.ID, ConversationID: ids[3], SenderKind: parley.SenderConsumer, SenderID: f.consumer.ID, Type: parley.MessageText, Text: "My order 50%_off arrived broken"})
	found, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{Query: "50%_OFF"})
	if len(found) != 1 || found[0].ID != ids[3] {
		t.Fatalf("search by text: %+v", found)
	}
	byName, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{Query: "visitor of a"})
	if len(byName) != len(ids) {
		t.Fatalf("search by visitor name found %d, want %d", len(byName), len(ids))
	}
	if none, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{Query: "%x%"}); len(none) != 0 { // wildcards are literal
		t.Fatalf("wildcards in the query matched %d conversations", len(none))
	}
	other := newFixture(t, s, "B")
	if leak, _ := s.ListConversations(ctx, other.account.ID, parley.ConversationFilter{Query: "broken"}); len(leak) != 0 {
		t.Fatal("search crossed accounts")
	}
	s.CloseConversation(ctx, f.account.ID, ids[0], parley.ConversationClose{Reason: "done"})
	closed, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{State: parley.StateClosed})
	if len(closed) != 1 || closed[0].ID != ids[0] {
		t.Fatalf("state filter: %+v", closed)
	}
}

func testCredentials(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	u := &parley.User{AccountID: f.account.ID, Email: "adm@a.example", Role: parley.RoleAdmin, Active: true}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	sess := &parley.Session{TokenHash: []byte("hash-1"), AccountID: f.account.ID, UserID: u.ID, CSRFToken: "csrf", ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindSession(ctx, []byte("hash-1"))
	if err != nil || got.UserID != u.ID || got.CSRFToken != "csrf" || got.SSO || got.IDToken != "" {
		t.Fatalf("FindSession: %+v %v", got, err)
	}
	// A session begun by a single sign-on says so, and keeps the
	// provider's ID token for signing out there.
	if err := s.CreateSession(ctx, &parley.Session{TokenHash: []byte("hash-2"), AccountID: f.account.ID, UserID: u.ID, CSRFToken: "c2", ExpiresAt: time.Now().Add(time.Hour), SSO: true, IDToken: "v1:sealed-id-token"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindSession(ctx, []byte("hash-2")); err != nil || !got.SSO || got.IDToken != "v1:sealed-id-token" {
		t.Fatalf("FindSession of a single sign-on's session: %+v %v", got, err)
	}
	// Deactivating a user ends their sessions.
	u.Active = false
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindSession(ctx, []byte("hash-1"))
	wantCode(t, err, parley.ENOTFOUND)

	k := &parley.APIKey{AccountID: f.account.ID, Name: "crm", Role: parley.RoleAdmin, SecretHash: []byte("secret-hash")}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	gotK, err := s.FindAPIKey(ctx, k.ID)
	if err != nil || string(gotK.SecretHash) != "secret-hash" || gotK.AccountID != f.account.ID {
		t.Fatalf("FindAPIKey: %+v %v", gotK, err)
	}
	other := newFixture(t, s, "B")
	wantCode(t, s.RevokeAPIKey(ctx, other.account.ID, k.ID), parley.ENOTFOUND)
	if err := s.RevokeAPIKey(ctx, f.account.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindAPIKey(ctx, k.ID)
	wantCode(t, err, parley.ENOTFOUND)
}

func testFailedWrite(t *testing.T, open Opener) {
	ctx := context.Background()
	rec := &recorder{}
	s := open(t, rec)
	f := newFixture(t, s, "A")
	before, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Limit: 1000})
	published := len(rec.snapshot())
	// Concurrent good and bad writes share batches; the bad ones leave no trace.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.AppendMessage(ctx, &parley.Message{AccountID: f.account.ID, ConversationID: "conv_missing", SenderKind: parley.SenderConsumer, Type: parley.MessageText, Text: "x"})
		}()
		go func() {
			defer wg.Done()
			s.AppendMessage(ctx, text(f, "ok", ""))
		}()
	}
	wg.Wait()
	after, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Limit: 1000})
	if len(after)-len(before) != 20 {
		t.Fatalf("%d new events, want 20 (one per good write)", len(after)-len(before))
	}
	if got := len(rec.snapshot()) - published; got != 20 {
		t.Fatalf("%d events published, want 20", got)
	}
	msgs, _ := s.ListMessages(ctx, f.account.ID, f.conversation.ID, 0, 100)
	for i, m := range msgs {
		if m.Seq != int64(i+1) {
			t.Fatalf("gap after failed writes: %d at %d", m.Seq, i)
		}
	}
}

// testAppendChecksEveryTime: a store may remember what it learnt about a
// conversation from the last append (the SQLite writer does), but every
// append still answers as if it looked again: other visitors, other
// accounts and closed conversations are refused, and writes in between
// are seen.
func testAppendChecksEveryTime(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	intruder := &parley.Consumer{AccountID: f.account.ID, Name: "Another visitor of A"}
	if err := s.CreateConsumer(ctx, intruder); err != nil {
		t.Fatal(err)
	}
	agent := func(body string) *parley.Message {
		return &parley.Message{AccountID: f.account.ID, ConversationID: f.conversation.ID, SenderKind: parley.SenderAgent,
			SenderID: "usr_a", Type: parley.MessageText, Text: body}
	}
	// Closed right after an append: the next one is refused.
	brief, _ := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, State: parley.StateQueued})
	inBrief := text(f, "hi", "")
	inBrief.ConversationID = brief.ID
	if _, _, err := s.AppendMessage(ctx, inBrief); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseConversation(ctx, f.account.ID, brief.ID, parley.ConversationClose{Reason: "done", ClosedBy: "system"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.AppendMessage(ctx, inBrief)
	wantCode(t, err, parley.ECONFLICT)

	if _, _, err := s.AppendMessage(ctx, text(f, "one", "")); err != nil {
		t.Fatal(err)
	}
	second, _, err := s.AppendMessage(ctx, agent("two"))
	if err != nil || second.Seq != 2 {
		t.Fatalf("second append: %+v %v", second, err)
	}
	wrongVisitor := text(f, "not mine", "")
	wrongVisitor.SenderID = intruder.ID
	_, _, err = s.AppendMessage(ctx, wrongVisitor)
	wantCode(t, err, parley.ENOTFOUND)
	wrongAccount := text(f, "not ours", "")
	wrongAccount.AccountID = other.account.ID
	_, _, err = s.AppendMessage(ctx, wrongAccount)
	wantCode(t, err, parley.ENOTFOUND)
	c, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID)
	if c.LastSeq != 2 || !c.UpdatedAt.Equal(second.CreatedAt) {
		t.Fatalf("after two appends and two refused: last seq %d, updated %v; want 2, %v", c.LastSeq, c.UpdatedAt, second.CreatedAt)
	}
	if _, err := s.UpdateReceipt(ctx, f.account.ID, parley.Receipt{ConversationID: f.conversation.ID, Side: parley.SideAgent, Kind: parley.ReceiptRead, Seq: 2}); err != nil {
		t.Fatal(err)
	}
	// Good appends and refused ones (another visitor's) share batches.
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, _, err := s.AppendMessage(ctx, agent("burst")); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			m := text(f, "intruding", "")
			m.SenderID = intruder.ID
			if _, _, err := s.AppendMessage(ctx, m); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("another visitor's append: %v, want not_found", err)
			}
		}()
	}
	wg.Wait()
	msgs, _ := s.ListMessages(ctx, f.account.ID, f.conversation.ID, 0, 100)
	if len(msgs) != 32 {
		t.Fatalf("stored %d messages, want 32", len(msgs))
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) || m.Text == "intruding" {
			t.Fatalf("message %d: seq %d %q", i, m.Seq, m.Text)
		}
	}
	if c, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID); c.LastSeq != 32 {
		t.Fatalf("last seq %d, want 32", c.LastSeq)
	}
	if _, err := s.CloseConversation(ctx, f.account.ID, f.conversation.ID, parley.ConversationClose{Reason: "done", ClosedBy: "system"}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.AppendMessage(ctx, agent("after close"))
	wantCode(t, err, parley.ECONFLICT)
}

func testAccountSettingsAndEvents(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	a := f.account
	a.Name = "Acme Outdoor"
	a.Settings.Widget = parley.WidgetSettings{Color: "#112233", Position: "left", AllowedOrigins: []string{"https://acme.example"}}
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindAccount(ctx, a.ID)
	if got.Name != "Acme Outdoor" || got.Settings.Widget.Color != "#112233" || len(got.Settings.Widget.AllowedOrigins) != 1 {
		t.Fatalf("after UpdateAccount: %+v", got)
	}
	wantCode(t, s.UpdateAccount(ctx, &parley.Account{ID: "acc_missing", Name: "x"}), parley.ENOTFOUND)

	e := &parley.Event{AccountID: a.ID, Type: parley.EventWidgetLoaded, Data: []byte(`{"url":"https://acme.example/boots"}`)}
	if err := s.AppendEvent(ctx, e); err != nil {
		t.Fatal(err)
	}
	if e.Seq == 0 || e.CreatedAt.IsZero() {
		t.Fatalf("AppendEvent did not set seq and time: %+v", e)
	}
	events, _ := s.ListEvents(ctx, a.ID, parley.EventFilter{Types: []string{parley.EventWidgetLoaded}})
	if len(events) != 1 || string(events[0].Data) != `{"url":"https://acme.example/boots"}` || events[0].Seq != e.Seq {
		t.Fatalf("stored widget event: %+v", events)
	}
	wantCode(t, s.AppendEvent(ctx, &parley.Event{AccountID: "acc_missing", Type: parley.EventWidgetLoaded}), parley.ENOTFOUND)

	// Consumers' profiles change; another account cannot change them.
	c := f.consumer
	c.Name, c.Email, c.Attributes = "Robin", "robin@example.com", map[string]string{"plan": "gold"}
	if err := s.UpdateConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	gotC, _ := s.FindConsumer(ctx, a.ID, c.ID)
	if gotC.Name != "Robin" || gotC.Email != "robin@example.com" || gotC.Attributes["plan"] != "gold" {
		t.Fatalf("after UpdateConsumer: %+v", gotC)
	}
	forged := *c
	forged.AccountID = "acc_other"
	wantCode(t, s.UpdateConsumer(ctx, &forged), parley.ENOTFOUND)

	// Identity keys: stored apart from the settings, never in events.
	_, err := s.FindIdentityKey(ctx, a.ID)
	wantCode(t, err, parley.ENOTFOUND)
	if err := s.SetIdentityKey(ctx, a.ID, parley.IdentityKey{Alg: "HS256", Key: "a-very-secret-shared-key-of-32-bytes"}); err != nil {
		t.Fatal(err)
	}
	k, err := s.FindIdentityKey(ctx, a.ID)
	if err != nil || k.Alg != "HS256" || k.Key != "a-very-secret-shared-key-of-32-bytes" {
		t.Fatalf("FindIdentityKey: %+v %v", k, err)
	}
	all, _ := s.ListEvents(ctx, a.ID, parley.EventFilter{Limit: 1000})
	for _, e := range all {
		if strings.Contains(string(e.Data), "a-very-secret") {
			t.Fatalf("event %s carries the identity key", e.Type)
		}
	}
	other := newFixture(t, s, "B")
	_, err = s.FindIdentityKey(ctx, other.account.ID)
	wantCode(t, err, parley.ENOTFOUND)
	if err := s.SetIdentityKey(ctx, a.ID, parley.IdentityKey{}); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindIdentityKey(ctx, a.ID)
	wantCode(t, err, parley.ENOTFOUND)
	wantCode(t, s.AppendEvent(ctx, &parley.Event{AccountID: a.ID, Type: parley.EventWidgetLoaded, Data: []byte("{not json")}), parley.EINVALID)
}

func testAttachments(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	png := []byte("\x89PNG\r\n\x1a\nfake image bytes")
	a := &parley.Attachment{AccountID: f.account.ID, ConversationID: f.conversation.ID, UploaderID: f.consumer.ID, Name: "shoe.png", ContentType: "image/png"}
	if err := s.SaveAttachment(ctx, a, png); err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.Size != int64(len(png)) || len(a.SHA256) != 64 {
		t.Fatalf("saved: %+v", a)
	}
	got, r, err := s.OpenAttachment(ctx, f.account.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r)
	r.Close()
	if string(body) != string(png) || got.Name != "shoe.png" || got.ContentType != "image/png" || got.ConversationID != f.conversation.ID {
		t.Fatalf("opened: %+v %q", got, body)
	}
	_, _, err = s.OpenAttachment(ctx, other.account.ID, a.ID)
	wantCode(t, err, parley.ENOTFOUND)
	bad := &parley.Attachment{AccountID: other.account.ID, ConversationID: f.conversation.ID, Name: "x.png", ContentType: "image/png"}
	wantCode(t, s.SaveAttachment(ctx, bad, png), parley.ENOTFOUND)
	// A message refers to it, and carries its description.
	m, _, err := s.AppendMessage(ctx, &parley.Message{AccountID: f.account.ID, ConversationID: f.conversation.ID, SenderKind: parley.SenderConsumer,
		SenderID: f.consumer.ID, Type: parley.MessageFile, Text: "this one", Attachment: a})
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := s.ListMessages(ctx, f.account.ID, f.conversation.ID, m.Seq-1, 1)
	if len(msgs) != 1 || msgs[0].Attachment == nil || msgs[0].Attachment.ID != a.ID {
		t.Fatalf("file message: %+v", msgs)
	}
}

func testClaims(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	var agents []*parley.User
	for i := 0; i < 8; i++ {
		u := &parley.User{AccountID: f.account.ID, Email: fmt.Sprintf("agent%d@a.example", i), Role: parley.RoleAgent, MaxConcurrent: 2, Active: true}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		agents = append(agents, u)
	}
	var convs []string
	for i := 0; i < 30; i++ {
		c := f.another(t, s)
		convs = append(convs, c.ID)
	}
	// Every agent tries to claim every conversation at once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := map[string][]string{}
	for _, a := range agents {
		for _, id := range convs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.ClaimConversation(ctx, f.account.ID, id, a.ID); err == nil {
					mu.Lock()
					wins[id] = append(wins[id], a.ID)
					mu.Unlock()
				} else if parley.ErrorCode(err) != parley.ECONFLICT {
					t.Errorf("claim: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	load := map[string]int{}
	for id, who := range wins {
		if len(who) != 1 {
			t.Fatalf("conversation %s claimed by %d agents", id, len(who))
		}
		load[who[0]]++
	}
	for a, n := range load {
		if n > 2 {
			t.Fatalf("agent %s holds %d conversations; capacity is 2", a, n)
		}
	}
	if len(wins) != 16 { // 8 agents × capacity 2
		t.Fatalf("%d conversations assigned, want 16", len(wins))
	}
	stored, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{State: parley.StateAssigned, Limit: 200})
	if len(stored) != 16 {
		t.Fatalf("store says %d assigned", len(stored))
	}
	// A transfer moves an assigned conversation straight to another agent
	// with room, only from its current agent.
	var free *parley.User
	for _, ag := range agents {
		if load[ag.ID] < 2 {
			free = ag
			break
		}
	}
	if free == nil {
		extra := &parley.User{AccountID: f.account.ID, Email: "extra@a.example", Role: parley.RoleAgent, MaxConcurrent: 2, Active: true}
		s.CreateUser(ctx, extra)
		free = extra
	}
	held := stored[0]
	_, err := s.ReassignConversation(ctx, f.account.ID, held.ID, "usr_not_the_holder", free.ID)
	wantCode(t, err, parley.ECONFLICT)
	moved, err := s.ReassignConversation(ctx, f.account.ID, held.ID, held.AssigneeID, free.ID)
	if err != nil || moved.AssigneeID != free.ID {
		t.Fatalf("reassign: %+v %v", moved, err)
	}
	full := agents[0]
	for _, ag := range agents {
		if load[ag.ID] == 2 && ag.ID != held.AssigneeID {
			full = ag
		}
	}
	if load[full.ID] == 2 {
		_, err = s.ReassignConversation(ctx, f.account.ID, held.ID, free.ID, full.ID)
		wantCode(t, err, parley.ECONFLICT)
	}

	// Claiming what is not queued, or for an unknown user, is refused.
	_, err = s.ClaimConversation(ctx, f.account.ID, stored[0].ID, agents[0].ID)
	wantCode(t, err, parley.ECONFLICT)
	_, err = s.ClaimConversation(ctx, f.account.ID, convs[len(convs)-1], "usr_missing")
	if parley.ErrorCode(err) != parley.ENOTFOUND && parley.ErrorCode(err) != parley.ECONFLICT {
		t.Fatalf("unknown user: %v", err)
	}
}

func testRequeue(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	u := &parley.User{AccountID: f.account.ID, Email: "agent@a.example", Role: parley.RoleAgent, MaxConcurrent: 3, Active: true}
	s.CreateUser(ctx, u)
	sk := &parley.Skill{AccountID: f.account.ID, Name: "billing"}
	s.CreateSkill(ctx, sk)
	first := f.conversation
	if first.QueuedAt == nil {
		t.Fatal("a queued conversation has no queued_at")
	}
	later := f.another(t, s)
	if _, err := s.ClaimConversation(ctx, f.account.ID, first.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.RequeueConversation(ctx, f.account.ID, first.ID, parley.Requeue{ExpectAssignee: "usr_other", Reason: "transfer"})
	wantCode(t, err, parley.ECONFLICT)
	c, err := s.RequeueConversation(ctx, f.account.ID, first.ID, parley.Requeue{ExpectAssignee: u.ID, Skill: sk.ID, ChangeSkill: true, Reason: "transfer"})
	if err != nil || c.State != parley.StateQueued || c.AssigneeID != "" || c.Skill != sk.ID {
		t.Fatalf("requeue: %+v %v", c, err)
	}
	// It keeps its first-queued time: it comes before the later arrival.
	got, _ := s.FindConversation(ctx, f.account.ID, first.ID)
	if !got.QueuedAt.Before(*later.QueuedAt) && !got.QueuedAt.Equal(*later.QueuedAt) {
		t.Fatalf("requeued at %v, after the later arrival %v", got.QueuedAt, later.QueuedAt)
	}
	events, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventConversationRequeued}})
	if len(events) != 1 || !strings.Contains(string(events[0].Data), `"requeue_reason":"transfer"`) {
		t.Fatalf("requeued events: %+v", events)
	}
}

// testNoteClientIDs: a retried note (the same client ID from the same
// author in the same conversation) is the first one, with no second
// note.created; another author's use of it is refused and changes
// nothing; the same client ID in another conversation is a note of its own.
func testNoteClientIDs(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	first := &parley.Note{AccountID: f.account.ID, ConversationID: f.conversation.ID, AuthorID: "usr_x", AuthorName: "Ann", Text: "refund approved", ClientID: "mac_1:2"}
	if dup, err := s.AddNote(ctx, first); err != nil || dup {
		t.Fatalf("first note: duplicate %v, %v", dup, err)
	}
	again := &parley.Note{AccountID: f.account.ID, ConversationID: f.conversation.ID, AuthorID: "usr_x", AuthorName: "Ann", Text: "refund approved", ClientID: "mac_1:2"}
	if dup, err := s.AddNote(ctx, again); err != nil || !dup || again.ID != first.ID || !again.CreatedAt.Equal(first.CreatedAt) || again.ClientID != "mac_1:2" {
		t.Fatalf("retried note: duplicate %v, %v, %+v; want the first, %+v", dup, err, again, first)
	}
	_, err := s.AddNote(ctx, &parley.Note{AccountID: f.account.ID, ConversationID: f.conversation.ID, AuthorID: "usr_bo", AuthorName: "Bo", Text: "mine", ClientID: "mac_1:2"})
	wantCode(t, err, parley.ECONFLICT)
	second := f.another(t, s)
	elsewhere := &parley.Note{AccountID: f.account.ID, ConversationID: second.ID, AuthorID: "usr_x", AuthorName: "Ann", Text: "refund approved", ClientID: "mac_1:2"}
	if dup, err := s.AddNote(ctx, elsewhere); err != nil || dup || elsewhere.ID == first.ID {
		t.Fatalf("the same client ID in another conversation: duplicate %v, %v", dup, err)
	}
	if notes, _ := s.ListNotes(ctx, f.account.ID, f.conversation.ID); len(notes) != 1 || notes[0].ClientID != "mac_1:2" {
		t.Fatalf("notes: %+v", notes)
	}
	if evs, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventNoteCreated}, Limit: 10}); len(evs) != 2 {
		t.Fatalf("note.created events: %d, want 2 (one per conversation)", len(evs))
	}
}

func testNotes(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	n := &parley.Note{AccountID: f.account.ID, ConversationID: f.conversation.ID, AuthorID: "usr_x", AuthorName: "Ann", Text: "VIP customer"}
	if _, err := s.AddNote(ctx, n); err != nil {
		t.Fatal(err)
	}
	_, err := s.AddNote(ctx, &parley.Note{AccountID: other.account.ID, ConversationID: f.conversation.ID, Text: "x"})
	wantCode(t, err, parley.ENOTFOUND)
	notes, _ := s.ListNotes(ctx, f.account.ID, f.conversation.ID)
	if len(notes) != 1 || notes[0].Text != "VIP customer" {
		t.Fatalf("notes: %+v", notes)
	}
	if notes, _ := s.ListNotes(ctx, other.account.ID, f.conversation.ID); len(notes) != 0 {
		t.Fatal("B lists A's notes")
	}
	// A note that mentions colleagues: read back with them, and each
	// finds the conversation in their mentions; nobody else does, nor
	// another account; erasing the conversation's content takes them out.
	mention := &parley.Note{AccountID: f.account.ID, ConversationID: f.conversation.ID, AuthorID: "usr_x", AuthorName: "Ann",
		Text: "@Bo can you check the refund?", Mentions: []string{"usr_bo", "usr_cy"}}
	if _, err := s.AddNote(ctx, mention); err != nil {
		t.Fatal(err)
	}
	if notes, _ := s.ListNotes(ctx, f.account.ID, f.conversation.ID); len(notes) != 2 || !slices.Equal(notes[1].Mentions, []string{"usr_bo", "usr_cy"}) || notes[0].Mentions != nil {
		t.Fatalf("notes with mentions: %+v", notes)
	}
	mentioned := func(accountID, user string) int {
		t.Helper()
		list, err := s.ListConversations(ctx, accountID, parley.ConversationFilter{MentionedUserID: user})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	if mentioned(f.account.ID, "usr_bo") != 1 || mentioned(f.account.ID, "usr_cy") != 1 || mentioned(f.account.ID, "usr_x") != 0 || mentioned(other.account.ID, "usr_bo") != 0 {
		t.Fatal("the mentions lists are wrong")
	}
	if evs, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventNoteCreated}, Limit: 10}); len(evs) != 2 ||
		!strings.Contains(string(evs[1].Data), `"mentions":["usr_bo","usr_cy"]`) {
		t.Fatalf("note.created events: %+v", evs)
	}
	second := f.another(t, s)
	if _, err := s.AddNote(ctx, &parley.Note{AccountID: f.account.ID, ConversationID: second.ID, AuthorID: "usr_x", Text: "and this", Mentions: []string{"usr_bo"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseConversation(ctx, f.account.ID, second.ID, parley.ConversationClose{Reason: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseConversations(ctx, f.account.ID, []string{second.ID}); err != nil {
		t.Fatal(err)
	}
	if mentioned(f.account.ID, "usr_bo") != 1 {
		t.Fatal("an erased conversation is still in the mentions")
	}
	// Notes take no message seq.
	m, _, _ := s.AppendMessage(ctx, text(f, "hi", ""))
	if m.Seq != 1 {
		t.Fatalf("a note took a message seq: first message has seq %d", m.Seq)
	}
	c := &parley.CannedResponse{AccountID: f.account.ID, Shortcut: "hours", Text: "We are open 9-17."}
	if err := s.CreateCannedResponse(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateCannedResponse(ctx, &parley.CannedResponse{AccountID: f.account.ID, Shortcut: "hours", Text: "x"}), parley.ECONFLICT)
	if err := s.CreateCannedResponse(ctx, &parley.CannedResponse{AccountID: other.account.ID, Shortcut: "hours", Text: "B's"}); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ListCannedResponses(ctx, f.account.ID)
	if len(list) != 1 || list[0].Text != "We are open 9-17." {
		t.Fatalf("canned: %+v", list)
	}
	// Edited: the text and the shortcut; another's shortcut is taken, and
	// another account's response is not found.
	if err := s.UpdateCannedResponse(ctx, &parley.CannedResponse{ID: c.ID, AccountID: f.account.ID, Shortcut: "opening", Text: "We are open 8-18."}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListCannedResponses(ctx, f.account.ID); len(list) != 1 || list[0].Shortcut != "opening" || list[0].Text != "We are open 8-18." {
		t.Fatalf("edited canned: %+v", list)
	}
	taken := &parley.CannedResponse{AccountID: f.account.ID, Shortcut: "refund", Text: "Refunds take 5 days."}
	if err := s.CreateCannedResponse(ctx, taken); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UpdateCannedResponse(ctx, &parley.CannedResponse{ID: c.ID, AccountID: f.account.ID, Shortcut: "refund", Text: "x"}), parley.ECONFLICT)
	wantCode(t, s.UpdateCannedResponse(ctx, &parley.CannedResponse{ID: c.ID, AccountID: other.account.ID, Shortcut: "mine", Text: "x"}), parley.ENOTFOUND)
	wantCode(t, s.DeleteCannedResponse(ctx, other.account.ID, c.ID), parley.ENOTFOUND)
	if err := s.DeleteCannedResponse(ctx, f.account.ID, c.ID); err != nil {
		t.Fatal(err)
	}
}

func testBots(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	if _, err := s.FindBot(ctx, a.account.ID); err == nil {
		t.Fatal("an account without a bot has one")
	} else {
		wantCode(t, err, parley.ENOTFOUND)
	}
	r1, err := s.PutBot(ctx, a.account.ID, json.RawMessage(`{"enabled":true}`), 0)
	if err != nil || r1.Version != 1 {
		t.Fatalf("first save: %+v %v", r1, err)
	}
	// A save based on a stale version is refused and changes nothing.
	_, err = s.PutBot(ctx, a.account.ID, json.RawMessage(`{"enabled":false}`), 7)
	wantCode(t, err, parley.ECONFLICT)
	r2, err := s.PutBot(ctx, a.account.ID, json.RawMessage(`{"enabled":false}`), 1)
	if err != nil || r2.Version != 2 {
		t.Fatalf("second save: %+v %v", r2, err)
	}
	got, err := s.FindBot(ctx, a.account.ID)
	if err != nil || string(got.Config) != `{"enabled":false}` || got.Version != 2 {
		t.Fatalf("found %+v %v", got, err)
	}
	if _, err := s.FindBot(ctx, b.account.ID); err == nil {
		t.Fatal("account B sees account A's bot")
	}
	events, _ := s.ListEvents(ctx, a.account.ID, parley.EventFilter{Types: []string{parley.EventBotUpdated}})
	if len(events) != 2 {
		t.Fatalf("bot.updated events: %d", len(events))
	}

	if st, err := s.FindBotSession(ctx, a.account.ID, a.conversation.ID); err != nil || st != nil {
		t.Fatalf("no session yet: %s %v", st, err)
	}
	if err := s.SaveBotSession(ctx, a.account.ID, a.conversation.ID, json.RawMessage(`{"misses":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveBotSession(ctx, a.account.ID, a.conversation.ID, json.RawMessage(`{"misses":2}`)); err != nil {
		t.Fatal(err)
	}
	if st, err := s.FindBotSession(ctx, a.account.ID, a.conversation.ID); err != nil || string(st) != `{"misses":2}` {
		t.Fatalf("session: %s %v", st, err)
	}
	// Another account can neither write nor read it.
	wantCode(t, s.SaveBotSession(ctx, b.account.ID, a.conversation.ID, json.RawMessage(`{}`)), parley.ENOTFOUND)
	// An agent may take a conversation over from the bot.
	u := &parley.User{AccountID: a.account.ID, Email: "agent@a.example", Role: parley.RoleAgent, MaxConcurrent: 2, Active: true}
	s.CreateUser(ctx, u)
	withBot, err := s.OpenConversation(ctx, a.account.ID, parley.ConversationOpen{ConsumerID: a.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
	if err != nil || withBot.State != parley.StateBot || withBot.QueuedAt != nil {
		t.Fatalf("bot conversation: %+v %v", withBot, err)
	}
	if c, err := s.ClaimConversation(ctx, a.account.ID, withBot.ID, u.ID); err != nil || c.State != parley.StateAssigned {
		t.Fatalf("take over from the bot: %+v %v", c, err)
	}
	if st, _ := s.FindBotSession(ctx, b.account.ID, a.conversation.ID); st != nil {
		t.Fatalf("account B reads A's session: %s", st)
	}
}

func testBotTurn(t *testing.T, open Opener) {
	ctx := context.Background()
	rec := &recorder{}
	s := open(t, rec)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	skill := &parley.Skill{AccountID: f.account.ID, Name: "general"}
	if err := s.CreateSkill(ctx, skill); err != nil {
		t.Fatal(err)
	}
	conv, _ := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: f.consumer.ID, Channel: parley.ChannelWeb, State: parley.StateBot})
	question, _, err := s.AppendMessage(ctx, &parley.Message{AccountID: f.account.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer,
		SenderID: f.consumer.ID, Type: parley.MessageText, Text: "talk to a human"})
	if err != nil {
		t.Fatal(err)
	}
	turn := func(skillID string) *parley.BotTurn {
		visitor := *f.consumer
		visitor.Attributes = map[string]string{"plan": "pro"}
		return &parley.BotTurn{
			AccountID: f.account.ID, ConversationID: conv.ID, Trigger: question.ID,
			Messages: []*parley.Message{{AccountID: f.account.ID, ConversationID: conv.ID, SenderKind: parley.SenderBot, SenderID: "bot",
				ClientID: "bot:" + question.ID + ":0", Type: parley.MessageText, Text: "Connecting you with our team."}},
			Session:  json.RawMessage(`{"misses":0}`),
			Consumer: &visitor,
			Events:   []*parley.Event{{Type: parley.EventBotHandoff, Data: json.RawMessage(`{"reason":"asked_for_person"}`)}},
			Note:     &parley.Note{AuthorID: "bot", AuthorName: "Bot", Text: "Handed over by the bot"},
			Requeue:  &parley.Requeue{Skill: skillID, ChangeSkill: true, Reason: "bot_handoff"},
		}
	}
	countAll := func() (msgs, events, notes int) {
		m, _ := s.ListMessages(ctx, f.account.ID, conv.ID, 0, 100)
		e, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Limit: 1000})
		n, _ := s.ListNotes(ctx, f.account.ID, conv.ID)
		return len(m), len(e), len(n)
	}
	m0, e0, n0 := countAll()
	published := len(rec.snapshot())

	// A turn whose last step fails (a skill that does not exist) writes nothing.
	if _, err := s.ApplyBotTurn(ctx, turn("skl_missing")); err == nil {
		t.Fatal("a turn handing off to a missing skill was applied")
	}
	if m, e, n := countAll(); m != m0 || e != e0 || n != n0 || len(rec.snapshot()) != published {
		t.Fatalf("a failed turn left %d messages, %d events, %d notes behind", m-m0, e-e0, n-n0)
	}
	if st, _ := s.FindBotSession(ctx, f.account.ID, conv.ID); st != nil {
		t.Fatalf("a failed turn saved the session %s", st)
	}
	// Another account cannot write into the conversation, nor a turn
	// change another visitor.
	foreign := turn(skill.ID)
	foreign.AccountID = other.account.ID
	if _, err := s.ApplyBotTurn(ctx, foreign); err == nil {
		t.Fatal("account B applied a turn to A's conversation")
	}
	stranger := turn(skill.ID)
	stranger.Consumer = other.consumer
	_, err = s.ApplyBotTurn(ctx, stranger)
	wantCode(t, err, parley.EINVALID)

	applied, err := s.ApplyBotTurn(ctx, turn(skill.ID))
	if err != nil || !applied {
		t.Fatalf("apply: %v %v", applied, err)
	}
	m, e, n := countAll()
	// message.created, consumer.updated, bot.handoff, note.created, conversation.requeued
	if m != m0+1 || e != e0+5 || n != n0+1 {
		t.Fatalf("applied: %d messages, %d events, %d notes; want 1, 5, 1", m-m0, e-e0, n-n0)
	}
	c, _ := s.FindConversation(ctx, f.account.ID, conv.ID)
	if c.State != parley.StateQueued || c.Skill != skill.ID {
		t.Fatalf("after the handoff: %+v", c)
	}
	if v, _ := s.FindConsumer(ctx, f.account.ID, f.consumer.ID); v.Attributes["plan"] != "pro" {
		t.Fatalf("visitor attributes %v", v.Attributes)
	}
	// The same turn again (a recovery racing a live turn) writes nothing.
	applied, err = s.ApplyBotTurn(ctx, turn(skill.ID))
	if err != nil || applied {
		t.Fatalf("repeat: applied=%v %v", applied, err)
	}
	if m2, e2, n2 := countAll(); m2 != m || e2 != e || n2 != n {
		t.Fatalf("a repeated turn wrote %d messages, %d events, %d notes", m2-m, e2-e, n2-n)
	}
	// A turn into a conversation that left the bot (queued above, then
	// taken by a person, then closed) is refused whole.
	late := turn(skill.ID)
	late.Trigger = "later"
	late.Messages[0].ClientID = "bot:later:0"
	late.Requeue = nil
	_, err = s.ApplyBotTurn(ctx, late)
	wantCode(t, err, parley.ECONFLICT)
	s.CloseConversation(ctx, f.account.ID, conv.ID, parley.ConversationClose{Reason: "done", ClosedBy: "system"})
	_, err = s.ApplyBotTurn(ctx, late)
	wantCode(t, err, parley.ECONFLICT)
	if m2, _, _ := countAll(); m2 != m {
		t.Fatalf("refused turns wrote %d messages", m2-m)
	}
	if st, _ := s.FindBotSession(ctx, f.account.ID, conv.ID); string(st) != `{"misses":0}` {
		t.Fatalf("session after a refused turn: %s", st)
	}
}
