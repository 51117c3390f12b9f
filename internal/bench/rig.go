package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pair is a visitor's connection and conversation, whose messages one of
// the agents receives.
type pair struct {
	v       *visitor
	c       *conn
	prefix  string // of its client IDs: "-<its address>-"
	mu      sync.Mutex
	sent    []sent // the n-th message sent is sent[n-1]
	arrived chan struct{}
	agent   *conn // the agent subscribed to the conversation
}

// sent is the bookkeeping of one message a pair sent. It is kept in a
// slice indexed by the number that ends the message's client ID, not in
// maps keyed by the ID: the generator shares the machine with the server,
// and maps of every message sent were a tenth of its CPU at max.
type sent struct {
	at    time.Time
	acked bool  // the server acknowledged it
	seen  int32 // deliveries to the agent
}

// next records a message sent at now and returns its client ID.
// Time-ordered, as the widget's client IDs (UUIDv7) are: milliseconds
// first; the pair's address makes it unique across pairs, and the
// message's number ends it. Call with p.mu held.
func (p *pair) next(now time.Time) string {
	p.sent = append(p.sent, sent{at: now})
	id := make([]byte, 0, 48)
	ms := strconv.FormatInt(now.UnixMilli(), 16)
	for range 12 - len(ms) {
		id = append(id, '0')
	}
	id = append(append(id, ms...), p.prefix...)
	return string(strconv.AppendInt(id, int64(len(p.sent)), 10))
}

// message returns the bookkeeping of the message with this client ID, or
// nil if the ID is not one of the pair's. Call with p.mu held.
func (p *pair) message(clientID string) *sent {
	dash := strings.LastIndexByte(clientID, '-')
	if dash < 0 || !strings.HasSuffix(clientID[:dash+1], p.prefix) {
		return nil
	}
	n, err := strconv.Atoi(clientID[dash+1:])
	if err != nil || n < 1 || n > len(p.sent) {
		return nil
	}
	return &p.sent[n-1]
}

// rig is visitors talking to agents over the real protocol, with the
// bookkeeping of latency and loss.
type rig struct {
	t      *Target
	agents []*conn
	pairs  []*pair
	byConv map[string]*pair

	mu        sync.Mutex
	lat       []time.Duration // send → the agent has it
	ackLat    []time.Duration // send → the visitor has the ack (durable)
	recording atomic.Bool

	acked, delivered, dups, errors atomic.Int64
	subscribed                     atomic.Int64
	receipts                       bool // agents send read receipts
}

// newRig creates agents and pairs and subscribes every conversation to one agent.
func newRig(ctx context.Context, t *Target, agents, pairs int, receipts bool) (*rig, error) {
	r := &rig{t: t, byConv: map[string]*pair{}, receipts: receipts}
	r.pairs = make([]*pair, pairs)
	if err := parallel(pairs, 32, func(i int) error {
		v, err := t.newVisitor(ctx, true)
		if err != nil {
			return err
		}
		p := &pair{v: v, arrived: make(chan struct{}, 1)}
		p.prefix = fmt.Sprintf("-%p-", p)
		r.pairs[i] = p
		return nil
	}); err != nil {
		return nil, err
	}
	for _, p := range r.pairs {
		r.byConv[p.v.conversation] = p
	}
	if err := parallel(pairs, 32, func(i int) error {
		p := r.pairs[i]
		c, err := dial(ctx, t.URL, p.v.token, nil, func(f frame, at time.Time) {
			switch f.Type {
			case "ack":
				r.acked.Add(1)
				p.mu.Lock()
				m := p.message(f.ID) // the send frame's id is its client ID
				ok := m != nil
				var sentAt time.Time
				if ok {
					m.acked, sentAt = true, m.at
				}
				p.mu.Unlock()
				if ok && r.recording.Load() {
					r.mu.Lock()
					r.ackLat = append(r.ackLat, at.Sub(sentAt))
					r.mu.Unlock()
				}
			case "error":
				r.errors.Add(1)
			}
		})
		p.c = c
		return err
	}); err != nil {
		return nil, err
	}
	r.agents = make([]*conn, agents)
	if err := parallel(agents, 4, func(i int) error {
		h, err := t.newAgent(ctx, i)
		if err != nil {
			return err
		}
		r.agents[i], err = dial(ctx, t.agentURL(), "", h, r.onAgentFrame)
		return err
	}); err != nil {
		return nil, err
	}
	for i, p := range r.pairs {
		a := r.agents[i%len(r.agents)]
		p.agent = a
		if err := a.send(ctx, map[string]any{"type": "subscribe", "id": "s" + p.v.conversation, "conversation_id": p.v.conversation, "after_seq": 0}); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for r.subscribed.Load() < int64(pairs) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("only %d of %d subscriptions confirmed", r.subscribed.Load(), pairs)
		}
		time.Sleep(5 * time.Millisecond) // polling a counter the readers raise
	}
	return r, nil
}

