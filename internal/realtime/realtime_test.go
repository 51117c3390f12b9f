package realtime

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/auth"
	"github.com/parleychat/parley/internal/conversation"
	"github.com/parleychat/parley/internal/localbus"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/sqlite"
)

// lossyBus forwards events to the real bus but drops every third message
// notification, like a bus that lost them in transit.
type lossyBus struct {
	*localbus.Bus
	mu sync.Mutex
	n  int
}

func (b *lossyBus) Publish(ctx context.Context, events []*parley.Event) error {
	var kept []*parley.Event
	b.mu.Lock()
	for _, e := range events {
		if e.Type == parley.EventMessageCreated {
			b.n++
			if b.n%3 == 0 {
				continue
			}
		}
		kept = append(kept, e)
	}
	b.mu.Unlock()
	return b.Bus.Publish(ctx, kept)
}

// TestLostNotificationsAreRecoveredFromTheStore: when the bus loses message
// notifications, a follower still gets every message once, in order,
// because the gateway fills gaps from the store.
func TestLostNotificationsAreRecoveredFromTheStore(t *testing.T) {
	ctx := context.Background()
	inner := localbus.New()
	bus := &lossyBus{Bus: inner}
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlite.Options{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	a, err := auth.New(store, []byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	conv := conversation.New(store, inner, parley.MessageLimits{})
	g := New(Config{}, store, inner, conv, a, slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.New())
	srv := httptest.NewServer(g)
	defer srv.Close()
	defer g.Shutdown(ctx)

	acc := &parley.Account{Name: "A"}
	store.CreateAccount(ctx, acc)
	consumer := &parley.Consumer{AccountID: acc.ID}
	store.CreateConsumer(ctx, consumer)
	c, _ := store.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: consumer.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	token, _, _ := a.ConsumerToken(consumer)

	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	write := func(v any) {
		b, _ := json.Marshal(v)
		if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	read := func() map[string]any {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, data, err := ws.Read(rctx)
		if err != nil {
			t.Fatal(err)
		}
		var f map[string]any
		json.Unmarshal(data, &f)
		return f
	}
	write(map[string]any{"type": "auth", "token": token})
	if f := read(); f["type"] != "authenticated" {
		t.Fatalf("auth: %v", f)
	}
	write(map[string]any{"type": "subscribe", "conversation_id": c.ID})
	if f := read(); f["type"] != "subscribed" {
		t.Fatalf("subscribe: %v", f)
	}
	// Another party writes 30 messages; notifications 3, 6, 9, ... are lost.
	const total = 30
	for i := 0; i < total; i++ {
		if _, _, err := store.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: c.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	// The last notification (30) is lost too; one more arrives to reveal the gap.
	store.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: c.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: "last"})
	for want := 1.0; want <= total+1; want++ {
		f := read()
		if f["type"] != "message" {
			want--
			continue
		}
		if seq := f["message"].(map[string]any)["seq"].(float64); seq != want {
			t.Fatalf("got seq %v, want %v", seq, want)
		}
	}
}
