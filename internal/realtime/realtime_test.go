package realtime

import (
	"context"
	"sync"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/localbus"
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
	f := newFixtureWith(t, Config{}, func(b *localbus.Bus) parley.Bus { return &lossyBus{Bus: b} })
	c := f.dial(t)
	c.send(map[string]any{"type": "subscribe", "conversation_id": f.conv.ID})
	if fr := c.read(); fr["type"] != "subscribed" {
		t.Fatalf("subscribe: %v", fr)
	}
	ctx := context.Background()
	store, acc := f.store, f.acc
	// Another party writes 30 messages; notifications 3, 6, 9, ... are lost.
	const total = 30
	for i := 0; i < total; i++ {
		if _, _, err := store.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: f.conv.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: "m"}); err != nil {
			t.Fatal(err)
		}
	}
	// The last notification (30) is lost too; one more arrives to reveal the gap.
	store.AppendMessage(ctx, &parley.Message{AccountID: acc.ID, ConversationID: f.conv.ID, SenderKind: parley.SenderAgent, Type: parley.MessageText, Text: "last"})
	for want := 1.0; want <= total+1; want++ {
		fr := c.read()
		if fr["type"] != "message" {
			want--
			continue
		}
		if seq := fr["message"].(map[string]any)["seq"].(float64); seq != want {
			t.Fatalf("got seq %v, want %v", seq, want)
		}
	}
}
