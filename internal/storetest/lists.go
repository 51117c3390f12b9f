package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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

// A conversation's priority changes its place in the queue, once per
// change (one event naming who and from what), never a closed one's.
func testSetPriority(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	later := f.another(t, s)
	c, err := s.SetPriority(ctx, f.account.ID, later.ID, 10, "usr_sup")
	if err != nil || c.Priority != 10 {
		t.Fatalf("SetPriority = %+v, %v", c, err)
	}
	if _, err := s.SetPriority(ctx, f.account.ID, later.ID, 10, "usr_sup"); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventConversationPriority}, Limit: 10})
	if len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"from_priority":0`) || !strings.Contains(string(evs[0].Data), `"changed_by":"usr_sup"`) ||
		!strings.Contains(string(evs[0].Data), `"priority":10`) {
		t.Fatalf("conversation.prioritized events: %+v", evs)
	}
	list, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{State: parley.StateQueued, QueueOrder: true})
	if len(list) != 2 || list[0].ID != later.ID {
		t.Fatalf("the raised conversation is not the queue's head: %+v", list)
	}
	_, err = s.SetPriority(ctx, f.account.ID, later.ID, 11, "usr_sup")
	wantCode(t, err, parley.EINVALID)
	_, err = s.SetPriority(ctx, other.account.ID, later.ID, 5, "usr_sup")
	wantCode(t, err, parley.ENOTFOUND)
	if _, err := s.CloseConversation(ctx, f.account.ID, later.ID, parley.ConversationClose{Reason: "resolved"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.SetPriority(ctx, f.account.ID, later.ID, 0, "usr_sup")
	wantCode(t, err, parley.ECONFLICT)
}

// ChangeAccount: twenty changes made at once each keep the others' (a
// read, then a write, would lose most of them); a change that fails writes
// nothing; another ID is not found.
func testChangeAccount(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ChangeAccount(ctx, f.account.ID, func(a *parley.Account) error {
				a.Settings.Labels = append(a.Settings.Labels, parley.Label{Name: fmt.Sprintf("l%02d", i)})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	a, _ := s.FindAccount(ctx, f.account.ID)
	if len(a.Settings.Labels) != 20 {
		t.Fatalf("after 20 changes at once the account has %d labels", len(a.Settings.Labels))
	}
	before, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventAccountUpdated}, Limit: 100})
	_, err := s.ChangeAccount(ctx, f.account.ID, func(a *parley.Account) error {
		a.Name = "renamed"
		return parley.Errorf(parley.EINVALID, "no")
	})
	wantCode(t, err, parley.EINVALID)
	after, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventAccountUpdated}, Limit: 100})
	if a, _ := s.FindAccount(ctx, f.account.ID); a.Name == "renamed" || len(after) != len(before) || len(before) != 20 {
		t.Fatalf("a failed change wrote: name %q, events %d then %d", a.Name, len(before), len(after))
	}
	_, err = s.ChangeAccount(ctx, "acc_missing", func(*parley.Account) error { return nil })
	wantCode(t, err, parley.ENOTFOUND)
}

// Snooze: a snoozed conversation is left out of the inbox (hide) and
// listed on its own (only) until its time comes, or until anything
// happens to it — here the visitor writes; back now clears it; a closed
// conversation cannot be snoozed.
func testSnooze(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	later := f.another(t, s)
	until := time.Now().Add(time.Hour)
	// Only a conversation someone holds is snoozed.
	_, err := s.SnoozeConversation(ctx, f.account.ID, f.conversation.ID, &until, "usr_1")
	wantCode(t, err, parley.ECONFLICT)
	u := &parley.User{AccountID: f.account.ID, Email: "agent@a.example", Name: "Agent", Role: parley.RoleAgent, MaxConcurrent: 5, Active: true}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{f.conversation.ID, later.ID} {
		if _, err := s.ClaimConversation(ctx, f.account.ID, id, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.SnoozeConversation(ctx, f.account.ID, f.conversation.ID, &until, "usr_1")
	if err != nil || c.SnoozedUntil == nil || !c.Snoozed(time.Now()) {
		t.Fatalf("snooze = %+v, %v", c, err)
	}
	list := func(mode string, now time.Time) []string {
		t.Helper()
		got, err := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{Snoozed: mode, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range got {
			ids = append(ids, c.ID)
		}
		return ids
	}
	now := time.Now()
	if got := list("only", now); !slices.Equal(got, []string{f.conversation.ID}) {
		t.Fatalf("snoozed = %v", got)
	}
	if got := list("hide", now); !slices.Equal(got, []string{later.ID}) {
		t.Fatalf("not snoozed = %v", got)
	}
	// Its time comes.
	if got := list("hide", until.Add(time.Second)); len(got) != 2 {
		t.Fatalf("after the snooze ran out, the inbox has %v", got)
	}
	// The visitor writes: it is back at once.
	if _, _, err := s.AppendMessage(ctx, text(f, "any news?", "")); err != nil {
		t.Fatal(err)
	}
	if got := list("only", time.Now()); len(got) != 0 {
		t.Fatalf("after the visitor wrote, still snoozed: %v", got)
	}
	if found, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID); found.Snoozed(time.Now()) {
		t.Fatal("Snoozed() after the visitor wrote")
	}
	// Snoozed again, then back by hand.
	if _, err := s.SnoozeConversation(ctx, f.account.ID, later.ID, &until, "usr_1"); err != nil {
		t.Fatal(err)
	}
	if c, err := s.SnoozeConversation(ctx, f.account.ID, later.ID, nil, "usr_1"); err != nil || c.SnoozedUntil != nil {
		t.Fatalf("unsnooze = %+v, %v", c, err)
	}
	if got := list("only", time.Now()); len(got) != 0 {
		t.Fatalf("after unsnoozing: %v", got)
	}
	evs, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventConversationSnoozed}, Limit: 10})
	if len(evs) != 3 || !strings.Contains(string(evs[0].Data), `"snoozed_by":"usr_1"`) {
		t.Fatalf("conversation.snoozed events: %+v", evs)
	}
	_, err = s.SnoozeConversation(ctx, other.account.ID, later.ID, &until, "usr_1")
	wantCode(t, err, parley.ENOTFOUND)
	if _, err := s.CloseConversation(ctx, f.account.ID, later.ID, parley.ConversationClose{Reason: "resolved"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.SnoozeConversation(ctx, f.account.ID, later.ID, &until, "usr_1")
	wantCode(t, err, parley.ECONFLICT)
	_, err = s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{Snoozed: "sometimes"})
	wantCode(t, err, parley.EINVALID)
}

// ChangeUser: twenty changes at once each keep the others'; a new password
// ends the user's sessions but the one kept, and says which ended; a spent
// one-time code (what events do not show) writes no user.updated, and the
// secrets never reach an event; a failed change writes nothing; another
// account's user is not found.
func testChangeUser(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	u := &parley.User{AccountID: f.account.ID, Email: "ann@a.test", Name: "Ann", Role: parley.RoleAgent, Active: true, PasswordHash: "h1"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := s.ChangeUser(ctx, f.account.ID, u.ID, nil, func(u *parley.User) error {
				u.MaxConcurrent++
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _ := s.FindUser(ctx, f.account.ID, u.ID); got.MaxConcurrent != 20 {
		t.Fatalf("after 20 changes at once max_concurrent is %d", got.MaxConcurrent)
	}

	// Three sessions; a new password keeps only the second.
	var hashes [][]byte
	for i := range 3 {
		h := []byte(fmt.Sprintf("session-%d-of-ann-0123456789abcdef", i))
		hashes = append(hashes, h)
		if err := s.CreateSession(ctx, &parley.Session{TokenHash: h, AccountID: f.account.ID, UserID: u.ID, CSRFToken: "c",
			ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	_, ended, err := s.ChangeUser(ctx, f.account.ID, u.ID, hashes[1], func(u *parley.User) error {
		u.Name = "Ann B"
		return nil
	})
	if err != nil || len(ended) != 0 {
		t.Fatalf("a new name ended sessions: %d, %v", len(ended), err)
	}
	_, ended, err = s.ChangeUser(ctx, f.account.ID, u.ID, hashes[1], func(u *parley.User) error {
		u.PasswordHash = "$argon2id$hash-two"
		u.TOTPSecret = "JBSWY3DPEHPK3PXP"
		u.RecoveryCodes = []string{"recovery-aa", "recovery-bb"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	endedOne := func(h []byte) bool {
		return slices.ContainsFunc(ended, func(e []byte) bool { return bytes.Equal(e, h) })
	}
	if len(ended) != 2 || !endedOne(hashes[0]) || !endedOne(hashes[2]) {
		t.Fatalf("a new password ended %q, want sessions 0 and 2", ended)
	}
	for i, h := range hashes {
		_, err := s.FindSession(ctx, h)
		if (i == 1) != (err == nil) {
			t.Fatalf("session %d after a new password: %v", i, err)
		}
	}
	got, _ := s.FindUser(ctx, f.account.ID, u.ID)
	if !got.TwoFactor || got.TOTPSecret != "JBSWY3DPEHPK3PXP" || len(got.RecoveryCodes) != 2 || got.PasswordHash != "$argon2id$hash-two" || got.Deprovisioned {
		t.Fatalf("stored user: %+v", got)
	}
	// Deleted by the identity provider: kept, and marked.
	if changed, _, err := s.ChangeUser(ctx, f.account.ID, u.ID, nil, func(u *parley.User) error { u.Deprovisioned = true; return nil }); err != nil || !changed.Deprovisioned {
		t.Fatalf("deprovisioning: %+v, %v", changed, err)
	}
	if got, _ := s.FindUser(ctx, f.account.ID, u.ID); !got.Deprovisioned {
		t.Fatal("Deprovisioned was not stored")
	}
	if _, _, err := s.ChangeUser(ctx, f.account.ID, u.ID, nil, func(u *parley.User) error { u.Deprovisioned = false; return nil }); err != nil {
		t.Fatal(err)
	}

	before, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventUserUpdated}, Limit: 100})
	if _, _, err := s.ChangeUser(ctx, f.account.ID, u.ID, nil, func(u *parley.User) error {
		u.TOTPLastStep = 12345
		u.RecoveryCodes = u.RecoveryCodes[1:]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.ChangeUser(ctx, f.account.ID, u.ID, nil, func(u *parley.User) error {
		u.Name = "never"
		return parley.Errorf(parley.EINVALID, "no")
	})
	wantCode(t, err, parley.EINVALID)
	after, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventUserUpdated}, Limit: 100})
	if len(after) != len(before) {
		t.Fatalf("a spent code or a failed change wrote %d user.updated", len(after)-len(before))
	}
	if got, _ := s.FindUser(ctx, f.account.ID, u.ID); got.TOTPLastStep != 12345 || len(got.RecoveryCodes) != 1 || got.Name != "Ann B" {
		t.Fatalf("after a spent code and a failed change: %+v", got)
	}
	for _, e := range after {
		for _, secret := range []string{"JBSWY3DPEHPK3PXP", "hash-two", "recovery-", "totp", "password"} {
			if strings.Contains(string(e.Data), secret) {
				t.Fatalf("user.updated carries %q: %s", secret, e.Data)
			}
		}
	}
	// EndSessions ends them all but the one kept, once.
	if err := s.CreateSession(ctx, &parley.Session{TokenHash: hashes[0], AccountID: f.account.ID, UserID: u.ID, CSRFToken: "c",
		ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ended, err = s.EndSessions(ctx, f.account.ID, u.ID, hashes[0]); err != nil || len(ended) != 1 || !bytes.Equal(ended[0], hashes[1]) {
		t.Fatalf("EndSessions keeping session 0 ended %q: %v", ended, err)
	}
	if ended, err = s.EndSessions(ctx, "acc_other", u.ID, nil); err != nil || len(ended) != 0 {
		t.Fatalf("EndSessions from another account ended %d: %v", len(ended), err)
	}
	// Deactivating ends every session but the kept one.
	if _, ended, err = s.ChangeUser(ctx, f.account.ID, u.ID, nil, func(u *parley.User) error {
		u.Active = false
		return nil
	}); err != nil || len(ended) != 1 || !bytes.Equal(ended[0], hashes[0]) {
		t.Fatalf("deactivating ended %q: %v", ended, err)
	}

	other := newFixture(t, s, "B")
	_, _, err = s.ChangeUser(ctx, other.account.ID, u.ID, nil, func(*parley.User) error { return nil })
	wantCode(t, err, parley.ENOTFOUND)
}

// Contacts: consumers with a conversation, newest first, searchable,
// page by page, one account's only; ChangeConsumer keeps changes made at
// once, writes no event for the same values and nothing when it fails.
func testContacts(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	silent := &parley.Consumer{AccountID: f.account.ID, Name: "Never Wrote"}
	if err := s.CreateConsumer(ctx, silent); err != nil {
		t.Fatal(err)
	}
	zoe := &parley.Consumer{AccountID: f.account.ID, Name: "Zoe Adams", Email: "zoe@example.test", ExternalID: "crm-42"}
	if err := s.CreateConsumer(ctx, zoe); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.OpenConversation(ctx, f.account.ID, parley.ConversationOpen{ConsumerID: zoe.ID, Channel: parley.ChannelWeb, State: parley.StateQueued}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListConsumers(ctx, f.account.ID, parley.ConsumerFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != zoe.ID || all[1].ID != f.consumer.ID || all[0].Conversations != 2 || all[1].Conversations != 1 ||
		all[0].LastActivityAt.IsZero() {
		t.Fatalf("contacts: %+v", all)
	}
	for q, want := range map[string]int{"ZOE@": 1, "crm-4": 1, "visitor of a": 1, "never": 0, "%": 0, "_": 0, "Visitor of B": 0} {
		got, err := s.ListConsumers(ctx, f.account.ID, parley.ConsumerFilter{Query: q})
		if err != nil || len(got) != want {
			t.Fatalf("q=%q: %d contacts, want %d (%v)", q, len(got), want, err)
		}
	}
	page, _ := s.ListConsumers(ctx, f.account.ID, parley.ConsumerFilter{Limit: 1})
	next, _ := s.ListConsumers(ctx, f.account.ID, parley.ConsumerFilter{Limit: 1, Before: page[0].ID})
	if len(page) != 1 || len(next) != 1 || page[0].ID != zoe.ID || next[0].ID != f.consumer.ID {
		t.Fatalf("pages: %v then %v", page, next)
	}
	if b, _ := s.ListConsumers(ctx, other.account.ID, parley.ConsumerFilter{}); len(b) != 1 || b[0].ID != other.consumer.ID {
		t.Fatalf("account B's contacts: %v", b)
	}

	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.ChangeConsumer(ctx, f.account.ID, zoe.ID, func(c *parley.Consumer) error {
				if c.Attributes == nil {
					c.Attributes = map[string]string{}
				}
				c.Attributes[fmt.Sprintf("a%02d", i)] = "x"
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if c, _ := s.FindConsumer(ctx, f.account.ID, zoe.ID); len(c.Attributes) != 20 {
		t.Fatalf("after 20 changes at once: %d attributes", len(c.Attributes))
	}
	before, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventConsumerUpdated}, Limit: 100})
	if _, err := s.ChangeConsumer(ctx, f.account.ID, zoe.ID, func(c *parley.Consumer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = s.ChangeConsumer(ctx, f.account.ID, zoe.ID, func(c *parley.Consumer) error {
		c.Name = "never"
		return parley.Errorf(parley.EINVALID, "no")
	})
	wantCode(t, err, parley.EINVALID)
	after, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventConsumerUpdated}, Limit: 100})
	if len(after) != len(before) || len(before) != 20 {
		t.Fatalf("consumer.updated: %d after 20 changes, %d after a no-op and a failure", len(before), len(after))
	}
	_, err = s.ChangeConsumer(ctx, other.account.ID, zoe.ID, func(*parley.Consumer) error { return nil })
	wantCode(t, err, parley.ENOTFOUND)
}

// Unread mentions: notes mentioning a user after the newest they had seen;
// marking them seen counts from there; one user's are not another's, nor
// another account's.
func testUnreadMentions(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	users := map[string]*parley.User{}
	for _, name := range []string{"bo", "cy"} {
		u := &parley.User{AccountID: f.account.ID, Email: name + "@a.test", Name: name, Role: parley.RoleAgent, Active: true, PasswordHash: "h"}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		users[name] = u
	}
	bo, cy := users["bo"].ID, users["cy"].ID
	note := func(mentions ...string) {
		t.Helper()
		if _, err := s.AddNote(ctx, &parley.Note{AccountID: f.account.ID, ConversationID: f.conversation.ID, AuthorID: "usr_x", Text: "see this", Mentions: mentions}); err != nil {
			t.Fatal(err)
		}
	}
	unread := func(user string) int {
		t.Helper()
		n, err := s.UnreadMentions(ctx, f.account.ID, user)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if unread(bo) != 0 {
		t.Fatal("unread mentions before any note")
	}
	note(bo, cy)
	note(bo)
	if unread(bo) != 2 || unread(cy) != 1 {
		t.Fatalf("unread: bo %d, cy %d", unread(bo), unread(cy))
	}
	if err := s.MarkMentionsSeen(ctx, f.account.ID, bo); err != nil {
		t.Fatal(err)
	}
	if unread(bo) != 0 || unread(cy) != 1 {
		t.Fatalf("after bo looked: bo %d, cy %d", unread(bo), unread(cy))
	}
	note(bo)
	if unread(bo) != 1 {
		t.Fatalf("a later mention: %d", unread(bo))
	}
	other := newFixture(t, s, "B")
	if n, _ := s.UnreadMentions(ctx, other.account.ID, bo); n != 0 {
		t.Fatalf("bo's mentions counted in account B: %d", n)
	}
	wantCode(t, s.MarkMentionsSeen(ctx, other.account.ID, bo), parley.ENOTFOUND)
}

// Activity: a conversation's events but its messages and receipts, oldest
// first; another conversation's and another account's are not in it.
func testConversationActivity(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "A")
	other := f.another(t, s)
	if _, _, err := s.AppendMessage(ctx, text(f, "hello", "c1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPriority(ctx, f.account.ID, f.conversation.ID, 5, "usr_sup"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPriority(ctx, f.account.ID, other.ID, 5, "usr_sup"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CloseConversation(ctx, f.account.ID, f.conversation.ID, parley.ConversationClose{Reason: "resolved"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConversationActivity(ctx, f.account.ID, f.conversation.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range got {
		types = append(types, e.Type)
	}
	if want := []string{parley.EventConversationOpened, parley.EventConversationPriority, parley.EventConversationClosed}; !slices.Equal(types, want) {
		t.Fatalf("activity %v, want %v", types, want)
	}
	b := newFixture(t, s, "B")
	if got, _ := s.ConversationActivity(ctx, b.account.ID, f.conversation.ID, 0); len(got) != 0 {
		t.Fatalf("account B reads A's conversation's activity: %d events", len(got))
	}
}