func (r *rig) onAgentFrame(f frame, at time.Time) {
	switch f.Type {
	case "subscribed":
		r.subscribed.Add(1)
	case "error":
		r.errors.Add(1)
	case "message":
		m := f.Message
		if m.SenderKind != "consumer" {
			return
		}
		p := r.byConv[f.ConversationID]
		if p == nil {
			return
		}
		p.mu.Lock()
		s := p.message(m.ClientID)
		ok := s != nil
		var sentAt time.Time
		first := true
		if ok {
			s.seen++
			sentAt, first = s.at, s.seen == 1
		}
		p.mu.Unlock()
		if !first {
			r.dups.Add(1)
			return
		}
		r.delivered.Add(1)
		if ok && r.recording.Load() {
			r.mu.Lock()
			r.lat = append(r.lat, at.Sub(sentAt))
			r.mu.Unlock()
		}
		if r.receipts {
			// As the console does when a visitor's message is shown.
			b := make([]byte, 0, 128)
			b = append(b, `{"type":"receipt","conversation_id":"`...)
			b = append(b, f.ConversationID...)
			b = append(b, `","kind":"read","seq":`...)
			b = strconv.AppendInt(b, m.Seq, 10)
			b = append(b, '}')
			if err := p.agent.sendText(context.Background(), b); err != nil {
				r.errors.Add(1)
			}
		}
		select {
		case p.arrived <- struct{}{}:
		default:
		}
	}
}

// send sends the pair's next message.
func (r *rig) send(ctx context.Context, p *pair) error {
	p.mu.Lock()
	id := p.next(time.Now())
	p.mu.Unlock()
	// The frame is written out rather than marshalled from a map: the
	// generator shares the machine with the server, so its own CPU per
	// message is kept low (the IDs are ASCII letters, digits and dashes).
	b := make([]byte, 0, 256)
	b = append(b, `{"type":"send","id":"`...)
	b = append(b, id...)
	b = append(b, `","conversation_id":"`...)
	b = append(b, p.v.conversation...)
	b = append(b, `","client_id":"`...)
	b = append(b, id...)
	b = append(b, `","message":{"type":"text","text":"Hello, I have a question about my order `...)
	b = append(b, id...)
	b = append(b, `"}}`...)
	return p.c.sendText(ctx, b)
}

// takeLatencies returns and clears what was recorded: send → delivered
// to the agent, and send → acknowledged to the visitor.
func (r *rig) takeLatencies() (delivered, acked []time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delivered, acked = r.lat, r.ackLat
	r.lat, r.ackLat = nil, nil
	return delivered, acked
}

// loss waits for outstanding acks and deliveries to settle, then counts
// the acknowledged messages never delivered to the agent.
func (r *rig) loss(grace time.Duration) (lost int64) {
	count := func() int64 {
		var n int64
		for _, p := range r.pairs {
			p.mu.Lock()
			for _, m := range p.sent {
				if m.acked && m.seen == 0 {
					n++
				}
			}
			p.mu.Unlock()
		}
		return n
	}
	deadline := time.Now().Add(grace)
	for lost = count(); lost > 0 && time.Now().Before(deadline); lost = count() {
		time.Sleep(20 * time.Millisecond) // polling what the readers record
	}
	return lost
}

func (r *rig) close() {
	for _, p := range r.pairs {
		if p.c != nil {
			p.c.close()
		}
	}
	for _, a := range r.agents {
		if a != nil {
			a.close()
		}
	}
}

// Latency summarises latencies.
type Latency struct {
	P50, P90, P99, Max time.Duration
	N                  int
}

func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return Latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ds[len(ds)-1], N: len(ds)}
}

// MarshalJSON writes latencies in milliseconds.
func (l Latency) MarshalJSON() ([]byte, error) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return json.Marshal(map[string]any{"p50_ms": ms(l.P50), "p90_ms": ms(l.P90), "p99_ms": ms(l.P99), "max_ms": ms(l.Max), "samples": l.N})
}
