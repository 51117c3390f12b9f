package server_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/server"
)

// TestAVisitorCannotFloodTheBrand: past the visitor message rate, sends are
// refused with rate_limited — over the WebSocket and REST — and nothing is
// stored; other visitors and the brand's agents are not held back.
func TestAVisitorCannotFloodTheBrand(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.RateLimits = &server.RateLimits{VisitorMessages: server.RateLimit{Every: time.Second, Burst: 3}}
	})
	brand := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	ws := connect(t, ts, v.token, nil)
	for i := range 3 {
		ws.sendText(conv.ID, fmt.Sprintf("c%d", i), "hello")
	}
	for i := 3; i < 5; i++ { // the fourth, and the one right after it
		ws.send(map[string]any{"type": "send", "id": fmt.Sprintf("s%d", i), "conversation_id": conv.ID, "client_id": fmt.Sprintf("c%d", i),
			"message": map[string]any{"type": "text", "text": "flood"}})
		f := ws.next(reply(fmt.Sprintf("s%d", i)))
		if f.Type != "error" || f.Code != parley.ERATELIMITED || !strings.Contains(string(f.raw), "a visitor may send 60 a minute, 3 at once") {
			t.Fatalf("send %d over the limit answered %s", i, f.raw)
		}
	}
	st, raw := v.raw("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "flood"})
	if st != 429 || errorCode(raw) != parley.ERATELIMITED {
		t.Fatalf("REST over the limit: status %d %s", st, raw)
	}
	if msgs := mustMessages(t, ts, brand.account.ID, conv.ID); len(msgs) != 3 {
		t.Fatalf("%d messages stored, want the 3 within the limit", len(msgs))
	}
	// Another visitor, and the agent, are not held back.
	other := ts.newVisitor(t, brand.account.ID)
	if st := other.do("POST", "/api/v1/conversations/"+other.open(t).ID+"/messages", map[string]any{"text": "hi"}, nil); st != 201 {
		t.Fatalf("another visitor: status %d", st)
	}
	agent := ts.login(t, brand.agent)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	for i := range 5 {
		if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": fmt.Sprintf("answer %d", i)}, nil); st != 201 {
			t.Fatalf("agent's message %d: status %d", i, st)
		}
	}
}

// TestAWidgetOverTheLimitSendsEverythingInOrder: a visitor sends faster
// than the limit; the widget keeps what was refused and sends it again, so
// every message arrives once, in the order typed.
func TestAWidgetOverTheLimitSendsEverythingInOrder(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.RateLimits = &server.RateLimits{VisitorMessages: server.RateLimit{Every: 200 * time.Millisecond, Burst: 3}}
	})
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	// The first message opens the conversation; the rest come at once.
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "m1\r")); err != nil {
		t.Fatal(err)
	}
	var conv *parley.Conversation
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		if len(convs) == 1 && convs[0].LastSeq >= 1 {
			conv = convs[0]
		}
		return conv != nil
	})
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "m2\rm3\rm4\rm5\rm6\rm7\r")); err != nil {
		t.Fatal(err)
	}
	texts := func() string {
		var out []string
		for _, m := range mustMessages(t, ts, brand.account.ID, conv.ID) {
			if m.SenderKind == parley.SenderConsumer {
				out = append(out, m.Text)
			}
		}
		return strings.Join(out, " ")
	}
	waitFor(t, func() bool { return texts() == "m1 m2 m3 m4 m5 m6 m7" }, texts)
	if refused := testutil.ToFloat64(ts.Metrics.FrameErrors.WithLabelValues(parley.ERATELIMITED)); refused == 0 {
		t.Fatal("no send was refused: the test did not go over the limit")
	}
	waitFor(t, func() bool {
		return evalIn[bool](t, frame, `[...document.querySelectorAll(".msg.mine .meta")].every(m => m.textContent !== "Sending…")`)
	}, func() string { return "a message still shows Sending…" })
	b.shot("all-sent")
}

// TestAMessageRefusedForGoodSaysSoAndHoldsNothingUp: a message that waited
// in the widget's outbox while the brand lowered its message limit is
// refused (too_large) when it goes out. The widget marks it "Not sent",
// takes it out of the outbox (it would be refused again on every
// reconnect), and the next message goes through. Before, it showed
// "Sending…" for ever and went again on every reconnect.
func TestAMessageRefusedForGoodSaysSoAndHoldsNothingUp(t *testing.T) {
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.MaxMessageChars = 40 })
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	outbox := strconv.Quote("parley." + brand.account.ID + ".outbox")
	long := strings.Repeat("written under a higher limit ", 3)
	evalIn[bool](t, frame, `(localStorage.setItem(`+outbox+`, JSON.stringify([{client_id: "old-1", text: `+strconv.Quote(long)+`}])), true)`)
	b.leaveFrames()
	b.do(chromedp.Reload(), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame = b.frame()
	failed := func() string {
		return evalIn[string](t, frame, `[...document.querySelectorAll(".msg.mine.failed .meta[role=alert]")].map(m => m.textContent).join("|")`)
	}
	waitFor(t, func() bool { return failed() == "Not sent: this message was refused." }, failed)
	if left := evalIn[string](t, frame, `localStorage.getItem(`+outbox+`)`); left != "[]" {
		t.Fatalf("the refused message stayed in the outbox: %s", left)
	}
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "and this one?\r")); err != nil {
		t.Fatal(err)
	}
	texts := func() string {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		var out []string
		for _, c := range convs {
			for _, m := range mustMessages(t, ts, brand.account.ID, c.ID) {
				out = append(out, m.Text)
			}
		}
		return strings.Join(out, "|")
	}
	waitFor(t, func() bool { return texts() == "and this one?" }, texts)
	waitFor(t, func() bool {
		return evalIn[bool](t, frame, `[...document.querySelectorAll(".msg.mine:not(.failed) .meta")].every(m => m.textContent !== "Sending…")`)
	}, func() string { return "the next message still shows Sending…" })
	b.shot("refused-then-sent")
}
