package widget

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley"
)

// pageView is what the server knows of one page showing the widget.
type pageView struct {
	account, url  string
	title         string // the page's, from the loader's load beacon
	chatting      bool   // the frame has a conversation (its heartbeats say)
	consumer      string // the visitor, from the frame's token (its heartbeats say)
	invitation    *parley.Invitation
	declined      bool
	loaded        time.Time
	lastAlive     time.Time
	visible       time.Time
	lastHeartbeat time.Time
	left          bool
	suspected     bool
	// judge: this node flags the view if it looks tampered with. Alone,
	// a node judges every view; in a cluster (Peers), the node that took
	// the view's load beacon does, on the beacons of every node.
	judge bool
}

// tracker matches each page view's beacons and flags the ones whose
// launcher never showed, or whose frame went silent while the page stayed.
type tracker struct {
	cfg    Config
	record func(accountID, typ string, data any)
	now    func() time.Time

	mu    sync.Mutex
	views map[string]*pageView

	// share, in a cluster, sends a beacon this node took to the others.
	share func(raw []byte)
}

func newTracker(cfg Config, record func(string, string, any)) *tracker {
	return &tracker{cfg: cfg, record: record, now: time.Now, views: make(map[string]*pageView)}
}

// signal applies one beacon this node took, records its event, and
// passes it to the other nodes of a cluster.
func (t *tracker) signal(accountID string, b beacon) {
	agent := ""
	if b.Kind == "invitation_dismissed" { // whose it was, for the event: the dismissal takes it away
		if inv := t.pendingInvitation(accountID, b.PV); inv != nil && inv.ID == b.Detail {
			agent = inv.AgentID
		}
	}
	if !t.apply(accountID, b, true) {
		return
	}
	b.Account = accountID
	t.shareBeacon(b)
	t.recordBeacon(accountID, b, agent)
}

// fromPeer applies a beacon another node of the cluster took: the page
// view's state only; that node recorded its event.
func (t *tracker) fromPeer(raw []byte) {
	var b beacon
	if json.Unmarshal(raw, &b) != nil || b.PV == "" || b.Account == "" {
		return
	}
	t.apply(b.Account, b, false)
}

// apply updates the page view; false: the beacon is not taken (too many
// views, or one of another account).
func (t *tracker) apply(accountID string, b beacon, local bool) bool {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	v := t.views[b.PV]
	if v == nil && strings.HasPrefix(b.Kind, "invitation") {
		return false // about a page view that has gone
	}
	if v == nil {
		if len(t.views) >= t.cfg.MaxPageViews {
			return false
		}
		v = &pageView{account: accountID, loaded: now, lastAlive: now}
		t.views[b.PV] = v
	}
	if v.account != accountID { // a pv belongs to the account that loaded it
		return false
	}
	if local && (b.Kind == "load" || t.share == nil) {
		v.judge = true
	}
	if b.URL != "" && v.url == "" && b.Kind != "heartbeat" && b.Kind != "forged" {
		v.url = b.URL // the loader knows the page URL; the frame does not
	}
	switch b.Kind {
	case "load":
		v.loaded, v.lastAlive = now, now
		v.title = b.Detail
	case "invitation": // an agent's, shared by the node that took it
		v.invitation, v.declined = b.Invitation, false
	case "invitation_taken", "invitation_dismissed", "invitation_withdrawn":
		if v.invitation == nil || v.invitation.ID != b.Detail {
			return false
		}
		v.invitation, v.declined = nil, b.Kind == "invitation_dismissed"
	case "alive":
		v.lastAlive = now
	case "visible":
		v.visible = now
	case "heartbeat":
		v.lastHeartbeat = now
		v.chatting = b.Detail == "chat"
		if b.Consumer != "" {
			v.consumer = b.Consumer
		}
	case "leave":
		v.left = true
	}
	return true
}

// recordBeacon writes the event a beacon stands for, if any; agent is the
// agent whose invitation a dismissal declined.
func (t *tracker) recordBeacon(accountID string, b beacon, agent string) {
	t.mu.Lock()
	url := ""
	if v := t.views[b.PV]; v != nil {
		url = v.url
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
	case "article_viewed":
		t.record(accountID, parley.EventHelpArticleViewed, map[string]string{"pv": b.PV, "url": url, "article": b.Detail})
	case "article_feedback": // "delivery:yes"
		if article, answer, ok := strings.Cut(b.Detail, ":"); ok && (answer == "yes" || answer == "no") {
			t.record(accountID, parley.EventHelpArticleRated, map[string]any{"pv": b.PV, "url": url, "article": article, "helpful": answer == "yes"})
		}
	case "invitation_dismissed":
		t.record(accountID, parley.EventInvitationDeclined, map[string]string{"pv": b.PV, "url": url, "invitation": b.Detail, "agent_id": agent})
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
		if !v.suspected && stays && v.judge {
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
		if v.invitation != nil && v.invitation.Lapsed(now) {
			v.invitation = nil // every node sees it lapse at the same time
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
