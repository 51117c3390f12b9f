package email_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// TestFollowersAwayAreMailedWhatIsNew: Bob follows Zoë's conversation and
// is away. After the wait he gets one email with what Zoë and Ana wrote
// since he began following — not what came before, not his own words —
// and never the same again. Cleo turned these emails off; Dan was in the
// console, which showed him what came then, so after he leaves he is
// mailed only what came later; someone who stops following hears no more.
func TestFollowersAwayAreMailedWhatIsNew(t *testing.T) {
	w := newWorld(t, "")
	ctx := context.Background()
	// Only the follow emails here: the visitor's reply emails are off.
	if _, err := w.store.ChangeAccount(ctx, w.acc.ID, func(a *parley.Account) error { a.Settings.EmailReplies.Enabled = false; return nil }); err != nil {
		t.Fatal(err)
	}
	user := func(name string, off bool) *parley.User {
		u := &parley.User{AccountID: w.acc.ID, Email: strings.ToLower(name) + "@acme.test", Name: name, Role: parley.RoleSupervisor, Active: true, MaxConcurrent: 3, FollowEmailsOff: off}
		if err := w.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	bob, cleo, dan := user("Bob", false), user("Cleo", true), user("Dan", false)
	follow := func(u *parley.User, on bool) {
		if _, err := w.store.FollowConversation(ctx, w.acc.ID, w.conv.ID, u.ID, on, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	follow(bob, true)
	follow(cleo, true)
	follow(dan, true)
	online := map[string]bool{dan.ID: true}
	w.svc.Online = func(_, userID string) bool { return online[userID] }
	start := time.Now()
	w.say(parley.SenderConsumer, "Any news on my refund?")
	w.say(parley.SenderAgent, "Looking into it now")
	own := &parley.Message{AccountID: w.acc.ID, ConversationID: w.conv.ID, SenderKind: parley.SenderAgent, SenderID: bob.ID, SenderName: "Bob", Type: parley.MessageText, Text: "Bob's own reply"}
	if _, _, err := w.store.AppendMessage(ctx, own); err != nil {
		t.Fatal(err)
	}

	w.sweep(start.Add(time.Minute))
	w.none() // not yet: he may be back in the console
	w.sweep(start.Add(6 * time.Minute))
	r := w.next()
	if len(r.To) != 1 || r.To[0] != "bob@acme.test" {
		t.Fatalf("sent to %v", r.To)
	}
	h, text, _ := parts(t, r)
	if h["Subject"] != "New in your conversation with Zoë Doe" || !strings.Contains(text, "Zoë Doe:") || !strings.Contains(text, "Any news on my refund?") ||
		!strings.Contains(text, "Ana to Zoë Doe:") || !strings.Contains(text, "Looking into it now") {
		t.Fatalf("subject %q, text:\n%s", h["Subject"], text)
	}
	if strings.Contains(text, "Where is my refund?") || strings.Contains(text, "Bob's own reply") {
		t.Fatalf("mailed what came before he followed, or his own words:\n%s", text)
	}
	w.sweep(start.Add(20 * time.Minute))
	w.none() // once; Cleo turned them off, Dan is in the console

	// Dan leaves: he gets what came after, not what the console showed
	// him. Bob stops following: nothing more for him.
	online[dan.ID] = false
	follow(bob, false)
	w.say(parley.SenderConsumer, "Hello?")
	w.sweep(start.Add(40 * time.Minute))
	r = w.next()
	_, text, _ = parts(t, r)
	if !slices.Equal(r.To, []string{"dan@acme.test"}) || strings.Contains(text, "Any news on my refund?") || strings.Contains(text, "Bob's own reply") || !strings.Contains(text, "Hello?") {
		t.Fatalf("to %v:\n%s", r.To, text)
	}
	w.none()
}
