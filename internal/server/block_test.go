package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/realtime"
)

// TestABlockedVisitorIsShutOut: an agent blocks a visitor. The visitor's
// socket closes with 4003 at once, their token is refused over REST (403)
// and WebSocket (4003 again), and their open conversation closes with
// reason "blocked" — their closed one stays as it was. Unblocking lets the
// same token back in.
func TestABlockedVisitorIsShutOut(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	old := v.open(t)
	if st := v.do("POST", "/api/v1/conversations/"+old.ID+"/close", nil, nil); st != 200 {
		t.Fatalf("close: %d", st)
	}
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "buy cheap watches"}, nil)
	sock := connect(t, ts, v.token, nil)
	sock.subscribe(conv.ID, 0)
	agent := ts.login(t, brand.agent)

	var blocked parley.Consumer
	if st := agent.do("POST", "/api/v1/consumers/"+v.consumer.ID+"/block", nil, &blocked); st != 200 || !blocked.Blocked {
		t.Fatalf("block: status %d %+v", st, blocked)
	}
	if code := sock.waitClosed(); int(code) != int(realtime.CloseBlocked) {
		t.Fatalf("the visitor's socket closed with %d, want %d", code, realtime.CloseBlocked)
	}
	if st, raw := v.raw("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "more spam"}); st != 403 || errorCode(raw) != parley.EFORBIDDEN {
		t.Fatalf("a blocked visitor's message: status %d %s", st, raw)
	}
	again, err := dialWS(t, ts, http.Header{})
	if err != nil {
		t.Fatal(err)
	}
	again.send(`{"type":"auth","id":"a","token":"` + v.token + `"}`)
	if code := again.waitClosed(); int(code) != int(realtime.CloseBlocked) {
		t.Fatalf("a blocked visitor's new socket closed with %d", code)
	}
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID); c.State != parley.StateClosed || c.CloseReason != parley.CloseBlocked || c.ClosedBy != brand.agent.ID {
		t.Fatalf("the open conversation: %s %q by %q", c.State, c.CloseReason, c.ClosedBy)
	}
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, old.ID); c.CloseReason == parley.CloseBlocked {
		t.Fatal("the conversation closed before was closed again")
	}
	evs, _ := ts.Store.ListEvents(t.Context(), brand.account.ID, parley.EventFilter{Types: []string{parley.EventConsumerBlocked}})
	if len(evs) != 1 || !strings.Contains(string(evs[0].Data), brand.agent.ID) {
		t.Fatalf("consumer.blocked events: %+v", evs)
	}
	// Blocking twice changes nothing; unblocking lets the same token back.
	agent.do("POST", "/api/v1/consumers/"+v.consumer.ID+"/block", nil, nil)
	if evs, _ := ts.Store.ListEvents(t.Context(), brand.account.ID, parley.EventFilter{Types: []string{parley.EventConsumerBlocked}}); len(evs) != 1 {
		t.Fatalf("a second block wrote %d events", len(evs))
	}
	var back parley.Consumer
	if st := agent.do("POST", "/api/v1/consumers/"+v.consumer.ID+"/unblock", nil, &back); st != 200 || back.Blocked {
		t.Fatalf("unblock: status %d %+v", st, back)
	}
	if c := v.open(t); c.State == parley.StateClosed {
		t.Fatal("the unblocked visitor's new conversation is closed")
	}
	// Both are in the audit log, with the agent who did them.
	var audit struct{ Entries []parley.AuditEntry }
	ts.login(t, brand.admin).do("GET", "/api/v1/audit-log", nil, &audit)
	var seen []string
	for _, e := range audit.Entries {
		if e.ActorID == brand.agent.ID {
			seen = append(seen, e.Action)
		}
	}
	if got := strings.Join(seen, "|"); !strings.Contains(got, "POST /api/v1/consumers/{id}/block") || !strings.Contains(got, "POST /api/v1/consumers/{id}/unblock") {
		t.Fatalf("the agent's audited actions: %v", seen)
	}
}

// TestAnAgentBlocksAVisitorFromTheConsole: in Chromium, the agent blocks
// the visitor from the visitor panel; the visitor's chat says it is not
// available, and still does after a reload (the widget does not come
// back as a new visitor).
func TestAnAgentBlocksAVisitorFromTheConsole(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "spam spam spam\r")); err != nil {
		t.Fatal(err)
	}
	agent := consoleLogin(t, ts, brand.agent, ".items li")
	agent.openFirst("queued")
	waitFor(t, func() bool {
		return evalIn[string](t, agent.ctx, `document.querySelector(".block-visitor").hidden ? "" : document.querySelector(".block-visitor").textContent`) == "Block visitor"
	})
	agent.press(".block-visitor")
	refused := func() string {
		return evalIn[string](t, frame, `(() => { const p = document.querySelector(".refused"); return p.hidden ? "" : p.textContent })()`)
	}
	waitFor(t, func() bool { return refused() == "This chat is not available." }, refused)
	waitFor(t, func() bool {
		return evalIn[string](t, agent.ctx, `document.querySelector(".block-visitor").textContent`) == "Unblock visitor"
	})
	b.shot("blocked")
	consumers := func() int {
		evs, _ := ts.Store.ListEvents(t.Context(), brand.account.ID, parley.EventFilter{Types: []string{parley.EventConsumerCreated}})
		return len(evs)
	}
	before := consumers()
	old := frameTargetID(frame)
	b.leaveFrames()
	b.do(chromedp.Reload(), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame = b.frameShowing(".refused", old)
	waitFor(t, func() bool { return refused() == "This chat is not available." }, refused)
	if n := consumers(); n != before {
		t.Fatalf("the blocked widget came back as a new visitor (%d consumers, were %d)", n, before)
	}
}
