package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// FollowConversation: people follow and stop following a conversation;
// the conversation says who, in order, wherever it is read; their
// Following list finds it; a second follow or a stop of nothing writes
// nothing; the conversation's activity time does not move; other
// accounts' people and conversations, inactive people and closed
// conversations are refused.
func testFollowConversation(t *testing.T, open Opener) {
	ctx := context.Background()
	rec := &recorder{}
	s := open(t, rec)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	mk := func(acc, email string, active bool) *parley.User {
		u := &parley.User{AccountID: acc, Email: email, Name: email, Role: parley.RoleAgent, MaxConcurrent: 2, Active: active}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	sam, priya, gone := mk(f.account.ID, "sam@f.test", true), mk(f.account.ID, "priya@f.test", true), mk(f.account.ID, "gone@f.test", false)
	theirs := mk(other.account.ID, "them@b.test", true)
	before, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID)

	c, err := s.FollowConversation(ctx, f.account.ID, f.conversation.ID, sam.ID, true, sam.ID)
	if err != nil || !slices.Equal(c.Followers, []string{sam.ID}) {
		t.Fatalf("sam follows: %+v, %v", c, err)
	}
	if c, err = s.FollowConversation(ctx, f.account.ID, f.conversation.ID, priya.ID, true, sam.ID); err != nil || !slices.Equal(c.Followers, []string{sam.ID, priya.ID}) {
		t.Fatalf("priya follows: %+v, %v", c, err)
	}
	if _, err := s.FollowConversation(ctx, f.account.ID, f.conversation.ID, sam.ID, true, sam.ID); err != nil {
		t.Fatalf("twice: %v", err)
	}
	read, _ := s.FindConversation(ctx, f.account.ID, f.conversation.ID)
	if !slices.Equal(read.Followers, []string{sam.ID, priya.ID}) || !read.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("read back: followers %v, updated %v (was %v)", read.Followers, read.UpdatedAt, before.UpdatedAt)
	}
	listed, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{FollowedBy: priya.ID})
	if len(listed) != 1 || listed[0].ID != f.conversation.ID || !slices.Equal(listed[0].Followers, []string{sam.ID, priya.ID}) {
		t.Fatalf("priya's Following: %+v", listed)
	}
	// Refused: another account's person or conversation, an inactive person.
	_, err = s.FollowConversation(ctx, f.account.ID, f.conversation.ID, theirs.ID, true, theirs.ID)
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.FollowConversation(ctx, other.account.ID, f.conversation.ID, theirs.ID, true, theirs.ID)
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.FollowConversation(ctx, f.account.ID, f.conversation.ID, gone.ID, true, sam.ID)
	wantCode(t, err, parley.ECONFLICT)
	if theirsList, _ := s.ListConversations(ctx, other.account.ID, parley.ConversationFilter{FollowedBy: sam.ID}); len(theirsList) != 0 {
		t.Fatalf("sam's follows listed in another account: %+v", theirsList)
	}
	// Sam stops; stopping again changes nothing.
	if c, err = s.FollowConversation(ctx, f.account.ID, f.conversation.ID, sam.ID, false, sam.ID); err != nil || !slices.Equal(c.Followers, []string{priya.ID}) {
		t.Fatalf("sam stops: %+v, %v", c, err)
	}
	if _, err := s.FollowConversation(ctx, f.account.ID, f.conversation.ID, sam.ID, false, sam.ID); err != nil {
		t.Fatalf("stopping twice: %v", err)
	}
	if listed, _ := s.ListConversations(ctx, f.account.ID, parley.ConversationFilter{FollowedBy: sam.ID}); len(listed) != 0 {
		t.Fatalf("sam's Following after he stopped: %+v", listed)
	}
	if c, _ = s.FollowConversation(ctx, f.account.ID, f.conversation.ID, priya.ID, false, priya.ID); c.Followers != nil {
		t.Fatalf("with no one following: %v", c.Followers)
	}
	events := 0
	for _, e := range rec.snapshot() {
		if e.Type == parley.EventConversationFollowed && e.AccountID == f.account.ID {
			events++
		}
	}
	if events != 4 { // sam, priya, sam stops, priya stops
		t.Fatalf("%d conversation.followed events; want 4", events)
	}
	// A closed conversation takes no new follower.
	if _, err := s.CloseConversation(ctx, f.account.ID, f.conversation.ID, parley.ConversationClose{Reason: "resolved", ClosedBy: sam.ID}); err != nil {
		t.Fatal(err)
	}
	_, err = s.FollowConversation(ctx, f.account.ID, f.conversation.ID, sam.ID, true, sam.ID)
	wantCode(t, err, parley.ECONFLICT)
}

