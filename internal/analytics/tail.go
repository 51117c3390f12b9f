package analytics

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/parleychat/parley"
)

// The rollup reads every event once. Read back from the store, that was
// 6 % of the server's CPU under parley bench's max, and a sixth of the
// bytes it allocated (docs/performance.md, session 33): nearly all of
// them messages, each read whole although the rollup needs only who sent
// it. The same events pass through the bus just before: a Tail, fed by
// the bus, keeps them — messages reduced to the fields the rollup reads —
// and RollUp folds from it whatever follows its cursor without a gap,
// reading the store only for the rest (after a restart, across a gap the
// bus left, past the Tail's limit). So the rollup counts exactly what the
// store holds either way: the Tail only ever serves a run of consecutive
// seqs that starts right after the rollup's cursor. In a cluster the
// events of several nodes' writers reach the leader's Tail in the order
// each node published them, not always in seq order: a run keeps the few
// that come early until the ones before them arrive.

// Tail keeps, per account, the latest run of consecutive events the bus
// delivered, for the rollup (RollUpAll) to fold. A node that does not
// roll up (in a cluster, every node but the leader) keeps nothing: a
// Tail holds events only while rollups take from it.
type Tail struct {
	limit    int           // events held, all accounts together
	idle     time.Duration // how long it holds events after a rollup last took from it
	lastTake atomic.Int64  // when a rollup last took from it (Unix ns)

	mu   sync.Mutex
	runs map[string]*tailRun // by account
	held int
}

// tailRun is an account's events with consecutive seqs, oldest first,
// in blocks of tailBlock: appending never copies what the run holds
// (appending to one slice did, each time it grew — on the store's writer
// goroutine, which publishes), and the rollup's reading lets go of whole
// blocks.
type tailRun struct {
	blocks [][]tailEvent
	head   int   // the first event's index in blocks[0]
	n      int   // events held
	next   int64 // the seq the run takes next (0: any, the run starts anew)
	// sealed: the Tail was full when the next event came, so none is
	// added until the rollup has taken these (the store has the rest).
	sealed bool
	// early holds, by seq, events that came before the one the run waits
	// for. In a cluster each node publishes its own commits, so one
	// node's batch can reach the leader before the batch another node
	// committed just before it; the run takes them once the gap fills.
	// A gap that tailEarly later events have not filled is one the bus
	// left for good (the store has what it missed): the run starts over.
	early map[int64]tailEvent
}

// tailEarly bounds the events a run holds ahead of a gap.
const tailEarly = 4096

// tailBlock is how many events a block of a run holds (64 KiB).
const tailBlock = 1024

func (r *tailRun) first() *tailEvent { return &r.blocks[0][r.head] }

func (r *tailRun) push(te tailEvent) {
	if len(r.blocks) == 0 || len(r.blocks[len(r.blocks)-1]) == tailBlock {
		r.blocks = append(r.blocks, make([]tailEvent, 0, tailBlock))
	}
	last := len(r.blocks) - 1
	r.blocks[last] = append(r.blocks[last], te)
	r.n++
	r.next = te.seq + 1
}

// drop lets go of the first k events (k ≤ r.n).
func (r *tailRun) drop(k int) {
	r.n -= k
	for k > 0 {
		b := r.blocks[0]
		if in := len(b) - r.head; k >= in && len(r.blocks) > 1 {
			r.blocks[0] = nil
			r.blocks = r.blocks[1:]
			r.head = 0
			k -= in
			continue
		}
		clear(b[r.head : r.head+k])
		r.head += k
		k = 0
	}
	if r.n == 0 {
		r.blocks, r.head = nil, 0
	}
}

// each calls fn with the first k events, in order.
func (r *tailRun) each(k int, fn func(*tailEvent)) {
	at := r.head
	for _, b := range r.blocks {
		for i := at; i < len(b) && k > 0; i++ {
			fn(&b[i])
			k--
		}
		at = 0
	}
}

// tailEvent is an event as the rollup reads it. A message keeps only its
// sender's kind; any other event is kept whole.
type tailEvent struct {
	seq          int64
	createdAt    int64 // Unix µs
	conversation string
	data         []byte        // a message's data as the rollup reads it: its sender's kind
	whole        *parley.Event // nil for a message
}

// DefaultTailLimit bounds the events a Tail holds, 64 bytes each: ten
// seconds (the rollup's default tick) at 20,000 messages a second.
const DefaultTailLimit = 200_000

// NewTail returns a Tail that holds at most limit events (DefaultTailLimit
// when limit ≤ 0), and holds none once rollups have not taken from it for
// idle — a few of their ticks (a minute when idle ≤ 0).
func NewTail(limit int, idle time.Duration) *Tail {
	if limit <= 0 {
		limit = DefaultTailLimit
	}
	if idle <= 0 {
		idle = time.Minute
	}
	return &Tail{limit: limit, idle: idle, runs: make(map[string]*tailRun)}
}

