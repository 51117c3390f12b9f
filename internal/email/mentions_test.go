package email_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// TestMentionsAPersonMissedAreMailedOnce: two notes mention Bob while he
// is away; after the wait they go in one email to him, and never again.
// A mention he looked at in the console, one made while he is in the
// console, and one to a person who turned these emails off are not
// mailed.
func TestMentionsAPersonMissedAreMailedOnce(t *testing.T) {
	w := newWorld(t, "")
	ctx := context.Background()
	user := func(name string, off bool) *parley.User {
		u := &parley.User{AccountID: w.acc.ID, Email: strings.ToLower(name) + "@acme.test", Name: name, Role: parley.RoleAgent, Active: true, MaxConcurrent: 3, MentionEmailsOff: off}
		if err := w.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	bob, cleo, dan := user("Bob", false), user("Cleo", true), user("Dan", false)
	note := func(text string, who ...*parley.User) {
		n := &parley.Note{AccountID: w.acc.ID, ConversationID: w.conv.ID, AuthorID: "usr_ana", AuthorName: "Ana", Text: text}
		for _, u := range who {
			n.Mentions = append(n.Mentions, u.ID)
		}
		if _, err := w.store.AddNote(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	online := map[string]bool{dan.ID: true}
	w.svc.Online = func(_, userID string) bool { return online[userID] }
	start := time.Now()
	note("@Bob can you check the refund?", bob, cleo, dan)
	note("@Bob the customer says it is urgent", bob)

	w.sweep(start.Add(time.Minute))
	w.none() // not yet: he may see them in the console
	w.sweep(start.Add(6 * time.Minute))
	r := w.next()
	if len(r.To) != 1 || r.To[0] != "bob@acme.test" {
		t.Fatalf("sent to %v", r.To)
	}
	h, text, _ := parts(t, r)
	if h["Subject"] != "You were mentioned in 2 notes" || !strings.Contains(text, "can you check the refund?") || !strings.Contains(text, "it is urgent") || !strings.Contains(text, "Ana:") {
		t.Fatalf("subject %q, text:\n%s", h["Subject"], text)
	}
	w.sweep(start.Add(20 * time.Minute))
	w.none() // once; Cleo opted out, Dan is in the console

	// Dan leaves the console without looking: his goes now. Bob looks at
	// his mentions before the next one is due: nothing for him.
	online[dan.ID] = false
	note("@Bob one more", bob)
	if err := w.store.MarkMentionsSeen(ctx, w.acc.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	w.sweep(start.Add(40 * time.Minute))
	r = w.next()
	if r.To[0] != "dan@acme.test" {
		t.Fatalf("sent to %v, want Dan", r.To)
	}
	w.none()
}
