package sqlstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// TestTheAppendCacheOutlivesWritesElsewhere: the webhook sender's claims
// (every second) and the metrics rollup's saves write no conversation, so
// the writer keeps what it knows of the conversations it appended to
// across them; at a message a second per conversation, emptying it for
// each claim meant no append ever found its conversation cached. Any
// other write still empties it.
func TestTheAppendCacheOutlivesWritesElsewhere(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, conv := openConversation(t, db)
	appendOne := func() {
		t.Helper()
		if _, _, err := db.AppendMessage(ctx, &parley.Message{AccountID: a.ID, ConversationID: conv.ID, SenderKind: parley.SenderConsumer, SenderID: conv.ConsumerID, Type: parley.MessageText, Text: "hello"}); err != nil {
			t.Fatal(err)
		}
	}
	appendOne()
	// (Each write below returns after its batch committed: what the
	// writer goroutine did to the cache happened before.)
	if db.appending.get(conv.ID) == nil {
		t.Fatal("an append left its conversation out of the cache")
	}
	if _, err := db.DueDeliveries(ctx, time.Now(), time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveRollup(ctx, a.ID, 0, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveRollupRows(ctx, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	if db.appending.get(conv.ID) == nil {
		t.Fatal("a webhook claim or a rollup save emptied the append cache")
	}
	appendOne()
	if err := db.CreateConsumer(ctx, &parley.Consumer{AccountID: a.ID}); err != nil {
		t.Fatal(err)
	}
	if db.appending.get(conv.ID) != nil {
		t.Fatal("a write to the account's own tables kept the append cache")
	}
}

// openConversation creates an account with a visitor and a queued
// conversation.
func openConversation(t *testing.T, db *DB) (*parley.Account, *parley.Conversation) {
	t.Helper()
	ctx := context.Background()
	a := &parley.Account{Name: "Acme"}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	c := &parley.Consumer{AccountID: a.ID}
	if err := db.CreateConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	conv, err := db.OpenConversation(ctx, a.ID, parley.ConversationOpen{ConsumerID: c.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	return a, conv
}

// OpenConversationForTest is openConversation for the package's external
// tests.
var OpenConversationForTest = openConversation
