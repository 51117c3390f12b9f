package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// AgentStatus: a person's spans follow one another without gaps, a status
// they already have writes nothing, a change conditional on a span that
// has ended writes nothing, ranges return the spans that overlap them,
// the sweep's list holds those that last and are not offline, and every
// call keeps to its account.
func testAgentStatus(t *testing.T, open Opener) {
	ctx := context.Background()
	rec := &recorder{}
	s := open(t, rec)
	a := newFixture(t, s, "A")
	b := newFixture(t, s, "B")
	ann := &parley.User{AccountID: a.account.ID, Email: "ann@status.test", Name: "Ann", Role: parley.RoleAgent, MaxConcurrent: 2, Active: true}
	bob := &parley.User{AccountID: b.account.ID, Email: "bob@status.test", Name: "Bob", Role: parley.RoleAgent, MaxConcurrent: 2, Active: true}
	for _, u := range []*parley.User{ann, bob} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	set := func(acc, user, status, reason, cause string, at, ifSince time.Time) bool {
		t.Helper()
		changed, err := s.SetAgentStatus(ctx, acc, user, parley.StatusChange{Status: status, Reason: reason, Cause: cause, At: at, IfSince: ifSince})
		if err != nil {
			t.Fatalf("SetAgentStatus(%s %s): %v", status, reason, err)
		}
		return changed
	}
	// Never seen: offline writes nothing; online begins the first span.
	if set(a.account.ID, ann.ID, parley.StatusOffline, "", parley.CauseDisconnected, t0, time.Time{}) {
		t.Fatal("offline for someone never online wrote a span")
	}
	if !set(a.account.ID, ann.ID, parley.StatusOnline, "", parley.CauseAgent, t0, time.Time{}) {
		t.Fatal("online wrote nothing")
	}
	if set(a.account.ID, ann.ID, parley.StatusOnline, "", parley.CauseAgent, t0.Add(time.Minute), time.Time{}) {
		t.Fatal("online again wrote a span")
	}
	if !set(a.account.ID, ann.ID, parley.StatusAway, "Lunch", parley.CauseAgent, t0.Add(time.Hour), time.Time{}) {
		t.Fatal("away wrote nothing")
	}
	// Idle, then choosing the same: a new span (a different cause).
	if !set(a.account.ID, ann.ID, parley.StatusAway, "", parley.CauseAutoAway, t0.Add(90*time.Minute), time.Time{}) {
		t.Fatal("auto-away wrote nothing")
	}
	if !set(a.account.ID, ann.ID, parley.StatusAway, "", parley.CauseAgent, t0.Add(91*time.Minute), time.Time{}) {
		t.Fatal("away by choice after auto-away wrote nothing")
	}
	// A sweep that read the span before it ended: nothing.
	if set(a.account.ID, ann.ID, parley.StatusOffline, "", parley.CauseDisconnected, t0.Add(2*time.Hour), t0.Add(90*time.Minute)) {
		t.Fatal("a change conditional on an ended span was written")
	}
	if !set(a.account.ID, ann.ID, parley.StatusOnline, "", parley.CauseAgent, t0.Add(2*time.Hour), time.Time{}) {
		t.Fatal("online wrote nothing")
	}
	// A time before the span began is taken as its start: no span ends before it begins.
	if !set(a.account.ID, ann.ID, parley.StatusOffline, "", parley.CauseDisconnected, t0.Add(time.Hour), t0.Add(2*time.Hour)) {
		t.Fatal("offline after online wrote nothing")
	}
	if !set(b.account.ID, bob.ID, parley.StatusOnline, "", parley.CauseAgent, t0, time.Time{}) {
		t.Fatal("Bob online wrote nothing")
	}

	all, err := s.AgentStatuses(ctx, a.account.ID, t0.Add(-time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	type span struct {
		status, reason, cause string
		from, to              time.Duration
	}
	want := []span{
		{"online", "", "agent", 0, time.Hour},
		{"away", "Lunch", "agent", time.Hour, 90 * time.Minute},
		{"away", "", "auto_away", 90 * time.Minute, 91 * time.Minute},
		{"away", "", "agent", 91 * time.Minute, 2 * time.Hour},
		{"online", "", "agent", 2 * time.Hour, 2 * time.Hour},
		{"offline", "", "disconnected", 2 * time.Hour, -1},
	}
	if len(all) != len(want) {
		t.Fatalf("AgentStatuses = %d spans, want %d: %+v", len(all), len(want), all)
	}
	for i, w := range want {
		g := all[i]
		if g.UserID != ann.ID || g.Status != w.status || g.Reason != w.reason || g.Cause != w.cause || !g.Since.Equal(t0.Add(w.from)) {
			t.Fatalf("span %d = %+v, want %+v", i, g, w)
		}
		if (w.to < 0) != (g.Until == nil) || (g.Until != nil && !g.Until.Equal(t0.Add(w.to))) {
			t.Fatalf("span %d ends %v, want %v", i, g.Until, w.to)
		}
	}
	// A range in the middle: the spans that overlap it.
	mid, err := s.AgentStatuses(ctx, a.account.ID, t0.Add(80*time.Minute), t0.Add(95*time.Minute))
	if err != nil || len(mid) != 3 || mid[0].Reason != "Lunch" || mid[2].Cause != "agent" {
		t.Fatalf("AgentStatuses(80–95 min) = %+v, %v; want Lunch, idle, away", mid, err)
	}
	// Zero times: the spans that last.
	cur, err := s.AgentStatuses(ctx, a.account.ID, time.Time{}, time.Time{})
	if err != nil || len(cur) != 1 || cur[0].Status != "offline" {
		t.Fatalf("current = %+v, %v; want Ann offline", cur, err)
	}
	present, err := s.PresentAgents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, p := range present {
		if p.AccountID == a.account.ID || p.AccountID == b.account.ID {
			found = append(found, p.AccountID+"/"+p.UserID+"/"+p.Status)
		}
	}
	if len(found) != 1 || found[0] != b.account.ID+"/"+bob.ID+"/online" {
		t.Fatalf("PresentAgents = %v; want Bob online only", found)
	}

	// Each change wrote its event, with the span it ended.
	var changes []parley.StatusChanged
	for _, e := range rec.snapshot() {
		if e.Type == parley.EventAgentStatusChanged && e.AccountID == a.account.ID {
			var c parley.StatusChanged
			if err := json.Unmarshal(e.Data, &c); err != nil {
				t.Fatal(err)
			}
			changes = append(changes, c)
		}
	}
	if len(changes) != 6 || changes[0].Previous != "offline" || changes[1].Previous != "online" || changes[1].Reason != "Lunch" ||
		changes[2].PreviousReason != "Lunch" || !changes[2].PreviousSince.Equal(t0.Add(time.Hour)) {
		t.Fatalf("agent.status_changed = %+v", changes)
	}

	// Another account's person, or no one: not found, nothing written.
	_, err = s.SetAgentStatus(ctx, b.account.ID, ann.ID, parley.StatusChange{Status: parley.StatusOnline, Cause: parley.CauseAgent})
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.SetAgentStatus(ctx, a.account.ID, "usr_missing", parley.StatusChange{Status: parley.StatusOnline, Cause: parley.CauseAgent})
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.SetAgentStatus(ctx, a.account.ID, ann.ID, parley.StatusChange{Status: "busy", Cause: parley.CauseAgent})
	wantCode(t, err, parley.EINVALID)
	if other, err := s.AgentStatuses(ctx, b.account.ID, t0.Add(-time.Hour), t0.Add(24*time.Hour)); err != nil || len(other) != 1 || other[0].UserID != bob.ID {
		t.Fatalf("B's spans = %+v, %v; want Bob's one", other, err)
	}
}