// OnEvent is the Tail's bus subscriber.
func (t *Tail) OnEvent(e *parley.Event) {
	if e.Seq <= 0 {
		return
	}
	if time.Since(time.Unix(0, t.lastTake.Load())) > t.idle {
		// No rollup takes from this Tail (any more: another node leads).
		t.mu.Lock()
		if t.held > 0 {
			t.runs, t.held = make(map[string]*tailRun), 0
		}
		t.mu.Unlock()
		return
	}
	te := tailEvent{seq: e.Seq, createdAt: e.CreatedAt.UnixMicro(), conversation: e.ConversationID}
	if e.Type == parley.EventMessageCreated {
		te.data = senderOnly(e.Data)
	} else {
		te.whole = e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	run := t.runs[e.AccountID]
	if run == nil {
		run = &tailRun{}
		t.runs[e.AccountID] = run
	}
	if run.sealed {
		return
	}
	if run.next != 0 && e.Seq != run.next {
		if e.Seq < run.next {
			return // delivered again, or late: the run has it or is past it
		}
		if _, again := run.early[e.Seq]; again {
			return
		}
		if t.held >= t.limit {
			run.sealed = true // as below: the rollup folds the run, the store the rest
			return
		}
		if len(run.early) < tailEarly {
			if run.early == nil {
				run.early = make(map[int64]tailEvent)
			}
			run.early[e.Seq] = te
			t.held++
			return
		}
		// A gap the bus left: the store has what lies between, and a new
		// run starts here.
		t.held -= run.n + len(run.early)
		run.drop(run.n)
		run.early, run.next = nil, 0
	}
	if t.held >= t.limit {
		// Full: the run stays for the rollup to fold, and takes nothing
		// more until then; the store has what follows it.
		run.sealed = run.n > 0
		return
	}
	run.push(te)
	t.held++
	run.takeEarly()
}

// takeEarly moves the events that came early and follow now onto the run.
func (r *tailRun) takeEarly() {
	for len(r.early) > 0 {
		next, ok := r.early[r.next]
		if !ok {
			return
		}
		delete(r.early, next.seq)
		r.push(next)
	}
}

// take returns up to limit of the account's events that follow after,
// when the Tail's run holds the one right after it, and drops the events
// up to after, which the rollup has read. ok is false when the store must
// be read instead.
func (t *Tail) take(accountID string, after int64, limit int) (events []*parley.Event, ok bool) {
	if t == nil {
		return nil, false
	}
	t.lastTake.Store(time.Now().UnixNano())
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.runs[accountID]
	if r == nil {
		// The run starts at what follows the cursor, even if a later
		// event comes first.
		t.runs[accountID] = &tailRun{next: after + 1}
		return nil, false
	}
	if r.n > 0 && after >= r.first().seq { // read up to after: those go
		drop := min(int(after-r.first().seq+1), r.n)
		r.drop(drop)
		t.held -= drop
	}
	if r.n == 0 {
		// All read: the run waits for what follows the cursor, and what
		// came early for it stays.
		r.sealed = false
		if r.next <= after {
			for seq := range r.early {
				if seq <= after {
					delete(r.early, seq)
					t.held--
				}
			}
			r.next = after + 1
			r.takeEarly()
		}
		if r.n == 0 {
			return nil, false
		}
	}
	if r.first().seq != after+1 {
		return nil, false // a gap between the cursor and the run
	}
	events = make([]*parley.Event, 0, min(limit, r.n))
	r.each(min(limit, r.n), func(te *tailEvent) {
		if te.whole != nil {
			events = append(events, te.whole)
			return
		}
		events = append(events, &parley.Event{AccountID: accountID, Seq: te.seq, Type: parley.EventMessageCreated, ConversationID: te.conversation,
			Data: te.data, CreatedAt: time.UnixMicro(te.createdAt).UTC()})
	})
	return events, true
}

// senderOnly is a message event's data as the rollup reads it: its
// sender's kind (shared bytes for the usual kinds).
func senderOnly(data []byte) []byte {
	k := gjson.GetBytes(data, "sender_kind")
	if k.Type != gjson.String {
		return noSender
	}
	if d, ok := senderData[parley.SenderKind(k.Str)]; ok {
		return d
	}
	d, _ := json.Marshal(map[string]string{"sender_kind": k.Str})
	return d
}

// noSender is the data of a message event without a sender's kind.
var noSender = []byte(`{}`)

// senderData are the usual kinds' data, shared.
var senderData = map[parley.SenderKind][]byte{
	parley.SenderConsumer: []byte(`{"sender_kind":"consumer"}`),
	parley.SenderAgent:    []byte(`{"sender_kind":"agent"}`),
	parley.SenderBot:      []byte(`{"sender_kind":"bot"}`),
	parley.SenderSystem:   []byte(`{"sender_kind":"system"}`),
}
