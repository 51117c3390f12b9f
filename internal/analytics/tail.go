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
// seqs that starts right after the rollup's cursor.

// Tail keeps, per account, the latest run of consecutive events the bus
// delivered, for the rollup (RollUpAll) to fold. A node that does not
// roll up (in a cluster, every node but the leader) keeps nothing: a
// Tail holds events only while rollups take from it.
type Tail struct {
	limit    int          // events held, all accounts together
	lastTake atomic.Int64 // when a rollup last took from it (Unix ns)

	mu   sync.Mutex
	runs map[string]*tailRun // by account
	held int
}

// tailRun is an account's events with consecutive seqs, oldest first.
type tailRun struct {
	events []tailEvent
	// sealed: the Tail was full when the next event came, so none is
	// added until the rollup has taken these (the store has the rest).
	sealed bool
}

// tailEvent is an event as the rollup reads it. A message keeps only its
// sender's kind; any other event is kept whole.
type tailEvent struct {
	seq          int64
	createdAt    int64 // Unix µs
	conversation string
	sender       string        // a message's sender_kind, if it is a string
	hasSender    bool          // it is
	whole        *parley.Event // nil for a message
}

// DefaultTailLimit bounds the events a Tail holds, about 50 bytes each: ten
// seconds (the rollup's default tick) at 20,000 messages a second.
const DefaultTailLimit = 200_000

// tailIdle is how long a Tail keeps holding events after the last rollup
// took from it.
const tailIdle = time.Minute

// NewTail returns a Tail that holds at most limit events (DefaultTailLimit
// when limit ≤ 0).
func NewTail(limit int) *Tail {
	if limit <= 0 {
		limit = DefaultTailLimit
	}
	return &Tail{limit: limit, runs: make(map[string]*tailRun)}
}

// OnEvent is the Tail's bus subscriber.
func (t *Tail) OnEvent(e *parley.Event) {
	if e.Seq <= 0 {
		return
	}
	if time.Since(time.Unix(0, t.lastTake.Load())) > tailIdle {
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
		if k := gjson.GetBytes(e.Data, "sender_kind"); k.Type == gjson.String {
			te.sender, te.hasSender = k.Str, true
			for _, kind := range []parley.SenderKind{parley.SenderConsumer, parley.SenderAgent, parley.SenderBot, parley.SenderSystem} {
				if k.Str == string(kind) {
					te.sender = string(kind) // the constant's bytes: no copy held
				}
			}
		}
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
	if n := len(run.events); n > 0 && run.events[n-1].seq+1 != e.Seq {
		if e.Seq <= run.events[n-1].seq {
			return // delivered again, or late: the run has it or is past it
		}
		// A gap the bus left: the store has what lies between, and a new
		// run starts here.
		clear(run.events)
		t.held -= n
		run.events = run.events[:0]
	}
	if t.held >= t.limit {
		// Full: the run stays for the rollup to fold, and takes nothing
		// more until then; the store has what follows it.
		run.sealed = len(run.events) > 0
		return
	}
	run.events = append(run.events, te)
	t.held++
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
	if r == nil || len(r.events) == 0 {
		delete(t.runs, accountID)
		return nil, false
	}
	if first := r.events[0].seq; after >= first { // read up to after: those go
		drop := min(int(after-first+1), len(r.events))
		clear(r.events[:drop])
		r.events = r.events[drop:]
		t.held -= drop
		if len(r.events) == 0 {
			delete(t.runs, accountID) // and its seal
			return nil, false
		}
	}
	if r.events[0].seq != after+1 {
		return nil, false // a gap between the cursor and the run
	}
	n := min(limit, len(r.events))
	events = make([]*parley.Event, n)
	for i, te := range r.events[:n] {
		if te.whole != nil {
			events[i] = te.whole
			continue
		}
		events[i] = &parley.Event{AccountID: accountID, Seq: te.seq, Type: parley.EventMessageCreated, ConversationID: te.conversation,
			Data: te.data(), CreatedAt: time.UnixMicro(te.createdAt).UTC()}
	}
	return events, true
}

// data is a message event's data as the rollup reads it: its sender's
// kind.
func (te tailEvent) data() []byte {
	if !te.hasSender {
		return []byte(`{}`)
	}
	if d, ok := senderData[parley.SenderKind(te.sender)]; ok {
		return d
	}
	d, _ := json.Marshal(map[string]string{"sender_kind": te.sender})
	return d
}

// senderData are the usual kinds' data, shared.
var senderData = map[parley.SenderKind][]byte{
	parley.SenderConsumer: []byte(`{"sender_kind":"consumer"}`),
	parley.SenderAgent:    []byte(`{"sender_kind":"agent"}`),
	parley.SenderBot:      []byte(`{"sender_kind":"bot"}`),
	parley.SenderSystem:   []byte(`{"sender_kind":"system"}`),
}
