package server_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// TestAnAgentStepsAwayForLunchInTheConsole: in Chromium, an admin writes
// the brand's away reasons; an agent picks "Away — Lunch" in their status
// menu; the supervisor's overview says so, the supervisor then sets the
// agent Offline (their console follows), and the dashboard counts the
// agent's time online and at lunch.
func TestAnAgentStepsAwayForLunchInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := adminTab(t, ts, brand)
	admin.do(chromedp.SendKeys(chromedp.CSS(".account-settings [name=awayReasons]"), "Lunch\nTraining"))
	admin.press(".account-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return len(acc.Settings.AwayReasons) == 2 && acc.Settings.AwayReasons[0] == "Lunch" && acc.Settings.AwayReasons[1] == "Training"
	})

	agent := consoleLogin(t, ts, brand.agent, "[data-tab=queued]")
	current := func() *parley.AgentStatus {
		spans, _ := ts.Store.AgentStatuses(t.Context(), brand.account.ID, time.Time{}, time.Time{})
		for _, s := range spans {
			if s.UserID == brand.agent.ID {
				return s
			}
		}
		return nil
	}
	// Logged in: Online, as the menu says.
	waitFor(t, func() bool { s := current(); return s != nil && s.Status == parley.StatusOnline })
	waitFor(t, func() bool {
		return evalIn[bool](t, agent.ctx, `[...document.querySelector(".presence").options].some(o => o.value === "away:Lunch" && o.text === "Away — Lunch")`)
	})
	if err := chromedp.Do(agent.ctx, chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector(".presence"); s.value = "away:Lunch"; s.dispatchEvent(new Event("change")) })()`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		s := current()
		return s != nil && s.Status == parley.StatusAway && s.Reason == "Lunch" && s.Cause == parley.CauseAgent
	})

	sup := consoleLogin(t, ts, brand.supervisor, "[data-tab=supervise]")
	sup.press("[data-tab=supervise]")
	row := `[...document.querySelectorAll(".agents tbody tr")].map(tr => tr.textContent).find(t => t.includes(` + strconv.Quote(brand.agent.Name) + `)) || ""`
	waitFor(t, func() bool {
		return evalIn[bool](t, sup.ctx, `(`+row+`).includes("away · Lunch")`)
	}, func() string { return evalIn[string](t, sup.ctx, row) })
	// No one waits: the queues say so, rather than show a table of headings.
	if got := evalIn[string](t, sup.ctx, `document.querySelector(".queues tbody").textContent`); got != "No one is waiting." {
		t.Fatalf("the queues with no one waiting: %q", got)
	}

	// The supervisor sets the agent Offline from the row; the agent's
	// console follows and says who did it.
	if err := chromedp.Do(sup.ctx, chromedp.Evaluate[chromedp.Void](`(() => {
		const tr = [...document.querySelectorAll(".agents tbody tr")].find(tr => tr.textContent.includes(`+strconv.Quote(brand.agent.Name)+`));
		const s = tr.querySelector("select"); s.value = "offline"; s.dispatchEvent(new Event("change")) })()`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		s := current()
		return s != nil && s.Status == parley.StatusOffline && s.Cause == parley.CauseSupervisor && s.By == brand.supervisor.ID
	})
	waitFor(t, func() bool {
		return evalIn[bool](t, agent.ctx, `document.querySelector(".presence").value === "offline" && document.querySelector(".toast").textContent.includes("set your status to Offline")`)
	}, func() string {
		return evalIn[string](t, agent.ctx, `document.querySelector(".presence").value + " / " + document.querySelector(".toast").textContent`)
	})

	sup.press("[data-tab=dash]")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, sup.ctx, `document.querySelector(".dash-status-export").href`), "/api/v1/exports/agent-status?format=csv&from=")
	})
	dash := `[...document.querySelectorAll(".dash-agents tbody tr")].map(tr => tr.textContent).find(t => t.includes(` + strconv.Quote(brand.agent.Name) + `)) || ""`
	waitFor(t, func() bool {
		return evalIn[bool](t, sup.ctx, `(`+dash+`).includes("Lunch")`)
	}, func() string { return evalIn[string](t, sup.ctx, dash) })
}

// TestActivityInOneTabKeepsTheOtherFromSettingAway: an agent has the
// console open in two tabs and works in the second; the first, idle in
// the background, does not set them Away while they work. Once they stop,
// auto-away comes, and both tabs show it.
func TestActivityInOneTabKeepsTheOtherFromSettingAway(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	// Three seconds, below what the API takes, so the test does not wait minutes.
	ts.Store.ChangeAccount(t.Context(), brand.account.ID, func(a *parley.Account) error { a.Settings.AutoAwaySeconds = 3; return nil })
	first := consoleLogin(t, ts, brand.agent, ".app")
	// The first tab is in use while the second loads (which can take
	// longer than the idle time on a busy machine), then left alone.
	evalIn[bool](t, first.ctx, `(window.keepActive = setInterval(() => window.dispatchEvent(new KeyboardEvent("keydown", { key: "a" })), 500), true)`)
	second, cancel := chromedp.NewContext(first.ctx) // a second tab of the same browser and session
	defer cancel()
	if err := chromedp.Do(second, chromedp.Navigate(ts.url+"/console/"), chromedp.WaitVisible(chromedp.CSS(".app"))); err != nil {
		t.Fatal(err)
	}
	evalIn[bool](t, second, `(window.dispatchEvent(new KeyboardEvent("keydown", { key: "a" })), true)`)
	evalIn[bool](t, first.ctx, `(clearInterval(window.keepActive), true)`)
	// Six seconds of typing in the second tab, twice the idle time.
	evalIn[bool](t, second, `new Promise((done) => {
		const start = Date.now();
		const tick = setInterval(() => {
			window.dispatchEvent(new KeyboardEvent("keydown", { key: "a" }));
			if (Date.now() - start > 6000) { clearInterval(tick); done(true); }
		}, 1100);
	})`)
	spans, _ := ts.Store.AgentStatuses(t.Context(), brand.account.ID, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	for _, s := range spans {
		if s.Cause == parley.CauseAutoAway {
			t.Fatalf("set Away while working in the other tab: %+v", s)
		}
	}
	// They stop: Away, said in both tabs.
	waitFor(t, func() bool { return ts.Routing.Presence(brand.account.ID, brand.agent.ID) == "away" })
	for _, ctx := range []context.Context{first.ctx, second} {
		waitFor(t, func() bool {
			return evalIn[bool](t, ctx, `!document.querySelector(".auto-away").hidden && document.querySelector(".presence").value === "away"`)
		})
	}
}
