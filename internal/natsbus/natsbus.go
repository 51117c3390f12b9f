// Package natsbus is the cluster shape's Bus: the events a node commits
// reach its own subscribers at once, in process (as localbus does), and
// the other nodes' through NATS.
//
// Each Publish goes out as one or more NATS messages on the subject
// PREFIX.events.ACCOUNT, a JSON array of events, with the publishing node's
// ID in a header so that the node skips its own copy when NATS hands it
// back. Core NATS, not JetStream: the bus is a hint that something changed
// (parley.Bus), and whoever needs every change reads it from the store —
// a node that was cut off from NATS for a while catches up as a
// reconnecting client does.
package natsbus

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/localbus"
)

// nodeHeader names the node that published a message.
const nodeHeader = "Parley-Node"

// Bus is a parley.Bus over NATS.
type Bus struct {
	local  *localbus.Bus // every node's events
	own    *localbus.Bus // this node's only
	nc     *nats.Conn
	sub    *nats.Subscription
	prefix string
	node   string
	log    *slog.Logger
}

var _ parley.Bus = (*Bus)(nil)

// Options tune a Bus. The zero value works.
type Options struct {
	// Prefix starts every subject (default "parley"); nodes of one
	// installation share it, and tests use a unique one.
	Prefix string
	// Name is this node's name in NATS's monitoring (default "parley").
	Name string
	Log  *slog.Logger
}

// Open connects to the NATS server at url (nats://host:4222, or several,
// comma-separated) and subscribes to every account's events.
func Open(url string, opt Options) (*Bus, error) {
	if opt.Prefix == "" {
		opt.Prefix = "parley"
	}
	if opt.Name == "" {
		opt.Name = "parley"
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{local: localbus.New(), own: localbus.New(), prefix: opt.Prefix, node: parley.NewID("node"), log: opt.Log}
	nc, err := nats.Connect(url,
		nats.Name(opt.Name),
		nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1), // keep trying: the store has everything meanwhile
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.log.Warn("NATS disconnected; other nodes' changes arrive again once it is back", "err", err)
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { b.log.Info("NATS reconnected", "server", c.ConnectedUrlRedacted()) }),
	)
	if err != nil {
		return nil, fmt.Errorf("NATS at %s: %w", url, err)
	}
	b.nc = nc
	b.sub, err = nc.Subscribe(opt.Prefix+".events.>", b.receive)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	// The subscription is in place on the server before Open returns:
	// nothing published by another node after that is missed.
	if err := nc.Flush(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("NATS flush: %w", err)
	}
	return b, nil
}

// Publish hands the events to this node's subscribers, in order, and
// sends them to the other nodes.
func (b *Bus) Publish(ctx context.Context, events []*parley.Event) error {
	b.local.Publish(ctx, events)
	b.own.Publish(ctx, events)
	// One message per account and run of events, within NATS's size limit.
	max := int(b.nc.MaxPayload()) - 1024
	for start := 0; start < len(events); {
		account := events[start].AccountID
		end, size := start, 2
		for end < len(events) && events[end].AccountID == account {
			n := len(events[end].Data) + 256
			if end > start && size+n > max {
				break
			}
			size += n
			end++
		}
		if err := b.send(account, events[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

func (b *Bus) send(account string, events []*parley.Event) error {
	body, err := json.Marshal(events)
	if err != nil {
		return err
	}
	msg := &nats.Msg{Subject: b.prefix + ".events." + account, Data: body, Header: nats.Header{}}
	msg.Header.Set(nodeHeader, b.node)
	if err := b.nc.PublishMsg(msg); err != nil {
		// Not fatal to the write, which is committed: other nodes read
		// it from the store when they next catch up.
		b.log.Warn("NATS publish failed", "account", account, "events", len(events), "err", err)
		return parley.Errorf(parley.EUNAVAILABLE, "NATS publish: %v", err)
	}
	return nil
}

// receive hands another node's events to this node's subscribers.
func (b *Bus) receive(m *nats.Msg) {
	if m.Header.Get(nodeHeader) == b.node {
		return // delivered locally when published
	}
	var events []*parley.Event
	if err := json.Unmarshal(m.Data, &events); err != nil {
		b.log.Warn("NATS: an unreadable events message", "subject", m.Subject, "err", err)
		return
	}
	b.local.Publish(context.Background(), events)
}

// Subscribe registers fn for every event, this node's and the others',
// until the returned function is called.
func (b *Bus) Subscribe(fn func(*parley.Event)) func() { return b.local.Subscribe(fn) }

// SubscribeLocal registers fn for the events this node publishes only:
// for work that one node must do once per change, such as the bot's turn
// after a visitor's message (the node that stored the message answers it).
func (b *Bus) SubscribeLocal(fn func(*parley.Event)) func() { return b.own.Subscribe(fn) }

// Announce sends data to the other nodes on PREFIX.topic.TOPIC: state
// that is not an event and lives only while nodes keep saying it (which
// agents each node has connected). Nothing is kept; a node that is not
// listening misses it.
func (b *Bus) Announce(topic string, data []byte) error {
	msg := &nats.Msg{Subject: b.prefix + ".topic." + topic, Data: data, Header: nats.Header{}}
	msg.Header.Set(nodeHeader, b.node)
	return b.nc.PublishMsg(msg)
}

// Listen calls fn with what the other nodes announce on topic.
func (b *Bus) Listen(topic string, fn func(data []byte)) error {
	_, err := b.nc.Subscribe(b.prefix+".topic."+topic, func(m *nats.Msg) {
		if m.Header.Get(nodeHeader) != b.node {
			fn(m.Data)
		}
	})
	if err != nil {
		return err
	}
	return b.nc.Flush()
}

// Ping reports whether the NATS connection is up (readiness).
func (b *Bus) Ping(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return parley.Errorf(parley.EUNAVAILABLE, "NATS is not connected (%s)", b.nc.Status())
	}
	return nil
}

// Close drains the subscription and closes the connection.
func (b *Bus) Close() error {
	b.sub.Unsubscribe()
	b.nc.Close()
	return nil
}
