package server_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAPrivateNoteShowsTheVisitorNoTyping: in Chromium, an agent writing a
// private note sends the visitor no "typing" (only a reply does), and a
// colleague typing in the same conversation is named in the agent's
// console rather than taken for the visitor.
func TestAPrivateNoteShowsTheVisitorNoTyping(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "hi"}, nil)
	visitor := connect(t, ts, v.token, nil)
	visitor.subscribe(conv.ID, 0)

	browser := consoleLogin(t, ts, b.agent, "[data-tab=queued]")
	agent := ts.login(t, b.agent)
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: %d", st)
	}
	browser.openFirst("mine")
	evalIn[bool](t, browser.ctx, `(document.querySelector(".as-note").click(), true)`)
	browser.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "Refund approved by finance\r"))
	waitFor(t, func() bool {
		notes, _ := ts.Store.ListNotes(t.Context(), b.account.ID, conv.ID)
		return len(notes) == 1
	})
	// A message the visitor gets after the note: nothing about typing before it.
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Your refund is on its way."}, nil)
	visitor.next(func(f frame) bool {
		if f.Type == "typing" {
			t.Fatalf("the visitor saw typing while the agent wrote a note: %s", f.raw)
		}
		return f.Type == "message" && f.msg(t).Text == "Your refund is on its way."
	})

	// The supervisor types in the same conversation: named.
	sup := agentWS(t, ts, b.supervisor)
	sup.subscribe(conv.ID, 0)
	sup.send(map[string]any{"type": "typing", "conversation_id": conv.ID, "typing": true})
	want := b.supervisor.Name + " is typing…"
	typing := func() string { return evalIn[string](t, browser.ctx, `document.querySelector(".typing").textContent`) }
	waitFor(t, func() bool { return typing() == want }, typing)
}
