package analytics

import (
	"context"
	"sync"
	"time"

	"github.com/parleychat/parley"
)

// Reply-time window and thresholds.
const (
	ReplyWindow     = 7 * 24 * time.Hour // the first responses looked at
	ReplyMinSamples = 5                  // fewer say nothing
	ReplyRefresh    = 10 * time.Minute   // how long an account's figure is kept
)

// ReplyTimes says how soon each account typically answers, for the widget
// to tell visitors ("We typically reply in under an hour"), as Intercom's
// messenger does: the median first response of the last seven days (whole
// hours, so read from the rollup), when there were at least
// ReplyMinSamples. A page view never waits for it: Typical answers from
// what was computed before and refreshes in the background.
type ReplyTimes struct {
	store parley.Store
	now   func() time.Time
	mu    sync.Mutex
	known map[string]*replyTime
}

type replyTime struct {
	median time.Duration // 0: not enough first responses, or not known yet
	at     time.Time     // when computed
	busy   bool          // a computation is running
}

// NewReplyTimes returns reply times over store; now is the clock (nil:
// time.Now).
func NewReplyTimes(store parley.Store, now func() time.Time) *ReplyTimes {
	if now == nil {
		now = time.Now
	}
	return &ReplyTimes{store: store, now: now, known: map[string]*replyTime{}}
}

// Typical returns the account's typical first response, or false when it
// is not known: too few first responses, or not computed yet (the first
// call starts it).
func (r *ReplyTimes) Typical(accountID string) (time.Duration, bool) {
	r.mu.Lock()
	e := r.known[accountID]
	if e == nil {
		e = &replyTime{}
		r.known[accountID] = e
	}
	refresh := !e.busy && (e.at.IsZero() || r.now().Sub(e.at) >= ReplyRefresh)
	if refresh {
		e.busy = true
	}
	median := e.median
	r.mu.Unlock()
	if refresh {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			m, err := r.Median(ctx, accountID)
			r.mu.Lock()
			defer r.mu.Unlock()
			e.busy = false
			if err == nil { // on error keep what was known, and try again next time
				e.median, e.at = m, r.now()
			}
		}()
	}
	return median, median > 0
}

// Median computes the account's median first response over the window
// (0 when there were fewer than ReplyMinSamples).
func (r *ReplyTimes) Median(ctx context.Context, accountID string) (time.Duration, error) {
	to := r.now().Truncate(time.Hour)
	rep, err := Compute(ctx, r.store, accountID, Query{From: to.Add(-ReplyWindow), To: to, Bucket: "day"}, nil)
	if err != nil {
		return 0, err
	}
	fr := rep.Totals.FirstResponse
	if fr.Count < ReplyMinSamples {
		return 0, nil
	}
	// At least a second: a known figure is never 0.
	return max(time.Duration(float64(fr.P50)*float64(time.Second)), time.Second), nil
}
