package server_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/routing"
	"github.com/parleychat/parley/internal/server"
)

type statusesReply struct {
	Statuses []struct {
		parley.AgentStatus
		Name string `json:"name"`
	} `json:"statuses"`
}

// An agent's status — online, away with one of the brand's reasons, away
// because the console saw them idle, offline once their console is gone —
// is recorded as spans: the supervisor sees the reason and since when, the
// status API lists the spans, and the metrics count the time in each.
func TestAgentStatusIsRecordedAndReported(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.Routing = routing.Config{Grace: 300 * time.Millisecond, Tick: 20 * time.Millisecond}
		c.StatusTick = 50 * time.Millisecond
	})
	b := seedBrand(t, ts, "Acme")
	admin, sup := ts.login(t, b.admin), ts.login(t, b.supervisor)
	start := time.Now().UTC()

	// The brand's reasons: checked, then kept.
	for _, bad := range []struct{ reasons, want string }{
		{`["Lunch","lunch"]`, "away_reasons[1]"},
		{`[" Lunch"]`, "away_reasons[0]"},
		{`[""]`, "away_reasons[0]"},
		{`["` + strings.Repeat("x", 41) + `"]`, "away_reasons[0]"},
	} {
		st, raw := admin.raw("PATCH", "/api/v1/account-settings", `{"away_reasons":`+bad.reasons+`}`)
		if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), bad.want) {
			t.Fatalf("away_reasons %s: %d %s", bad.reasons, st, raw)
		}
	}
	var settings struct {
		AwayReasons []string `json:"away_reasons"`
	}
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"away_reasons": []string{"Lunch", "Training"}}, &settings); st != 200 || len(settings.AwayReasons) != 2 {
		t.Fatalf("PATCH away_reasons: %d %+v", st, settings)
	}

	agent := online(t, ts, b.agent)
	for _, bad := range []string{
		`{"type":"presence","id":"x","state":"away","reason":"Nap"}`,               // not the brand's
		`{"type":"presence","id":"x","state":"online","reason":"Lunch"}`,           // only away has one
		`{"type":"presence","id":"x","state":"away","reason":"Lunch","auto":true}`, // the console sets plain Away
		`{"type":"presence","id":"x","state":"online","auto":true}`,
	} {
		agent.send(bad)
		if f := agent.next(reply("x")); f.Type != "error" || f.Code != parley.EINVALID {
			t.Fatalf("%s: %s", bad, f.raw)
		}
	}
	agent.send(`{"type":"presence","id":"lunch","state":"away","reason":"Lunch"}`)
	if f := agent.next(reply("lunch")); f.Type != "presence_set" {
		t.Fatalf("away Lunch: %s", f.raw)
	}

	// The supervisor's overview says why and since when.
	var ov struct {
		Agents []struct {
			ID          string     `json:"id"`
			Presence    string     `json:"presence"`
			Reason      string     `json:"reason"`
			StatusSince *time.Time `json:"status_since"`
		} `json:"agents"`
	}
	if st := sup.do("GET", "/api/v1/supervisor/overview", nil, &ov); st != 200 {
		t.Fatalf("overview: %d", st)
	}
	found := false
	for _, a := range ov.Agents {
		if a.ID == b.agent.ID {
			found = true
			if a.Presence != "away" || a.Reason != "Lunch" || a.StatusSince == nil || a.StatusSince.Before(start.Add(-time.Second)) {
				t.Fatalf("overview has the agent %+v; want away, Lunch, since now", a)
			}
		}
	}
	if !found {
		t.Fatal("the agent is not in the overview")
	}

	// Idle: the console sets them Away by itself, recorded apart.
	agent.send(`{"type":"presence","id":"idle","state":"away","auto":true}`)
	agent.next(reply("idle"))
	var now statusesReply
	if st := sup.do("GET", "/api/v1/agent-status", nil, &now); st != 200 {
		t.Fatalf("agent-status: %d", st)
	}
	if len(now.Statuses) != 1 || now.Statuses[0].UserID != b.agent.ID || now.Statuses[0].Cause != parley.CauseAutoAway || now.Statuses[0].Name != b.agent.Name {
		t.Fatalf("current statuses = %+v; want the agent away by auto-away", now.Statuses)
	}

	// The console goes away: after the grace period the sweep sets them offline.
	agent.ws.CloseNow()
	waitFor(t, func() bool {
		var r statusesReply
		sup.do("GET", "/api/v1/agent-status", nil, &r)
		return len(r.Statuses) == 1 && r.Statuses[0].Status == parley.StatusOffline && r.Statuses[0].Cause == parley.CauseDisconnected
	})

	// The spans of the hour, and the time in each in the metrics.
	from := start.Truncate(time.Hour)
	to := from.Add(2 * time.Hour)
	q := "?from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
	var spans statusesReply
	if st := sup.do("GET", "/api/v1/agent-status"+q, nil, &spans); st != 200 {
		t.Fatalf("agent-status range: %d", st)
	}
	var seq []string
	for _, s := range spans.Statuses {
		seq = append(seq, s.Status+"/"+s.Reason+"/"+s.Cause)
	}
	if got := strings.Join(seq, " "); got != "online//agent away/Lunch/agent away//auto_away offline//disconnected" {
		t.Fatalf("spans = %s", got)
	}
	var m struct {
		Agents []struct {
			ID     string `json:"id"`
			Status *struct {
				OnlineSeconds float64            `json:"online_seconds"`
				AwaySeconds   float64            `json:"away_seconds"`
				Away          map[string]float64 `json:"away"`
			} `json:"status"`
			Occupancy *float64 `json:"occupancy"`
		} `json:"agents"`
	}
	if st := sup.do("GET", "/api/v1/metrics"+q+"&bucket=hour", nil, &m); st != 200 {
		t.Fatalf("metrics: %d", st)
	}
	if len(m.Agents) != 1 || m.Agents[0].ID != b.agent.ID || m.Agents[0].Status == nil {
		t.Fatalf("metrics agents = %+v; want the agent, who had no conversation, with their time", m.Agents)
	}
	s := m.Agents[0].Status
	if _, ok := s.Away["Lunch"]; !ok || s.AwaySeconds <= 0 || m.Agents[0].Occupancy == nil || *m.Agents[0].Occupancy != 0 {
		t.Fatalf("metrics status = %+v, occupancy %v; want time away at Lunch and occupancy 0", s, m.Agents[0].Occupancy)
	}
	if _, ok := s.Away["auto_away"]; !ok {
		t.Fatalf("metrics away = %v; want the idle time apart", s.Away)
	}

	// The same spans as a CSV export, for a workforce tool or payroll.
	st, raw := sup.raw("GET", "/api/v1/exports/agent-status"+q+"&format=csv", nil)
	if st != 200 || !strings.Contains(string(raw), ",away,Lunch,agent,") || !strings.HasPrefix(string(raw), "user_id,status,reason,cause,by,since,until,seconds_in_range") {
		t.Fatalf("agent-status export: %d %s", st, raw)
	}

	// Bad ranges, and agents may not read their colleagues' statuses.
	for _, bad := range []string{"?from=" + url.QueryEscape(from.Format(time.RFC3339)), "?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z", "?from=yesterday&to=today"} {
		if st, raw := sup.raw("GET", "/api/v1/agent-status"+bad, nil); st != 400 || errorCode(raw) != parley.EINVALID {
			t.Fatalf("agent-status%s: %d %s", bad, st, raw)
		}
	}
	if st, _ := ts.login(t, b.agent).raw("GET", "/api/v1/agent-status", nil); st != 403 {
		t.Fatalf("an agent read the statuses: %d", st)
	}
}

