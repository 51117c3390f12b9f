package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// Two of the brand's people with one conversation open hear of each other
// (agent collision), over the protocol: the viewer's colleagues get a
// viewing frame naming them, the viewer does not, and the visitor never
// does; visitors and bad frames are refused.
func TestColleaguesHearWhoElseHasTheConversationOpen(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b, other := seedBrand(t, ts, "Acme"), seedBrand(t, ts, "Globex")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	visitor := connect(t, ts, v.token, nil)
	visitor.subscribe(conv.ID, 0)
	agent := agentWS(t, ts, b.agent)
	agent.subscribe(conv.ID, 0)
	sup := agentWS(t, ts, b.supervisor)
	sup.subscribe(conv.ID, 0)

	sup.send(map[string]any{"type": "viewing", "id": "v1", "conversation_id": conv.ID, "viewing": true})
	f := agent.next(func(f frame) bool { return f.Type == "viewing" })
	var got struct {
		Viewing struct {
			ConversationID string `json:"conversation_id"`
			UserID         string `json:"user_id"`
			Name           string `json:"name"`
			Viewing        bool   `json:"viewing"`
		} `json:"viewing"`
	}
	json.Unmarshal(f.raw, &got)
	if got.Viewing.ConversationID != conv.ID || got.Viewing.UserID != b.supervisor.ID || got.Viewing.Name != b.supervisor.Name || !got.Viewing.Viewing {
		t.Fatalf("the agent heard %s", f.raw)
	}
	sup.send(map[string]any{"type": "viewing", "id": "v2", "conversation_id": conv.ID, "viewing": false})
	agent.next(func(f frame) bool { return f.Type == "viewing" && strings.Contains(string(f.raw), `"viewing":false`) })

	// Neither the viewer nor the visitor hears of it: a message after it
	// comes to each with no viewing frame before it.
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "still there?", "client_id": "v-1"}, nil)
	for name, c := range map[string]*wsClient{"the viewer": sup, "the visitor": visitor} {
		c.next(func(f frame) bool {
			if f.Type == "viewing" {
				t.Fatalf("%s got %s", name, f.raw)
			}
			return f.Type == "message" && f.msg(t).Text == "still there?"
		})
	}

	// Refused, each with its reason.
	visitor.send(map[string]any{"type": "viewing", "id": "x1", "conversation_id": conv.ID, "viewing": true})
	if f := visitor.next(reply("x1")); f.Type != "error" || f.Code != parley.EFORBIDDEN {
		t.Fatalf("a visitor viewing: %s", f.raw)
	}
	agent.send(map[string]any{"type": "viewing", "id": "x2", "conversation_id": conv.ID})
	if f := agent.next(reply("x2")); f.Type != "error" || f.Code != parley.EINVALID {
		t.Fatalf("no viewing field: %s", f.raw)
	}
	outsider := agentWS(t, ts, other.agent)
	outsider.send(map[string]any{"type": "viewing", "id": "x3", "conversation_id": conv.ID, "viewing": true})
	if f := outsider.next(reply("x3")); f.Type != "error" || f.Code != parley.ENOTFOUND {
		t.Fatalf("another brand's conversation: %s", f.raw)
	}
}

// In Chromium: the agent and the supervisor open the same conversation and
// each console says the other is there too; the supervisor leaves for the
// overview, and the agent's console stops saying so.
func TestTwoConsolesOnOneConversationSeeEachOther(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Hello?", "client_id": "h1"}, nil)
	if st := ts.login(t, b.agent).do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	agent := consoleLogin(t, ts, b.agent, ".items")
	agent.openFirst("mine")
	sup := consoleLogin(t, ts, b.supervisor, ".items")
	sup.openFirst("open")
	also := func(br *browser) func() string {
		return func() string { return evalIn[string](t, br.ctx, `document.querySelector(".conv-viewers").textContent`) }
	}
	waitFor(t, func() bool { return also(agent)() == "Also here: "+b.supervisor.Name }, also(agent))
	waitFor(t, func() bool { return also(sup)() == "Also here: "+b.agent.Name }, also(sup))
	if problems := accessibilityProblems(t, agent.ctx, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the conversation with a colleague in it: %s", strings.Join(problems, "\n"))
	}
	sup.do(chromedp.Click(chromedp.CSS("[data-tab=supervise]")))
	waitFor(t, func() bool {
		return also(agent)() == "" && evalIn[bool](t, agent.ctx, `document.querySelector(".conv-viewers").hidden`)
	}, also(agent))
}
