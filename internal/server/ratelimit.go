package server

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/parleychat/parley"
)

// RateLimit is a per-client-address budget for a public endpoint: Per
// requests each Every, with bursts up to Burst. A zero Every turns it off.
type RateLimit struct {
	Every time.Duration
	Burst int
}

// RateLimits guard the endpoints anyone may call without credentials.
type RateLimits struct {
	Login          RateLimit // POST /api/v1/auth/login and what checks a password or code again (guessing)
	ConsumerTokens RateLimit // POST /api/v1/consumer-tokens (creates visitors)
	Beacons        RateLimit // POST /widget/beacon
	// VisitorMessages is per visitor, not per address: the messages and
	// files one visitor sends, over the WebSocket or REST, on this node.
	// Nobody types faster; a script flooding a brand's agents and disk
	// does.
	VisitorMessages RateLimit
}

// DefaultRateLimits are generous for people and tight for scripts.
var DefaultRateLimits = RateLimits{
	Login:          RateLimit{Every: 6 * time.Second, Burst: 10},
	ConsumerTokens: RateLimit{Every: time.Second, Burst: 20},
	Beacons:        RateLimit{Every: 100 * time.Millisecond, Burst: 100},
	// 4 a second, 20 at once (a reconnecting widget's outbox).
	VisitorMessages: RateLimit{Every: 250 * time.Millisecond, Burst: 20},
}

// limiter keeps one token bucket per client address.
type limiter struct {
	limit RateLimit
	mu    sync.Mutex
	by    map[string]*clientBucket
}

type clientBucket struct {
	*rate.Limiter
	seen time.Time
	// until, when set, refuses everything before it (see allowHolding).
	until time.Time
}

func newLimiter(l RateLimit) *limiter { return &limiter{limit: l, by: map[string]*clientBucket{}} }

func (l *limiter) allow(addr string, now time.Time) (bool, time.Duration) {
	return l.allowHolding(addr, now, 0)
}

// allowHolding is allow that, once it refuses, refuses everything for at
// least hold: requests sent together (a widget's outbox) are then all
// refused, rather than a later one let through by a token that refilled
// after an earlier one was refused — which would reorder them.
func (l *limiter) allowHolding(addr string, now time.Time, hold time.Duration) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.by[addr]
	if b == nil {
		if len(l.by) > 100000 { // forget idle clients rather than grow without bound
			for k, v := range l.by {
				if now.Sub(v.seen) > 10*time.Minute {
					delete(l.by, k)
				}
			}
		}
		b = &clientBucket{Limiter: rate.NewLimiter(rate.Every(l.limit.Every), l.limit.Burst)}
		l.by[addr] = b
	}
	b.seen = now
	if now.Before(b.until) {
		return false, b.until.Sub(now)
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		if hold > 0 {
			d = max(d, hold)
			b.until = now.Add(d)
		}
		return false, d
	}
	return true, 0
}

// take spends a token of addr's bucket that another node of the cluster
// let through: the budget is the cluster's, not each node's.
func (l *limiter) take(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.by[addr]
	if b == nil {
		b = &clientBucket{Limiter: rate.NewLimiter(rate.Every(l.limit.Every), l.limit.Burst)}
		l.by[addr] = b
	}
	b.seen = now
	b.ReserveN(now, 1) // kept, even into debt: the request was served
}

// limited wraps h with the budget; over it, 429 rate_limited with Retry-After.
// spent, when set, is told of every request let through (a cluster's
// other nodes take the same token).
func limited(lim *limiter, h http.Handler, spent func(addr string)) http.Handler {
	if lim.limit.Every <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ok, wait := lim.allow(host, time.Now()); !ok {
			secs := int(wait.Seconds()) + 1
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "rate_limited",
				"message": "too many requests from this address; try again in " + strconv.Itoa(secs) + " s"}})
			return
		}
		if spent != nil {
			spent(host)
		}
		h.ServeHTTP(w, r)
	})
}

// throttle returns the conversation service's check of a visitor's
// message rate (nil when off): over it, rate_limited, saying how long to
// wait — at least a second, during which every message of theirs is
// refused, so that a burst refused in part is resent in its order.
func throttle(l RateLimit) func(p parley.Principal) error {
	if l.Every <= 0 {
		return nil
	}
	lim := newLimiter(l)
	perMinute := int(time.Minute / l.Every)
	return func(p parley.Principal) error {
		if p.Kind != parley.PrincipalConsumer {
			return nil
		}
		if ok, wait := lim.allowHolding(p.ID, time.Now(), time.Second); !ok {
			return parley.Errorf(parley.ERATELIMITED, "too many messages: a visitor may send %d a minute, %d at once; wait %.1f s",
				perMinute, l.Burst, wait.Seconds())
		}
		return nil
	}
}
