package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestAnAgentSeesTheirDayInTheProfile: an agent answers and closes a
// conversation the visitor rates 5; their Profile's "Your day" says so, in
// Chromium, with their time online. Over REST the figures are theirs
// alone, whatever range they ask for within 31 days.
func TestAnAgentSeesTheirDayInTheProfile(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	browser := consoleLogin(t, ts, b.agent, "[data-tab=queued]")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Hi"}, nil)
	agent := ts.login(t, b.agent)
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Hello!"}, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/close", map[string]any{}, nil)
	if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/csat", map[string]any{"score": 5}, nil); st != 200 && st != 204 {
		t.Fatalf("csat: %d", st)
	}
	var mine struct {
		Agent struct {
			ID       string  `json:"id"`
			Assigned int     `json:"assigned"`
			Closed   int     `json:"closed"`
			CSATMean float64 `json:"csat_mean"`
		} `json:"agent"`
	}
	if st := agent.do("GET", "/api/v1/me/metrics", nil, &mine); st != 200 || mine.Agent.ID != b.agent.ID || mine.Agent.Assigned != 1 || mine.Agent.Closed != 1 || mine.Agent.CSATMean != 5 {
		t.Fatalf("me/metrics: %d %+v", st, mine)
	}
	if st, raw := agent.raw("GET", "/api/v1/me/metrics?from=2026-01-01&to=2026-03-01", nil); st != 400 || !strings.Contains(string(raw), "31 days") {
		t.Fatalf("a long range: %d %s", st, raw)
	}
	// The supervisor, who handled nothing, has a day of their own.
	var sup struct {
		Agent struct {
			ID       string `json:"id"`
			Assigned int    `json:"assigned"`
		} `json:"agent"`
	}
	if st := ts.login(t, b.supervisor).do("GET", "/api/v1/me/metrics", nil, &sup); st != 200 || sup.Agent.ID != b.supervisor.ID || sup.Agent.Assigned != 0 {
		t.Fatalf("the supervisor's: %d %+v", st, sup)
	}

	browser.press(".open-profile")
	day := func() string {
		return evalIn[string](t, browser.ctx, `document.querySelector(".my-day-figures").textContent`)
	}
	waitFor(t, func() bool {
		d := day()
		return strings.Contains(d, "Conversations1 assigned · 1 closed") && strings.Contains(d, "Ratings5.00 / 5 (1)") && strings.Contains(d, "Online · away")
	}, day)
}

// TestQuestionMarkListsTheShortcuts: in Chromium, "?" outside a field
// opens the list of keyboard shortcuts, Escape closes it, and "?" typed in
// a field is only a question mark.
func TestQuestionMarkListsTheShortcuts(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	browser := consoleLogin(t, ts, b.agent, "[data-tab=queued]")
	open := func() bool { return evalIn[bool](t, browser.ctx, `document.querySelector("dialog.shortcuts").open`) }
	evalIn[bool](t, browser.ctx, `(document.activeElement.blur(), true)`)
	browser.do(chromedp.KeyEvent("?"))
	waitFor(t, open)
	if text := evalIn[string](t, browser.ctx, `document.querySelector(".shortcut-list").textContent`); !strings.Contains(text, "Accept the open conversation") {
		t.Fatalf("the list: %q", text)
	}
	browser.do(chromedp.KeyEvent(kb.Escape))
	waitFor(t, func() bool { return !open() })
	// Typed in a field (the inbox's search), "?" is a question mark.
	browser.do(chromedp.Click(chromedp.CSS(".search")), chromedp.WaitReady(chromedp.CSS(".search:focus")))
	browser.do(chromedp.KeyEvent("?"))
	waitFor(t, func() bool { return evalIn[string](t, browser.ctx, `document.querySelector(".search").value`) == "?" })
	if open() {
		t.Fatal("a question mark typed in the search box opened the list")
	}
}
