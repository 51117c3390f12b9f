// Package localbus is the in-process Bus of the embedded shape: publishing
// calls every subscriber's function directly, in publish order.
package localbus

import (
	"context"
	"sync"

	"github.com/parleychat/parley"
)

// Bus is an in-process parley.Bus.
type Bus struct {
	mu     sync.RWMutex
	nextID int
	subs   map[int]func(*parley.Event)
}

var _ parley.Bus = (*Bus)(nil)

// New returns an empty Bus.
func New() *Bus { return &Bus{subs: make(map[int]func(*parley.Event))} }

// Publish calls every subscriber with each event, in order. Subscribers
// promise to return quickly, so publishing never waits on a slow reader.
func (b *Bus) Publish(_ context.Context, events []*parley.Event) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, e := range events {
		for _, fn := range b.subs {
			fn(e)
		}
	}
	return nil
}

// Subscribe registers fn until the returned function is called.
func (b *Bus) Subscribe(fn func(*parley.Event)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.nextID
	b.nextID++
	b.subs[id] = fn
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
	}
}

// Ping reports the bus ready: it is always there.
func (b *Bus) Ping(context.Context) error { return nil }

// Close does nothing: the bus lives as long as the process.
func (b *Bus) Close() error { return nil }

// SubscribeLocal is Subscribe: in one process every event is this node's.
func (b *Bus) SubscribeLocal(fn func(*parley.Event)) func() { return b.Subscribe(fn) }