// FollowEmails: the messages of visitors and people in a followed
// conversation, written after its follower began following and by
// someone else, are due to that follower, oldest first, once written
// before the time given; the bot's are not; marking them emailed (only
// forward) takes them away; a person who turned these emails off has
// none, nor one who stopped following; another account's are its own.
func testFollowEmails(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	mk := func(f fixture, email string, off bool) *parley.User {
		u := &parley.User{AccountID: f.account.ID, Email: email, Name: email, Role: parley.RoleAgent, MaxConcurrent: 1, Active: true, FollowEmailsOff: off}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	bob, cleo, dora := mk(a, "bob@a.test", false), mk(a, "cleo@a.test", true), mk(a, "dora@a.test", false)
	zed := mk(b, "zed@b.test", false)
	say := func(f fixture, kind parley.SenderKind, sender, text string) *parley.Message {
		m := &parley.Message{AccountID: f.account.ID, ConversationID: f.conversation.ID, SenderKind: kind, SenderID: sender, Type: parley.MessageText, Text: text}
		if kind == parley.SenderAgent {
			m.SenderName = "Ana"
		}
		stored, _, err := s.AppendMessage(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return stored
	}
	follow := func(f fixture, u *parley.User, on bool) {
		if _, err := s.FollowConversation(ctx, f.account.ID, f.conversation.ID, u.ID, on, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	say(a, parley.SenderConsumer, a.consumer.ID, "before")
	follow(a, bob, true)
	follow(a, cleo, true)
	follow(a, dora, true)
	follow(b, zed, true)
	say(a, parley.SenderConsumer, a.consumer.ID, "one")
	two := say(a, parley.SenderAgent, "usr_ana", "two")
	say(a, parley.SenderAgent, bob.ID, "bob's own")
	say(a, parley.SenderBot, "", "the bot's")
	say(b, parley.SenderConsumer, b.consumer.ID, "theirs")
	follow(a, dora, false)
	later, since := time.Now().Add(time.Minute), time.Now().Add(-time.Hour)
	due := func(before time.Time) []string {
		t.Helper()
		list, err := s.DueFollowEmails(ctx, since, before, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range list {
			got = append(got, d.UserID+":"+d.Sender+":"+d.Text)
			if d.Visitor != "Visitor of A" && d.Visitor != "Visitor of B" || d.FromVisitor != (d.Sender == d.Visitor) || d.At.IsZero() || d.MessageID == "" {
				t.Fatalf("due: %+v", d)
			}
		}
		return got
	}
	want := []string{bob.ID + ":Visitor of A:one", bob.ID + ":Ana:two", zed.ID + ":Visitor of B:theirs"}
	if got := due(later); !slices.Equal(got, want) {
		t.Fatalf("due = %v; want %v (Cleo opted out, Dora stopped following)", got, want)
	}
	if got := due(time.Now().Add(-time.Hour)); len(got) != 0 {
		t.Fatalf("due before they were written: %v", got)
	}
	if ok, err := s.MarkFollowsEmailed(ctx, a.account.ID, bob.ID, two.ID); err != nil || !ok {
		t.Fatalf("mark: %v %v", ok, err)
	}
	if ok, _ := s.MarkFollowsEmailed(ctx, a.account.ID, bob.ID, two.ID); ok {
		t.Fatal("marked twice")
	}
	if got := due(later); !slices.Equal(got, want[2:]) {
		t.Fatalf("after marking Bob's: %v", got)
	}
	if u, _ := s.FindUser(ctx, a.account.ID, cleo.ID); !u.FollowEmailsOff || u.MentionEmailsOff {
		t.Fatalf("cleo read back: %+v", u)
	}
	if _, _, err := s.ChangeUser(ctx, a.account.ID, cleo.ID, nil, func(u *parley.User) error { u.FollowEmailsOff = false; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := due(later); len(got) != 4 || !strings.HasPrefix(got[2], cleo.ID+":Ana:bob's own") { // Bob's words are news to her
		t.Fatalf("Cleo turned them on again: %v", got)
	}
}
