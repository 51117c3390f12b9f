package analytics

import (
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// Spans are clipped to the range and to now; away time is split by
// reason, the console's auto-away apart; occupancy divides conversation
// time by capacity over time online, and an agent online with no
// conversation joins the table.
func TestStatusTimesClipAndSplit(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	until := func(m int) *time.Time { u := at(m); return &u }
	spans := []*parley.AgentStatus{
		{UserID: "ann", Status: "online", Cause: "agent", Since: at(-60), Until: until(30)},               // 30 min in range
		{UserID: "ann", Status: "away", Reason: "Lunch", Cause: "agent", Since: at(30), Until: until(60)}, // 30
		{UserID: "ann", Status: "away", Cause: "auto_away", Since: at(60), Until: until(70)},              // 10
		{UserID: "ann", Status: "away", Cause: "agent", Since: at(70), Until: until(75)},                  // 5, no reason
		{UserID: "ann", Status: "online", Cause: "agent", Since: at(75)},                                  // until now: 45
		{UserID: "bob", Status: "online", Cause: "agent", Since: at(130)},                                 // after the range: nothing
		{UserID: "cid", Status: "offline", Cause: "disconnected", Since: at(-10)},                         // offline counts nothing
		{UserID: "dee", Status: "online", Cause: "agent", Since: at(0), Until: until(120)},                // 120, to < now
	}
	from, to := at(0), at(120)
	times := StatusTimes(spans, from, to, at(120))
	ann := times["ann"]
	if ann == nil || ann.OnlineSeconds != 75*60 || ann.AwaySeconds != 45*60 ||
		ann.Away["Lunch"] != 30*60 || ann.Away["auto_away"] != 10*60 || ann.Away[""] != 5*60 {
		t.Fatalf("ann = %+v", ann)
	}
	if times["bob"] != nil || times["dee"].OnlineSeconds != 120*60 {
		t.Fatalf("bob %+v dee %+v", times["bob"], times["dee"])
	}
	if c := times["cid"]; c != nil && (c.OnlineSeconds != 0 || c.AwaySeconds != 0) {
		t.Fatalf("cid = %+v", c)
	}
	// Now before the range ends: a lasting span stops at now.
	if early := StatusTimes(spans, from, to, at(90)); early["ann"].OnlineSeconds != 45*60 {
		t.Fatalf("ann until 90 min = %+v", early["ann"])
	}

	r := &Report{Agents: []*Agent{{ID: "ann", convHrs: 1.25}}}
	r.AddStatuses(times, map[string]int{"ann": 2, "dee": 3}, "", "")
	ids := []string{}
	for _, a := range r.Agents {
		ids = append(ids, a.ID)
	}
	if len(r.Agents) != 2 || ids[0] != "ann" || ids[1] != "dee" {
		t.Fatalf("agents = %v; want ann and dee (online with no conversation), not cid (offline)", ids)
	}
	if o := r.Agents[0].Occupancy; o == nil || *o != 0.5 {
		t.Fatalf("ann's occupancy = %v; want 1.25 h ÷ (2 × 1.25 h online) = 0.5", o)
	}
	if o := r.Agents[1].Occupancy; o == nil || *o != 0 {
		t.Fatalf("dee's occupancy = %v; want 0", o)
	}
	// For one skill, no one joins.
	r = &Report{Agents: []*Agent{{ID: "ann"}}}
	r.AddStatuses(times, nil, "", "skl_billing")
	if len(r.Agents) != 1 || r.Agents[0].Occupancy != nil || r.Agents[0].Status.OnlineSeconds != 75*60 {
		t.Fatalf("skill report agents = %+v", r.Agents[0])
	}
}

// Each bucket says how many people were online on average over it.
func TestStaffingPerBucket(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	until := func(m int) *time.Time { u := at(m); return &u }
	spans := []*parley.AgentStatus{
		{UserID: "ann", Status: "online", Since: at(-30), Until: until(90)}, // all of 8:00, half of 9:00
		{UserID: "bob", Status: "online", Since: at(30)},                    // half of 8:00, lasting
		{UserID: "bob", Status: "away", Since: at(0), Until: until(30)},     // away: not counted
	}
	r := &Report{Bucket: "hour", Buckets: []*Bucket{{Start: at(0)}, {Start: at(60)}, {Start: at(120)}}}
	r.AddStaffing(spans, "", at(150)) // now: half way through 10:00
	if got := []float64{r.Buckets[0].AgentsOnline, r.Buckets[1].AgentsOnline, r.Buckets[2].AgentsOnline}; got[0] != 1.5 || got[1] != 1.5 || got[2] != 1 {
		t.Fatalf("agents online per hour = %v; want 1.5, 1.5, 1 (Bob alone, up to now)", got)
	}
	r.AddStaffing(spans, "ann", at(150))
	if r.Buckets[0].AgentsOnline != 1 || r.Buckets[1].AgentsOnline != 0.5 || r.Buckets[2].AgentsOnline != 0 {
		t.Fatalf("Ann's = %v, %v, %v", r.Buckets[0].AgentsOnline, r.Buckets[1].AgentsOnline, r.Buckets[2].AgentsOnline)
	}
}
