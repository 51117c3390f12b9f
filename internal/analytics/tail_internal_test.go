package analytics

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// TestATailHoldsOnlyWhatARollupWillTake: a node that does not roll up (a
// cluster's followers) holds nothing; a Tail never holds more than its
// limit; what the rollup has read is let go.
func TestATailHoldsOnlyWhatARollupWillTake(t *testing.T) {
	ev := func(seq int64) *parley.Event {
		return &parley.Event{AccountID: "acc_1", Seq: seq, Type: parley.EventMessageCreated, ConversationID: "cnv_1",
			Data: []byte(`{"id":"msg","sender_kind":"agent"}`), CreatedAt: time.Now()}
	}
	tail := NewTail(3, time.Minute)
	tail.OnEvent(ev(1))
	if tail.held != 0 {
		t.Fatalf("a Tail no rollup took from holds %d events", tail.held)
	}
	if _, ok := tail.take("acc_1", 0, 10); ok {
		t.Fatal("an empty Tail served events")
	}
	for seq := int64(1); seq <= 5; seq++ {
		tail.OnEvent(ev(seq))
	}
	if tail.held > 3 {
		t.Fatalf("a Tail of 3 holds %d events", tail.held)
	}
	other := ev(1)
	other.AccountID = "acc_2"
	tail.OnEvent(other) // the Tail is full: another account's first event waits in the store
	if _, ok := tail.take("acc_2", 0, 10); ok {
		t.Fatal("a full Tail served an event it had no room for")
	}
	events, ok := tail.take("acc_1", 0, 10)
	if !ok || len(events) != 3 || events[0].Seq != 1 || events[2].Seq != 3 || string(events[2].Data) != `{"sender_kind":"agent"}` {
		t.Fatalf("took %v (%v)", events, ok)
	}
	if events, ok := tail.take("acc_1", 2, 10); !ok || len(events) != 1 || events[0].Seq != 3 || tail.held != 1 {
		t.Fatalf("after 2: took %v (%v), %d held", events, ok, tail.held)
	}
	if _, ok := tail.take("acc_1", 3, 10); ok || tail.held != 0 {
		t.Fatalf("after 3 (all read): served %v, %d held", ok, tail.held)
	}
	// Seq 6 waits for 4 and 5, which the Tail missed; once the rollup has
	// read them from the store, the run goes on from 6.
	tail.OnEvent(ev(6))
	if _, ok := tail.take("acc_1", 3, 10); ok {
		t.Fatal("the Tail served a run that does not follow the cursor")
	}
	if events, ok := tail.take("acc_1", 5, 10); !ok || len(events) != 1 || events[0].Seq != 6 {
		t.Fatalf("after 5: took %v (%v)", events, ok)
	}
	// Another node leads now: no rollup takes from this Tail, which lets
	// go of what it holds.
	tail.lastTake.Store(time.Now().Add(-2 * time.Minute).UnixNano())
	tail.OnEvent(ev(7))
	if tail.held != 0 || len(tail.runs) != 0 {
		t.Fatalf("a Tail no rollup takes from still holds %d events", tail.held)
	}
}

// TestARunLongerThanABlockIsServedInOrder: a run spans several blocks;
// the rollup's pages, and what it lets go of, cross their edges.
func TestARunLongerThanABlockIsServedInOrder(t *testing.T) {
	for _, page := range []int{333, tailBlock / 4} { // across blocks' edges, and onto them
		t.Run(fmt.Sprint("pages of ", page), func(t *testing.T) { readInPages(t, page) })
	}
}

func readInPages(t *testing.T, pageSize int) {
	tail := NewTail(0, 0)
	tail.take("acc_1", 0, 1) // a rollup takes from it
	const n = 3*tailBlock + 17
	for seq := int64(1); seq <= n; seq++ {
		e := &parley.Event{AccountID: "acc_1", Seq: seq, Type: parley.EventMessageCreated, ConversationID: "cnv_1",
			Data: []byte(`{"sender_kind":"consumer"}`), CreatedAt: time.Now()}
		if seq%3 == 0 {
			e.Type, e.Data = parley.EventConversationAssigned, []byte(`{"seq":1}`)
		}
		tail.OnEvent(e)
	}
	if tail.held != n {
		t.Fatalf("held %d of %d", tail.held, n)
	}
	after := int64(0)
	for after < n {
		page, ok := tail.take("acc_1", after, pageSize)
		if !ok || len(page) == 0 {
			t.Fatalf("after %d: nothing served", after)
		}
		for i, e := range page {
			if e.Seq != after+int64(i)+1 || (e.Seq%3 == 0) != (e.Type == parley.EventConversationAssigned) {
				t.Fatalf("after %d: event %d is seq %d (%s)", after, i, e.Seq, e.Type)
			}
		}
		after = page[len(page)-1].Seq
		if want := n - int(after) + len(page); tail.held != want {
			t.Fatalf("after %d: %d held, want the %d not read before this page", after, tail.held, want)
		}
	}
	if _, ok := tail.take("acc_1", after, pageSize); ok || tail.held != 0 {
		t.Fatalf("all read: %d still held", tail.held)
	}
}

// TestEventsThatComeEarlyJoinTheRunInOrder: in a cluster one node's
// commits can reach the leader before those another node numbered just
// before them. The run keeps them until the gap fills, serves everything
// in order, and counts what it holds; a gap the bus never fills is let go.
func TestEventsThatComeEarlyJoinTheRunInOrder(t *testing.T) {
	ev := func(seq int64) *parley.Event {
		return &parley.Event{AccountID: "acc_1", Seq: seq, Type: parley.EventMessageCreated, ConversationID: "cnv_1",
			Data: []byte(`{"sender_kind":"consumer"}`), CreatedAt: time.Now()}
	}
	tail := NewTail(2*tailEarly, time.Minute)
	tail.take("acc_1", 0, 1) // a rollup takes from it
	for _, seq := range []int64{1, 2, 5, 6, 3, 9, 4, 7, 8, 8, 5, 10} {
		tail.OnEvent(ev(seq))
	}
	if tail.held != 10 {
		t.Fatalf("the Tail holds %d events; want 10", tail.held)
	}
	events, ok := tail.take("acc_1", 0, 100)
	if !ok || len(events) != 10 {
		t.Fatalf("took %d events (%v); want 10", len(events), ok)
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
	// 11 never comes: 12 and on wait, up to tailEarly of them, then a new
	// run starts; the store has 11.
	for seq := int64(12); seq < 12+tailEarly+1; seq++ {
		tail.OnEvent(ev(seq))
	}
	if _, ok := tail.take("acc_1", 10, 100); ok {
		t.Fatal("the Tail served events past a gap")
	}
	if events, ok := tail.take("acc_1", 11+tailEarly, 100); !ok || len(events) != 1 || events[0].Seq != 12+tailEarly {
		t.Fatalf("after the gap: took %v (%v)", events, ok)
	}
	if _, ok := tail.take("acc_1", 12+tailEarly, 100); ok || tail.held != 0 {
		t.Fatalf("all read: served %v, %d held", ok, tail.held)
	}
}
