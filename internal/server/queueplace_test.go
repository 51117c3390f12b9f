package server_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

type place struct {
	State    string `json:"state"`
	Position int    `json:"position"`
	Waiting  int    `json:"waiting"`
	// EstimatedWait is in seconds; 0 when the server cannot tell.
	EstimatedWait int `json:"estimated_wait_seconds"`
}

// waitInLine opens n visitors' conversations, which wait for a person,
// and returns them with a way to ask the i-th visitor's place.
func waitInLine(t *testing.T, ts *testServer, accountID string, n int) ([]*parley.Conversation, func(i int) place) {
	var visitors []*visitor
	var convs []*parley.Conversation
	for range n {
		v := ts.newVisitor(t, accountID)
		visitors = append(visitors, v)
		convs = append(convs, v.open(t))
	}
	return convs, func(i int) place {
		t.Helper()
		var p place
		if st := visitors[i].do("GET", "/api/v1/conversations/"+convs[i].ID+"/queue", nil, &p); st != 200 {
			t.Fatalf("queue: %d", st)
		}
		return p
	}
}

// TestAWaitingVisitorKnowsTheirPlaceInLine: three visitors wait with no
// agent online; each reads their place in the router's order, and a
// supervisor raising the third's priority puts them first. A conversation
// that no longer waits has no place.
func TestAWaitingVisitorKnowsTheirPlaceInLine(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	convs, placeOf := waitInLine(t, ts, b.account.ID, 3)
	for i := range 3 {
		if p := placeOf(i); p.State != "queued" || p.Position != i+1 || p.Waiting != 3 {
			t.Fatalf("visitor %d: %+v; want place %d of 3", i+1, p, i+1)
		}
	}
	sup := ts.login(t, b.supervisor)
	if st := sup.do("PUT", "/api/v1/conversations/"+convs[2].ID+"/priority", map[string]any{"priority": 10}, nil); st != 200 {
		t.Fatalf("priority: %d", st)
	}
	waitFor(t, func() bool { return placeOf(2).Position == 1 && placeOf(0).Position == 2 && placeOf(1).Position == 3 })
	if st := sup.do("POST", "/api/v1/conversations/"+convs[2].ID+"/close", map[string]any{}, nil); st != 200 {
		t.Fatalf("close: %d", st)
	}
	waitFor(t, func() bool { p := placeOf(2); return p.State == "closed" && p.Position == 0 })
	waitFor(t, func() bool { return placeOf(0).Position == 1 && placeOf(1).Waiting == 2 })
}

// TestTheWidgetSaysThePlaceInLine: in Chromium, the second visitor in line
// reads "You're number 2 in line", and "You're next in line" once the
// first has been served.
func TestTheWidgetSaysThePlaceInLine(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	first := ts.newVisitor(t, brand.account.ID).open(t)
	_, frame, _ := chatFromBrandPage(t, ts, brand.account.ID, "Is anyone there?")
	line := func() string { return evalIn[string](t, frame, `document.querySelector(".line").textContent`) }
	waitFor(t, func() bool { return line() == "You're number 2 in line." }, line)
	if st := ts.withKey(t, brand.apiKey).do("POST", "/api/v1/conversations/"+first.ID+"/close", map[string]any{}, nil); st != 200 {
		t.Fatalf("close: %d", st)
	}
	waitFor(t, func() bool { return line() == "You're next in line." }, line)
	// An agent takes it: the line goes.
	agent := ts.login(t, brand.agent)
	online(t, ts, brand.agent)
	var list struct{ Conversations []parley.Conversation }
	agent.do("GET", "/api/v1/conversations?state=queued", nil, &list)
	if len(list.Conversations) != 1 {
		t.Fatalf("queued: %+v", list.Conversations)
	}
	if st := agent.do("POST", "/api/v1/conversations/"+list.Conversations[0].ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	waitFor(t, func() bool { return line() == "" }, line)
	if err := chromedp.Do(frame, chromedp.WaitNotVisible(chromedp.CSS(".line"))); err != nil {
		t.Fatal(err)
	}
}

// TestTheWaitIsEstimatedFromTheQueuesPace: with nothing served yet there
// is no estimate; once an agent has taken three conversations from the
// queue, those still waiting get one, longer the further back they stand,
// and the widget says it ("Expected wait: under a minute." while the
// pace is seconds).
func TestTheWaitIsEstimatedFromTheQueuesPace(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	convs, placeOf := waitInLine(t, ts, brand.account.ID, 5)
	if p := placeOf(4); p.Position != 5 || p.EstimatedWait != 0 {
		t.Fatalf("before anyone was served: %+v (want place 5, no estimate)", p)
	}
	agent := ts.login(t, brand.agent)
	online(t, ts, brand.agent)
	for i := range 3 {
		if st := agent.do("POST", "/api/v1/conversations/"+convs[i].ID+"/accept", nil, nil); st != 200 {
			t.Fatalf("accept %d: %d", i, st)
		}
	}
	waitFor(t, func() bool { p := placeOf(3); return p.Position == 1 && p.EstimatedWait > 0 }, func() string { return fmt.Sprint(placeOf(3)) })
	next, second := placeOf(3), placeOf(4)
	if second.Position != 2 || second.EstimatedWait < next.EstimatedWait || next.EstimatedWait > 3600 {
		t.Fatalf("estimates: next %+v, second %+v", next, second)
	}
	// The supervisor's overview says what a visitor joining now may wait:
	// third in line, so no less than the second's.
	var overview struct {
		Queues []struct {
			Depth        int `json:"depth"`
			ExpectedWait int `json:"expected_wait_seconds"`
		} `json:"queues"`
	}
	ts.login(t, brand.supervisor).do("GET", "/api/v1/supervisor/overview", nil, &overview)
	if len(overview.Queues) != 1 || overview.Queues[0].Depth != 2 || overview.Queues[0].ExpectedWait < second.EstimatedWait {
		t.Fatalf("overview queues %+v (the second in line expects %d s)", overview.Queues, second.EstimatedWait)
	}

	// In the widget, the visitor next in line hears it and the wait: the
	// pace is seconds, so under a minute (for a minute from the last
	// assignment).
	for _, c := range convs[3:] {
		if st := agent.do("POST", "/api/v1/conversations/"+c.ID+"/close", map[string]any{}, nil); st != 200 {
			t.Fatalf("close: %d", st)
		}
	}
	_, frame, _ := chatFromBrandPage(t, ts, brand.account.ID, "Is anyone there?")
	line := func() string { return evalIn[string](t, frame, `document.querySelector(".line").textContent`) }
	waitFor(t, func() bool { return line() == "You're next in line. Expected wait: under a minute." }, line)
}
