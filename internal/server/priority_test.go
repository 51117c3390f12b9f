package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// TestAnAgentMarksAConversationUrgentInTheConsole: in Chromium, the agent
// picks "Urgent" in the conversation's header; the store has priority 10
// and the inbox item says "urgent".
func TestAnAgentMarksAConversationUrgentInTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "My order never came!"}, nil)
	agent := consoleLogin(t, ts, brand.agent, ".items li")
	agent.openFirst("queued")
	evalIn[bool](t, agent.ctx, `(() => { const s = document.querySelector(".priority"); s.value = "10"; s.dispatchEvent(new Event("change")); return true })()`)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return c.Priority == 10
	})
	badge := func() string {
		return evalIn[string](t, agent.ctx, `document.querySelector(".items li .prio")?.textContent || ""`)
	}
	waitFor(t, func() bool { return badge() == "urgent" }, badge)
	if st := evalIn[string](t, agent.ctx, `document.querySelector(".priority").value`); st != "10" {
		t.Fatalf("the header's priority says %q", st)
	}
	agent.shot("urgent")
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID); c.State != parley.StateQueued {
		t.Fatalf("raising the priority changed the state to %s", c.State)
	}
}

// TestASupervisorActsOnSeveralConversationsAtOnce: in Chromium, two of
// three queued conversations are picked in the inbox; "Add label" labels
// both, "Close" closes both, and the third is untouched. Picking one does
// not open it.
func TestASupervisorActsOnSeveralConversationsAtOnce(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
	acc.Settings.Labels = []parley.Label{{Name: "spam"}}
	if err := ts.Store.UpdateAccount(t.Context(), acc); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		v := ts.newVisitor(t, brand.account.ID)
		c := v.open(t)
		v.do("POST", "/api/v1/conversations/"+c.ID+"/messages", map[string]any{"text": "cheap watches"}, nil)
		ids = append(ids, c.ID)
	}
	sup := consoleLogin(t, ts, brand.supervisor, ".items li")
	waitFor(t, func() bool { return evalIn[int](t, sup.ctx, `document.querySelectorAll(".items li").length`) == 3 })
	for _, id := range ids[:2] {
		sup.press(`.items li[data-id="` + id + `"] .pick`)
	}
	if open := evalIn[bool](t, sup.ctx, `!document.querySelector(".conversation").hidden`); open {
		t.Fatal("picking an item opened it")
	}
	if n := evalIn[string](t, sup.ctx, `document.querySelector(".bulk-count").textContent`); n != "2 selected:" {
		t.Fatalf("the bulk bar says %q", n)
	}
	evalIn[bool](t, sup.ctx, `(() => { const s = document.querySelector(".bulk-label"); s.value = "spam"; s.dispatchEvent(new Event("change")); return true })()`)
	labelled := func(id string) bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, id)
		return len(c.Labels) == 1 && c.Labels[0] == "spam"
	}
	waitFor(t, func() bool { return labelled(ids[0]) && labelled(ids[1]) })
	// The action cleared the picks: pick the two again and close them.
	waitFor(t, func() bool { return evalIn[bool](t, sup.ctx, `document.querySelector(".bulk").hidden`) })
	for _, id := range ids[:2] {
		sup.press(`.items li[data-id="` + id + `"] .pick`)
	}
	sup.press(".bulk-close")
	closed := func(id string) bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, id)
		return c.State == parley.StateClosed
	}
	waitFor(t, func() bool { return closed(ids[0]) && closed(ids[1]) })
	toast := func() string { return evalIn[string](t, sup.ctx, `document.querySelector(".toast").textContent`) }
	waitFor(t, func() bool { return toast() == "Closed: 2 done" }, toast)
	if closed(ids[2]) || labelled(ids[2]) {
		t.Fatal("the conversation not picked was changed")
	}
	// The third goes to the agent, picked and transferred from the bar.
	online(t, ts, brand.agent)
	sup.press(`.items li[data-id="` + ids[2] + `"] .pick`)
	evalIn[bool](t, sup.ctx, `(() => { const s = document.querySelector(".bulk-transfer"); s.value = "agent:`+brand.agent.ID+`"; s.dispatchEvent(new Event("change")); return true })()`)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, ids[2])
		return c.State == parley.StateAssigned && c.AssigneeID == brand.agent.ID
	}, toast)
	waitFor(t, func() bool { return strings.HasPrefix(toast(), "Transferred to "+brand.agent.Name) }, toast)
	sup.shot("bulk")
}

// TestAnAgentSnoozesAConversation: in Chromium, the agent snoozes their
// conversation for an hour: it leaves Mine for the Snoozed tab; a time in
// the past is refused; when the visitor writes, it is back in Mine.
func TestAnAgentSnoozesAConversation(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Waiting on the warehouse?"}, nil)
	api := ts.login(t, brand.agent)
	if st := api.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: status %d", st)
	}
	if st, raw := api.raw("PUT", "/api/v1/conversations/"+conv.ID+"/snooze", map[string]any{"until": time.Now().Add(-time.Hour)}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("a snooze into the past: status %d %s", st, raw)
	}
	agent := consoleLogin(t, ts, brand.agent, "[data-tab=mine]")
	agent.press("[data-tab=mine]")
	list := func() string {
		return evalIn[string](t, agent.ctx, `[...document.querySelectorAll(".items li")].map(li => li.dataset.id).join(",")`)
	}
	// shows waits until tab lists want (pressing it again and again: a
	// list fetched a moment ago may be out of date).
	shows := func(tab, want string) {
		t.Helper()
		waitFor(t, func() bool { agent.press("[data-tab=" + tab + "]"); return list() == want }, list)
	}
	shows("mine", conv.ID)
	agent.press(`.items li[data-id="` + conv.ID + `"]`)
	waitFor(t, func() bool { return !evalIn[bool](t, agent.ctx, `document.querySelector(".conversation").hidden`) })
	evalIn[bool](t, agent.ctx, `(() => { const s = document.querySelector(".snooze"); s.value = "1h"; s.dispatchEvent(new Event("change")); return true })()`)
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID)
		return c.Snoozed(time.Now())
	})
	shows("mine", "")
	shows("snoozed", conv.ID)
	agent.shot("snoozed")
	agent.press("[data-tab=mine]")
	waitFor(t, func() bool { return list() == "" })
	// The visitor writes: the Mine list brings it back by itself.
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Any news?"}, nil)
	waitFor(t, func() bool { return list() == conv.ID }, list)
	shows("snoozed", "")
}
