package conversation_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
	"github.com/parleychat/parley/internal/sqlstore"
)

// newStore opens a real SQLite store in a temporary directory, closed
// when the test ends.
func newStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// noticeAfterASecond creates an account whose visitors hear they are in
// line after a second in the queue.
func noticeAfterASecond(t *testing.T, db *sqlstore.DB) *parley.Account {
	t.Helper()
	one := 1
	acc := &parley.Account{Name: "Acme", Settings: parley.AccountSettings{QueueNoticeSeconds: &one}}
	if err := db.CreateAccount(context.Background(), acc); err != nil {
		t.Fatal(err)
	}
	return acc
}

// countingStore counts the messages written through it.
type countingStore struct {
	parley.Store
	appends atomic.Int64
}

func (s *countingStore) AppendMessage(ctx context.Context, m *parley.Message) (*parley.Message, bool, error) {
	s.appends.Add(1)
	return s.Store.AppendMessage(ctx, m)
}

// TestTheQueueNoticeIsWrittenOncePerWait: a visitor waiting long gets one
// "still in line" notice, with its code for the widget to translate; the
// ticks after it write nothing (not even a resend the store would refuse),
// and a conversation that left the queue is forgotten.
func TestTheQueueNoticeIsWrittenOncePerWait(t *testing.T) {
	ctx := context.Background()
	db := newStore(t)
	store := &countingStore{Store: db}
	acc := noticeAfterASecond(t, db)
	visitor := &parley.Consumer{AccountID: acc.ID}
	if err := db.CreateConsumer(ctx, visitor); err != nil {
		t.Fatal(err)
	}
	conv, err := db.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	a := conversation.NewAnnouncer(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	later := conv.QueuedAt.Add(2 * time.Second)
	for tick := 0; tick < 5; tick++ {
		if err := a.NoticeWaiting(ctx, later.Add(time.Duration(tick)*5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.appends.Load(); n != 1 {
		t.Fatalf("%d writes in five ticks, want 1", n)
	}
	msgs, _ := db.ListMessages(ctx, acc.ID, conv.ID, 0, 10)
	if len(msgs) != 1 || msgs[0].SenderKind != parley.SenderSystem || msgs[0].Notice == nil || msgs[0].Notice.Code != parley.NoticeInLine {
		t.Fatalf("messages: %+v", msgs)
	}
	// Closed: no longer waiting, no longer remembered, nothing written.
	if _, err := db.CloseConversation(ctx, acc.ID, conv.ID, parley.ConversationClose{Reason: "done", ClosedBy: "system"}); err != nil {
		t.Fatal(err)
	}
	if err := a.NoticeWaiting(ctx, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := store.appends.Load(); n != 1 {
		t.Fatalf("%d writes after the conversation closed, want 1", n)
	}
}

// TestEveryoneInALongQueueHearsTheyAreInLine: with more visitors waiting
// than one page of the list, those who waited longest (the last page,
// newest first) are told too.
func TestEveryoneInALongQueueHearsTheyAreInLine(t *testing.T) {
	ctx := context.Background()
	db := newStore(t)
	store := &countingStore{Store: db}
	acc := noticeAfterASecond(t, db)
	var first *parley.Conversation
	for i := range 450 {
		visitor := &parley.Consumer{AccountID: acc.ID}
		if err := db.CreateConsumer(ctx, visitor); err != nil {
			t.Fatal(err)
		}
		c, err := db.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, State: parley.StateQueued})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = c
		}
	}
	a := conversation.NewAnnouncer(store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := a.NoticeWaiting(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n := store.appends.Load(); n != 450 {
		t.Fatalf("%d notices for 450 waiting visitors", n)
	}
	if msgs, _ := db.ListMessages(ctx, acc.ID, first.ID, 0, 10); len(msgs) != 1 {
		t.Fatalf("the visitor who waited longest got %d messages, want the notice", len(msgs))
	}
}
