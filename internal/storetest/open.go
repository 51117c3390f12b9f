package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// OpenAssigned: a conversation opened for a user is theirs in the same
// transaction — opened, then assigned, two events in that order — and
// one that cannot be theirs (at capacity, another account's user, with
// the bot) is not opened at all.
func testOpenAssigned(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	agent := &parley.User{AccountID: a.account.ID, Email: "ann@a.test", Name: "Ann", Role: parley.RoleAgent, MaxConcurrent: 1, Active: true}
	if err := s.CreateUser(ctx, agent); err != nil {
		t.Fatal(err)
	}
	before, _ := s.ListEvents(ctx, a.account.ID, parley.EventFilter{Limit: 1000})
	c, err := s.OpenConversation(ctx, a.account.ID, parley.ConversationOpen{ConsumerID: a.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateQueued, AssigneeID: agent.ID})
	if err != nil || c.State != parley.StateAssigned || c.AssigneeID != agent.ID || c.AssignedAt == nil {
		t.Fatalf("OpenConversation for Ann = %+v, %v", c, err)
	}
	evs, _ := s.ListEvents(ctx, a.account.ID, parley.EventFilter{After: before[len(before)-1].Seq, Limit: 10})
	if len(evs) != 2 || evs[0].Type != parley.EventConversationOpened || evs[1].Type != parley.EventConversationAssigned || evs[1].ConversationID != c.ID {
		t.Fatalf("events = %+v; want opened then assigned", evs)
	}
	found, _ := s.FindConversation(ctx, a.account.ID, c.ID)
	if found.State != parley.StateAssigned || found.AssigneeID != agent.ID {
		t.Fatalf("stored = %+v", found)
	}

	count := func() int {
		list, _ := s.ListConversations(ctx, a.account.ID, parley.ConversationFilter{Limit: 100})
		return len(list)
	}
	n := count()
	// Ann has one, her limit: the second is refused, and not opened.
	_, err = s.OpenConversation(ctx, a.account.ID, parley.ConversationOpen{ConsumerID: a.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateQueued, AssigneeID: agent.ID})
	wantCode(t, err, parley.ECONFLICT)
	// Another account's user.
	_, err = s.OpenConversation(ctx, b.account.ID, parley.ConversationOpen{ConsumerID: b.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateQueued, AssigneeID: agent.ID})
	wantCode(t, err, parley.ENOTFOUND)
	// With the bot and for a person at once.
	_, err = s.OpenConversation(ctx, a.account.ID, parley.ConversationOpen{ConsumerID: a.consumer.ID, Channel: parley.ChannelAPI, State: parley.StateBot, AssigneeID: agent.ID})
	wantCode(t, err, parley.EINVALID)
	if got := count(); got != n {
		t.Fatalf("refused opens left %d conversations, want %d", got, n)
	}
	if list, _ := s.ListConversations(ctx, b.account.ID, parley.ConversationFilter{Limit: 100}); len(list) != 1 {
		t.Fatalf("B has %d conversations, want its fixture's only", len(list))
	}
}

// MentionEmails: mentions not seen and not emailed are due, oldest first,
// once written before the time given; marking them emailed (only
// forward) or seen takes them away; a person who turned these emails off
// or is inactive has none; another account's are its own.
func testMentionEmails(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	mk := func(acc string, email string, off bool) *parley.User {
		u := &parley.User{AccountID: acc, Email: email, Name: email, Role: parley.RoleAgent, MaxConcurrent: 1, Active: true, MentionEmailsOff: off}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	bob, cleo := mk(a.account.ID, "bob@a.test", false), mk(a.account.ID, "cleo@a.test", true)
	zed := mk(b.account.ID, "zed@b.test", false)
	note := func(f fixture, text string, who ...string) *parley.Note {
		n := &parley.Note{AccountID: f.account.ID, ConversationID: f.conversation.ID, AuthorID: "usr_x", AuthorName: "Ana", Text: text, Mentions: who}
		if _, err := s.AddNote(ctx, n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	n1 := note(a, "first", bob.ID, cleo.ID)
	n2 := note(a, "second", bob.ID)
	note(b, "theirs", zed.ID)
	later, since := time.Now().Add(time.Minute), time.Now().Add(-time.Hour)
	due, err := s.DueMentionEmails(ctx, since, later, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range due {
		got = append(got, d.UserID+":"+d.Text)
	}
	want := []string{bob.ID + ":first", bob.ID + ":second", zed.ID + ":theirs"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("due = %v; want %v (Cleo opted out)", got, want)
	}
	if d := due[0]; d.AccountID != a.account.ID || d.ConversationID != a.conversation.ID || d.NoteID != n1.ID || d.Author != "Ana" {
		t.Fatalf("due[0] = %+v", d)
	}
	if early, _ := s.DueMentionEmails(ctx, since, time.Now().Add(-time.Hour), 10); len(early) != 0 {
		t.Fatalf("notes written after the time given are due: %+v", early)
	}
	if old, _ := s.DueMentionEmails(ctx, later, later.Add(time.Hour), 10); len(old) != 0 {
		t.Fatalf("notes written before since are due: %+v", old)
	}
	if ok, err := s.MarkMentionsEmailed(ctx, a.account.ID, bob.ID, n1.ID); err != nil || !ok {
		t.Fatalf("MarkMentionsEmailed = %v, %v", ok, err)
	}
	if ok, _ := s.MarkMentionsEmailed(ctx, a.account.ID, bob.ID, n1.ID); ok {
		t.Fatal("marked twice")
	}
	if ok, _ := s.MarkMentionsEmailed(ctx, b.account.ID, bob.ID, n2.ID); ok {
		t.Fatal("another account marked Bob's")
	}
	due, _ = s.DueMentionEmails(ctx, since, later, 10)
	if len(due) != 2 || due[0].NoteID != n2.ID {
		t.Fatalf("after marking the first = %+v", due)
	}
	if err := s.MarkMentionsSeen(ctx, a.account.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	s.ChangeUser(ctx, b.account.ID, zed.ID, nil, func(u *parley.User) error { u.Active = false; return nil })
	if due, _ = s.DueMentionEmails(ctx, since, later, 10); len(due) != 0 {
		t.Fatalf("after seen and deactivated = %+v", due)
	}
	if u, _ := s.FindUser(ctx, a.account.ID, cleo.ID); !u.MentionEmailsOff || u.ReportEmailsOff {
		t.Fatal("the opt-out was not kept")
	}
	// The weekly report's opt-out is kept too, apart from the mentions'.
	if _, _, err := s.ChangeUser(ctx, a.account.ID, cleo.ID, nil, func(u *parley.User) error { u.ReportEmailsOff = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.FindUser(ctx, a.account.ID, cleo.ID); !u.ReportEmailsOff || !u.MentionEmailsOff {
		t.Fatalf("the report's opt-out: %+v", u)
	}
}