// TestASupervisorSetsAnAgentOffline: the agent's two consoles hear each
// other's status changes; a supervisor sets the agent Offline, both
// consoles are told who did it, the router stops sending them visitors
// and their conversation goes back to the queue.
func TestASupervisorSetsAnAgentOffline(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	setAutoAssign(t, ts, b, true)
	other := seedBrand(t, ts, "Other")
	agentLogin := ts.login(t, b.agent)
	tabs := []*wsClient{sessionWS(t, ts, agentLogin), sessionWS(t, ts, agentLogin)}
	for i, tab := range tabs {
		tab.send(`{"type":"subscribe_inbox","id":"in"}`)
		tab.next(reply("in"))
		defer tabs[i].ws.CloseNow()
	}
	tabs[0].send(`{"type":"presence","id":"on","state":"online"}`)
	tabs[0].next(reply("on"))
	// statusFrame waits for the tab's next status frame that says status
	// (a tab also hears its own changes).
	statusFrame := func(tab *wsClient, status string) map[string]any {
		t.Helper()
		var s struct {
			Status map[string]any `json:"status"`
		}
		tab.next(func(f frame) bool {
			if f.Type != "status" {
				return false
			}
			decodeJSON(t, f.raw, &s)
			return s.Status["status"] == status
		})
		return s.Status
	}
	// The second tab hears the first one's choices.
	if s := statusFrame(tabs[1], "online"); s["cause"] != "agent" || s["user_id"] != b.agent.ID {
		t.Fatalf("tab 2 heard %v", s)
	}
	tabs[0].send(`{"type":"presence","id":"away","state":"away"}`)
	tabs[0].next(reply("away"))
	statusFrame(tabs[1], "away")
	tabs[1].send(`{"type":"presence","id":"on","state":"online"}`)
	tabs[1].next(reply("on"))
	statusFrame(tabs[0], "away") // its own
	statusFrame(tabs[0], "online")

	conv := ts.newVisitor(t, b.account.ID).open(t)
	ctx := t.Context()
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(ctx, b.account.ID, conv.ID)
		return c.State == parley.StateAssigned && c.AssigneeID == b.agent.ID
	})

	sup := ts.login(t, b.supervisor)
	for _, bad := range []struct {
		path string
		body any
		st   int
	}{
		{"/api/v1/users/" + b.agent.ID + "/status", map[string]any{"status": "busy"}, 400},
		{"/api/v1/users/" + b.agent.ID + "/status", map[string]any{"status": "away", "reason": "Nap"}, 400},
		{"/api/v1/users/" + other.agent.ID + "/status", map[string]any{"status": "offline"}, 404},
	} {
		if st, raw := sup.raw("PUT", bad.path, bad.body); st != bad.st {
			t.Fatalf("PUT %s %v: %d %s", bad.path, bad.body, st, raw)
		}
	}
	var set struct {
		parley.AgentStatus
		Name string `json:"name"`
	}
	if st := sup.do("PUT", "/api/v1/users/"+b.agent.ID+"/status", map[string]any{"status": "offline"}, &set); st != 200 ||
		set.Status != "offline" || set.Cause != parley.CauseSupervisor || set.By != b.supervisor.ID {
		t.Fatalf("PUT status offline: %d %+v", st, set)
	}
	for i, tab := range tabs {
		if s := statusFrame(tab, "offline"); s["cause"] != "supervisor" || s["by"] != b.supervisor.ID {
			t.Fatalf("tab %d heard %v", i+1, s)
		}
	}
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(ctx, b.account.ID, conv.ID)
		return c.State == parley.StateQueued
	})
	if pr := ts.Routing.Presence(b.account.ID, b.agent.ID); pr != "offline" {
		t.Fatalf("the router has the agent %s", pr)
	}
	// Another account's status is untouched.
	if spans, _ := ts.Store.AgentStatuses(ctx, other.account.ID, time.Time{}, time.Time{}); len(spans) != 0 {
		t.Fatalf("the other brand has spans: %+v", spans)
	}
}
