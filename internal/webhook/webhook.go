// Package webhook delivers accounts' events to their webhooks: a
// dispatcher copies new events from the log into each webhook's durable
// outbox, and senders post them signed (Standard Webhooks), in order per
// conversation, retrying with exponential backoff and jitter for more than
// a day before the webhook is turned off.
package webhook

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/outbound"
)

// DefaultBackoff is the wait after each failed attempt: 12 retries over
// about 32 hours. After the last, the delivery fails for good and its
// webhook is turned off.
var DefaultBackoff = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour, 8 * time.Hour,
}

// Options tune the service. Zero fields take the defaults.
type Options struct {
	Backoff     []time.Duration // default DefaultBackoff
	Tick        time.Duration   // how often the outbox is looked at without a wake-up (default 1 s)
	Concurrency int             // attempts in flight (default 8)
	Timeout     time.Duration   // per attempt (default 10 s)
	Batch       int             // events copied per webhook per round (default 500)
}

// Service runs the dispatcher and the senders.
type Service struct {
	store  parley.Store
	log    *slog.Logger
	client *outbound.Client
	opt    Options
	wake   chan struct{}
	now    func() time.Time

	mu sync.Mutex
	// refreshed is when the active webhooks were last listed; with none,
	// a round costs nothing until the next listing (every Tick, or at
	// once after Changed).
	refreshed time.Time
	changed   bool
	inFlight  map[string]bool
	// finished holds when each recent attempt's outcome was committed: a
	// list of due deliveries read before that still shows it pending, and
	// must not send it again.
	finished  map[string]time.Time
	lastFetch time.Time
	hooks     map[string]*parley.Webhook // active ones, by ID, as of the last round
}

// New returns a service posting through client.
func New(store parley.Store, client *outbound.Client, log *slog.Logger, opt Options) *Service {
	if len(opt.Backoff) == 0 {
		opt.Backoff = DefaultBackoff
	}
	if opt.Tick <= 0 {
		opt.Tick = time.Second
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	return &Service{store: store, log: log, client: client, opt: opt, wake: make(chan struct{}, 1), now: time.Now,
		inFlight: map[string]bool{}, finished: map[string]time.Time{}, hooks: map[string]*parley.Webhook{}}
}

// OnEvent wakes the service; it never blocks the bus.
func (s *Service) OnEvent(*parley.Event) {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Changed tells the service that webhooks were created, changed or
// deleted, so the next round lists them again.
func (s *Service) Changed() {
	s.mu.Lock()
	s.changed = true
	s.mu.Unlock()
	s.OnEvent(nil)
}

// idle reports whether there is nothing to do this round: no active
// webhook as of a listing younger than a tick, and no change since.
func (s *Service) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.hooks) == 0 && !s.changed && time.Since(s.refreshed) < s.opt.Tick
}

// Run delivers until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(s.opt.Tick)
	defer tick.Stop()
	sem := make(chan struct{}, s.opt.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		if s.idle() {
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			case <-tick.C:
			}
			continue
		}
		if err := s.dispatch(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhooks: dispatch", "err", err)
		}
		if err := s.send(ctx, sem, &wg); err != nil && ctx.Err() == nil {
			s.log.Warn("webhooks: send", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
	}
}

// dispatch copies new events of every active webhook into its outbox.
func (s *Service) dispatch(ctx context.Context) error {
	s.mu.Lock()
	s.changed = false // a change from now on is seen next round
	s.mu.Unlock()
	hooks, err := s.store.ListActiveWebhooks(ctx)
	if err != nil {
		return err
	}
	active := make(map[string]*parley.Webhook, len(hooks))
	for _, w := range hooks {
		active[w.ID] = w
		for {
			events, err := s.store.ListEvents(ctx, w.AccountID, parley.EventFilter{After: w.Cursor, Types: parley.ExpandEventTypes(w.Types), Limit: s.opt.Batch})
			if err != nil {
				return err
			}
			if len(events) == 0 {
				break
			}
			ds := make([]*parley.WebhookDelivery, 0, len(events))
			for _, e := range events {
				ds = append(ds, &parley.WebhookDelivery{EventSeq: e.Seq, EventType: e.Type, ConversationID: e.ConversationID, Payload: parley.WebhookBody(e)})
			}
			if err := s.store.EnqueueDeliveries(ctx, w, ds, events[len(events)-1].Seq); err != nil {
				if parley.ErrorCode(err) == parley.ECONFLICT {
					break // another dispatcher moved it; next round
				}
				return err
			}
			if len(events) < s.opt.Batch {
				break
			}
		}
	}
	s.mu.Lock()
	s.hooks, s.refreshed = active, time.Now()
	s.mu.Unlock()
	return nil
}

// send starts an attempt for each due delivery not already in flight.
func (s *Service) send(ctx context.Context, sem chan struct{}, wg *sync.WaitGroup) error {
	fetched := time.Now()
	s.mu.Lock()
	for id, at := range s.finished {
		if at.Before(s.lastFetch) { // every read since has seen it
			delete(s.finished, id)
		}
	}
	s.lastFetch = fetched
	s.mu.Unlock()
	// Held long enough for every fetched delivery to be tried by this
	// node's senders, at worst one timeout after another.
	lease := 5*s.opt.Timeout + 10*time.Second
	due, err := s.store.DueDeliveries(ctx, s.now(), lease, 4*s.opt.Concurrency)
	if err != nil {
		return err
	}
	for _, d := range due {
		s.mu.Lock()
		w := s.hooks[d.WebhookID]
		busy := s.inFlight[d.ID] || s.finished[d.ID].After(fetched)
		if w != nil && !busy {
			s.inFlight[d.ID] = true
		}
		s.mu.Unlock()
		if w == nil || busy {
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.attempt(ctx, w, d)
			s.mu.Lock()
			delete(s.inFlight, d.ID)
			s.finished[d.ID] = time.Now()
			s.mu.Unlock()
			s.OnEvent(nil) // the next delivery of this conversation may be due now
		}()
	}
	return nil
}

// attempt posts one delivery and records the outcome.
func (s *Service) attempt(ctx context.Context, w *parley.Webhook, d *parley.WebhookDelivery) {
	actx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	status, _, err := s.client.Post(actx, w.URL, w.Secret, d.ID, d.Payload)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: the delivery stays pending and is retried after restart
	}
	now := s.now()
	d.Attempts++
	d.LastStatus = status
	disable := ""
	if err == nil {
		d.State, d.LastError, d.DeliveredAt = parley.DeliveryDelivered, "", &now
	} else {
		d.LastError = err.Error()
		if len(d.LastError) > 500 {
			d.LastError = d.LastError[:500]
		}
		if d.Attempts > len(s.opt.Backoff) {
			d.State = parley.DeliveryFailed
			disable = fmt.Sprintf("delivery %s of event %d failed %d times since %s (last: %s)",
				d.ID, d.EventSeq, d.Attempts, d.CreatedAt.Format(time.RFC3339), d.LastError)
		} else {
			d.NextAttemptAt = now.Add(jitter(s.opt.Backoff[d.Attempts-1]))
		}
	}
	if err := s.store.RecordAttempt(context.WithoutCancel(ctx), d, disable); err != nil && parley.ErrorCode(err) != parley.ENOTFOUND {
		s.log.Warn("webhooks: record attempt", "delivery", d.ID, "err", err)
	}
}

// jitter spreads retries by ±20% so failing receivers are not hit in waves.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
