package server_test

import (
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// TestTheInboxShowsWhoWaitsOnAReply: with a reply target, the agent's Mine
// tab puts the conversations waiting on their reply first, the longest
// waiting first, marks those past the target overdue, and drops the mark
// once the agent answers; the metrics say what share of first responses
// met the target. A target out of range is refused.
func TestTheInboxShowsWhoWaitsOnAReply(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := ts.login(t, brand.admin)
	if st, raw := admin.raw("PUT", "/api/v1/account-settings", map[string]any{"response_target_seconds": -5}); st != 400 || !strings.Contains(string(raw), "response_target_seconds") {
		t.Fatalf("a negative target: status %d %s", st, raw)
	}
	if st := admin.do("PUT", "/api/v1/account-settings", map[string]any{"response_target_seconds": 1}, nil); st != 200 {
		t.Fatalf("target: status %d", st)
	}
	agent := ts.login(t, brand.agent)
	conv := func(text string) *parley.Conversation {
		t.Helper()
		v := ts.newVisitor(t, brand.account.ID)
		c := v.open(t)
		v.do("POST", "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": text}, nil)
		if st := agent.do("POST", "/api/v1/conversations/"+c.ID+"/accept", nil, nil); st != 200 {
			t.Fatalf("accept: status %d", st)
		}
		return c
	}
	first := conv("first, waiting longest")
	answered := conv("answered")
	agent.do("POST", "/api/v1/conversations/"+answered.ID+"/messages", map[string]any{"text": "Done!"}, nil)
	second := conv("second")

	console := consoleLogin(t, ts, brand.agent, "[data-tab=mine]")
	items := func() string {
		console.press("[data-tab=mine]") // a fresh list: waits age
		return evalIn[string](t, console.ctx, `[...document.querySelectorAll(".items li")].map(li => li.dataset.id + "=" + (li.querySelector(".due")?.className || "-")).join(" ")`)
	}
	want := first.ID + "=due overdue " + second.ID + "=due overdue " + answered.ID + "=-"
	waitFor(t, func() bool { return items() == want }, items)
	if text := evalIn[string](t, console.ctx, `document.querySelector(".items li .due").textContent`); !strings.HasPrefix(text, "overdue · visitor waiting ") {
		t.Fatalf("the mark says %q", text)
	}
	console.shot("overdue")
	agent.do("POST", "/api/v1/conversations/"+first.ID+"/messages", map[string]any{"text": "Sorry for the wait"}, nil)
	want = second.ID + "=due overdue "
	waitFor(t, func() bool { return strings.HasPrefix(items(), want) && !strings.Contains(items(), first.ID+"=due") }, items)

	var report struct {
		Totals struct {
			FirstResponseInTarget *float64 `json:"first_response_in_target"`
		}
	}
	ts.login(t, brand.supervisor).do("GET", "/api/v1/metrics", nil, &report)
	if got := report.Totals.FirstResponseInTarget; got == nil {
		t.Fatal("the metrics have no share of first responses in target")
	}
}

// TestAnUrgentConversationIsOverdueSoonerInTheConsole: the admin gives
// urgent conversations a tighter target in Admin → Routing and hours; the
// agent's inbox marks the urgent wait overdue and not the normal one.
func TestAnUrgentConversationIsOverdueSoonerInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := adminTab(t, ts, brand)
	evalIn[bool](t, admin.ctx, `(() => { const f = document.querySelector(".account-settings");
		f.target.value = "3600"; f.targetHigh.value = "0"; f.targetUrgent.value = "1"; f.dispatchEvent(new Event("input")); return true })()`)
	admin.press(".account-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return acc.Settings.ResponseTargetSeconds == 3600 && acc.Settings.ResponseTargetUrgentSeconds == 1
	}, func() string {
		return evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`)
	})

	agent := ts.login(t, brand.agent)
	normal, urgent := waitingOn(t, ts, brand, agent, 0), waitingOn(t, ts, brand, agent, parley.PriorityUrgent)
	console := consoleLogin(t, ts, brand.agent, "[data-tab=mine]")
	marks := func() string {
		console.press("[data-tab=mine]")
		return evalIn[string](t, console.ctx, `[...document.querySelectorAll(".items li")].map(li => li.dataset.id + "=" + (li.querySelector(".due")?.className || "-")).sort().join(" ")`)
	}
	want := []string{normal.ID + "=due", urgent.ID + "=due overdue"}
	if normal.ID > urgent.ID {
		want[0], want[1] = want[1], want[0]
	}
	waitFor(t, func() bool { return marks() == strings.Join(want, " ") }, marks)
	console.shot("urgent-overdue")
}
