package storetest

import (
	"context"
	"slices"
	"testing"

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
