package widget

import (
	"context"
	"sync"
	"time"

	"github.com/parleychat/parley"
)

// pageView is what the server knows of one page showing the widget.
type pageView struct {
	account, url  string
	loaded        time.Time
	lastAlive     time.Time
	visible       time.Time
	lastHeartbeat time.Time
	left          bool
	suspected     bool
}

// tracker matches each page view's beacons and flags the ones whose
// launcher never showed, or whose frame went silent while the page stayed.
type tracker struct {
	cfg    Config
	record func(accountID, typ string, data any)
	now    func() time.Time

	mu    sync.Mutex
	views map[string]*pageView
}

func newTracker(cfg Config, record func(string, string, any)) *tracker {
	return &tracker{cfg: cfg, record: record, now: time.Now, views: make(map[string]*pageView)}
}

// signal applies one beacon.
func (t *tracker) signal(accountID string, b beacon) {
	now := t.now()
	t.mu.Lock()
	v := t.views[b.PV]
	if v == nil {
		if len(t.views) >= t.cfg.MaxPageViews {
			t.mu.Unlock()
			return
		}
		v = &pageView{account: accountID, loaded: now, lastAlive: now}
		t.views[b.PV] = v
	}
	if v.account != accountID { // a pv belongs to the account that loaded it
		t.mu.Unlock()
		return
	}
	if b.URL != "" && v.url == "" && b.Kind != "heartbeat" && b.Kind != "forged" {
		v.url = b.URL // the loader knows the page URL; the frame does not
	}
	url := v.url
	switch b.Kind {
	case "load":
		v.loaded, v.lastAlive = now, now
	case "alive":
		v.lastAlive = now
	case "visible":
		v.visible = now
	case "heartbeat":
		v.lastHeartbeat = now
	case "leave":
		v.left = true
	}
	t.mu.Unlock()

	switch b.Kind {
	case "load":
		t.record(accountID, parley.EventWidgetLoaded, map[string]string{"pv": b.PV, "url": url})
	case "open":
		t.record(accountID, parley.EventWidgetOpened, map[string]string{"pv": b.PV, "url": url})
	case "tampered":
		t.record(accountID, parley.EventWidgetTampered, map[string]string{"pv": b.PV, "url": url, "what": b.Detail})
	case "forged":
		t.record(accountID, parley.EventWidgetForged, map[string]string{"pv": b.PV, "url": url, "count": b.Detail})
	case "engagement_shown":
		t.record(accountID, parley.EventEngagementShown, map[string]string{"pv": b.PV, "url": url, "engagement": b.Detail})
	case "engagement_clicked":
		t.record(accountID, parley.EventEngagementClicked, map[string]string{"pv": b.PV, "url": url, "engagement": b.Detail})
	case "engagement_dismissed":
		t.record(accountID, parley.EventEngagementDismissed, map[string]string{"pv": b.PV, "url": url, "engagement": b.Detail})
	}
}

func (t *tracker) run(ctx context.Context) {
	tick := time.NewTicker(t.cfg.SweepInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.sweep()
		}
	}
}

type suspicion struct {
	account string
	data    map[string]string
}

// sweep flags suspicious page views and forgets finished ones.
func (t *tracker) sweep() {
	now := t.now()
	var found []suspicion
	t.mu.Lock()
	for pv, v := range t.views {
		stays := !v.left && now.Sub(v.lastAlive) < t.cfg.AliveWindow
		if !v.suspected && stays {
			reason := ""
			switch {
			case v.visible.IsZero() && now.Sub(v.loaded) > t.cfg.VisibleTimeout:
				reason = "the launcher never became visible"
			case !v.lastHeartbeat.IsZero() && now.Sub(v.lastHeartbeat) > t.cfg.HeartbeatTimeout:
				reason = "the chat frame stopped while the page stayed"
			}
			if reason != "" {
				v.suspected = true
				found = append(found, suspicion{v.account, map[string]string{"pv": pv, "url": v.url, "reason": reason}})
			}
		}
		if v.left || now.Sub(v.lastAlive) > 10*time.Minute {
			delete(t.views, pv)
		}
	}
	t.mu.Unlock()
	for _, s := range found {
		t.record(s.account, parley.EventWidgetSuspected, s.data)
	}
}
