package natsbus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/natsbus"
	"github.com/parleychat/parley/internal/natstest"
)

// open connects a node's bus with a prefix of the test's own.
func open(t *testing.T, prefix string) *natsbus.Bus {
	t.Helper()
	b, err := natsbus.Open(natstest.URL(t), natsbus.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func uniquePrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "parleytest" + hex.EncodeToString(b[:])
}

// collector records the events a subscriber got.
type collector struct {
	mu     sync.Mutex
	events []*parley.Event
}

func (c *collector) add(e *parley.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

// waitFor returns the events once there are n, or fails at the deadline.
func (c *collector) waitFor(t *testing.T, n int) []*parley.Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		got := append([]*parley.Event(nil), c.events...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d events of %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, with a deadline
	}
}

func events(account string, from, n int, data string) []*parley.Event {
	var out []*parley.Event
	for i := 0; i < n; i++ {
		out = append(out, &parley.Event{AccountID: account, Seq: int64(from + i), Type: parley.EventMessageCreated,
			ConversationID: "conv_1", MessageSeq: int64(from + i), Data: json.RawMessage(data), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)})
	}
	return out
}

func TestEveryNodeGetsEveryEventOnceInOrder(t *testing.T) {
	prefix := uniquePrefix()
	a, b := open(t, prefix), open(t, prefix)
	var onA, onB collector
	a.Subscribe(onA.add)
	b.Subscribe(onB.add)
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		if err := a.Publish(ctx, events("acc_1", 1+i*4, 4, `{"text":"hello"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(ctx, events("acc_2", 1, 1, `{}`)); err != nil {
		t.Fatal(err)
	}
	gotA, gotB := onA.waitFor(t, 201), onB.waitFor(t, 201)
	for name, got := range map[string][]*parley.Event{"A": gotA, "B": gotB} {
		var seq int64
		for _, e := range got {
			if e.AccountID != "acc_1" {
				continue
			}
			if e.Seq != seq+1 {
				t.Fatalf("node %s: acc_1 seq %d after %d", name, e.Seq, seq)
			}
			seq = e.Seq
			if string(e.Data) != `{"text":"hello"}` || e.ConversationID != "conv_1" || e.MessageSeq != e.Seq {
				t.Fatalf("node %s: event changed on the way: %+v", name, e)
			}
		}
		if seq != 200 {
			t.Fatalf("node %s: acc_1 up to seq %d, want 200", name, seq)
		}
	}
	// A publisher's own node gets its events once, not again from NATS.
	c := open(t, prefix) // a third node proves the rest has arrived
	var onC collector
	c.Subscribe(onC.add)
	a.Publish(ctx, events("acc_3", 1, 1, `{}`))
	b.Publish(ctx, events("acc_3", 2, 1, `{}`))
	onC.waitFor(t, 2) // B's event has reached the other nodes, A included
	if got := onA.waitFor(t, 203); len(got) != 203 {
		t.Fatalf("node A got %d events, want 203 (its own once)", len(got))
	}
}

func TestAnotherPrefixIsAnotherInstallation(t *testing.T) {
	a, other := open(t, uniquePrefix()), open(t, uniquePrefix())
	var onOther collector
	other.Subscribe(onOther.add)
	a.Publish(context.Background(), events("acc_1", 1, 1, `{}`))
	other.Publish(context.Background(), events("acc_9", 1, 1, `{}`))
	if got := onOther.waitFor(t, 1); len(got) != 1 || got[0].AccountID != "acc_9" {
		t.Fatalf("another installation's events arrived: %+v", got)
	}
}

func TestLargeBatchesAreSplitBelowTheServersLimit(t *testing.T) {
	prefix := uniquePrefix()
	a, b := open(t, prefix), open(t, prefix)
	var onB collector
	b.Subscribe(onB.add)
	big := `{"text":"` + strings.Repeat("x", 60_000) + `"}`
	if err := a.Publish(context.Background(), events("acc_1", 1, 40, big)); err != nil { // ~2.4 MB, over the 1 MB default
		t.Fatal(err)
	}
	got := onB.waitFor(t, 40)
	for i, e := range got {
		if e.Seq != int64(i+1) || len(e.Data) != len(big) {
			t.Fatalf("event %d: seq %d, %d bytes", i, e.Seq, len(e.Data))
		}
	}
}

// TestTheBusComesBackWithNATS: when the NATS server goes away, the nodes
// say they are not ready, and once it is back they hear each other again
// without a restart. It runs a NATS server of its own (Debian's
// nats-server), since it stops it.
func TestTheBusComesBackWithNATS(t *testing.T) {
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("no nats-server binary")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	server := start()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	var a, b *natsbus.Bus
	waitUntil(t, func() bool { // the server takes a moment to listen
		var err error
		if a == nil {
			a, err = natsbus.Open(url, natsbus.Options{Prefix: "p"})
		}
		return err == nil
	})
	defer a.Close()
	b, err = natsbus.Open(url, natsbus.Options{Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var onB collector
	b.Subscribe(onB.add)

	server.Process.Kill()
	server.Wait()
	waitUntil(t, func() bool { return a.Ping(context.Background()) != nil })
	start()
	waitUntil(t, func() bool { return a.Ping(context.Background()) == nil && b.Ping(context.Background()) == nil })
	// Until B's subscription is back on the server, a message may pass it
	// by (the bus is a hint; the store has everything): publish until one
	// arrives.
	waitUntil(t, func() bool {
		a.Publish(context.Background(), events("acc_1", 1, 1, `{}`))
		onB.mu.Lock()
		defer onB.mu.Unlock()
		return len(onB.events) > 0
	})
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met before the deadline")
		}
		time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
	}
}
