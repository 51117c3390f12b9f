package routing

import (
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// hub carries presence snapshots between engines in one process, as NATS
// does between nodes.
type hub struct {
	mu  sync.Mutex
	fns []func([]byte)
}

func (h *hub) SharePresence(b []byte) error {
	h.mu.Lock()
	fns := slices.Clone(h.fns)
	h.mu.Unlock()
	for _, fn := range fns {
		fn(b)
	}
	return nil
}

func (h *hub) OnPresence(fn func([]byte)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fns = append(h.fns, fn)
	return nil
}

// TestOneNodeLeadsTheChores: of the nodes that hear each other, exactly
// one leads (the oldest); when it falls silent, another takes over once
// its snapshot expires; a node alone leads.
func TestOneNodeLeadsTheChores(t *testing.T) {
	h := &hub{}
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var nodes []*Engine
	for range 3 {
		e := New(nil, log, Config{})
		e.now = clock
		if err := e.UsePeers(h); err != nil {
			t.Fatal(err)
		}
		if !e.Leads() {
			t.Fatal("a node that hears no other does not lead")
		}
		nodes = append(nodes, e)
	}
	leaders := func() (n int, who *Engine) {
		for _, e := range nodes {
			if e.Leads() {
				n, who = n+1, e
			}
		}
		return n, who
	}
	for _, e := range nodes {
		e.sharePresence()
	}
	if n, who := leaders(); n != 1 || who != nodes[0] {
		t.Fatalf("%d leaders; want one, the oldest node", n)
	}
	// The leader falls silent (it stopped, or lost NATS); the others keep
	// talking. The next oldest takes over; the silent one, which still
	// hears only younger nodes, goes on as if it led (chores are safe to
	// run twice).
	now = now.Add(nodes[0].peerExpiry() + time.Second)
	for _, e := range nodes[1:] {
		e.sharePresence()
	}
	if !nodes[1].Leads() || nodes[2].Leads() {
		t.Fatalf("after the leader fell silent: node 1 leads %v, node 2 leads %v; want node 1 only", nodes[1].Leads(), nodes[2].Leads())
	}
}
