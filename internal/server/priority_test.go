package server_test

import (
	"testing"

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
