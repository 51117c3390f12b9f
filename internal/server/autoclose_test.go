package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/conversation"
)

// TestAutoCloseSettingsAreCheckedAndKept: an admin reads the defaults, sets
// both waits, and an out-of-range value is refused and changes nothing.
func TestAutoCloseSettingsAreCheckedAndKept(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := ts.login(t, brand.admin)
	var got struct {
		AutoClose parley.AutoClose `json:"auto_close"`
	}
	if st := admin.do("GET", "/api/v1/account-settings", nil, &got); st != 200 || got.AutoClose.BotMinutes == nil || *got.AutoClose.BotMinutes != 30 || got.AutoClose.AgentMinutes != 0 {
		t.Fatalf("defaults: status %d, %+v", st, got.AutoClose)
	}
	if st := admin.do("PUT", "/api/v1/account-settings", map[string]any{"auto_close": map[string]int{"bot_minutes": 0, "agent_minutes": 120}}, &got); st != 200 ||
		*got.AutoClose.BotMinutes != 0 || got.AutoClose.AgentMinutes != 120 {
		t.Fatalf("set: status %d, %+v", st, got.AutoClose)
	}
	for _, bad := range []map[string]int{{"agent_minutes": -1}, {"bot_minutes": 43201}} {
		st, raw := admin.raw("PUT", "/api/v1/account-settings", map[string]any{"auto_close": bad})
		if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), "auto_close.") {
			t.Fatalf("%v: status %d %s", bad, st, raw)
		}
	}
	acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
	if ac := acc.Settings.AutoClose; ac.BotIdle() != 0 || ac.AgentIdle() != 2*time.Hour {
		t.Fatalf("after refused changes: %+v", ac)
	}
	if st := ts.login(t, brand.agent).do("PUT", "/api/v1/account-settings", map[string]any{"auto_close": map[string]int{"agent_minutes": 1}}, nil); st != 403 {
		t.Fatalf("an agent changed auto-close: status %d", st)
	}
}

// TestAQuietVisitorsConversationClosesAndTheWidgetSaysWhy: the agent
// answers and the visitor goes quiet. Auto-close ends the conversation; the
// open widget says why at once, and a widget that was away says it when it
// comes back. The visitor's next message starts a new conversation.
func TestAQuietVisitorsConversationClosesAndTheWidgetSaysWhy(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	if st := ts.login(t, brand.admin).do("PUT", "/api/v1/account-settings", map[string]any{"auto_assign": true,
		"auto_close": map[string]int{"bot_minutes": 30, "agent_minutes": 60}}, nil); st != 200 {
		t.Fatalf("settings: status %d", st)
	}
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	online(t, ts, brand.agent)
	agent := ts.login(t, brand.agent)
	const why = "We closed this conversation as we hadn't heard from you for a while."
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	logText := func() string { return evalIn[string](t, frame, `document.querySelector(".log").textContent`) }

	// ask has the visitor write, waits for the agent to be assigned and
	// answers as the agent; the visitor then says nothing more.
	asked := 0
	ask := func(text string) *parley.Conversation {
		t.Helper()
		if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), text+"\r")); err != nil {
			t.Fatal(err)
		}
		asked++
		var conv *parley.Conversation
		waitFor(t, func() bool {
			convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
			if len(convs) != asked || convs[0].State != parley.StateAssigned {
				return false
			}
			// The widget opens the conversation, then sends: wait for the
			// question, so that the answer comes after it.
			for _, m := range mustMessages(t, ts, brand.account.ID, convs[0].ID) {
				if m.SenderKind == parley.SenderConsumer && m.Text == text {
					conv = convs[0]
				}
			}
			return conv != nil
		})
		if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "It ships tomorrow. Anything else?"}, nil); st != 201 {
			t.Fatalf("agent's answer: status %d", st)
		}
		// The announcement that the agent joined is written on its own
		// schedule: it is activity too, so wait for it before going quiet.
		waitFor(t, func() bool {
			log := logText()
			return strings.Count(log, "It ships tomorrow.") == asked && strings.Count(log, brand.agent.Name+" joined the conversation") == asked
		}, logText)
		return conv
	}
	sweep := func(want int) {
		t.Helper()
		n, err := conversation.CloseIdle(t.Context(), ts.Store, time.Now().Add(61*time.Minute))
		if err != nil || n != want {
			t.Fatalf("auto-close closed %d (%v), want %d", n, err, want)
		}
	}

	// The widget is open: it says why at once.
	first := ask("Where is order 1042?")
	sweep(1)
	waitFor(t, func() bool { return strings.Contains(logText(), why) }, logText)
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, first.ID); c.CloseReason != parley.CloseInactive {
		t.Fatalf("close reason %q", c.CloseReason)
	}
	b.shot("closed-live")

	// The widget is away (the visitor left the page) when it closes.
	second := ask("And order 1043?")
	oldFrame := frameTargetID(frame)
	b.leaveFrames()
	b.do(chromedp.Navigate("about:blank"))
	sweep(1)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame = b.frame(oldFrame)
	waitFor(t, func() bool { return strings.Contains(logText(), why) }, logText)
	if !strings.Contains(logText(), "And order 1043?") {
		t.Fatalf("the history before the close is gone: %s", logText())
	}
	b.shot("closed-while-away")
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "One more question\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		return len(convs) == 3 && convs[0].ID != second.ID && convs[0].LastSeq >= 1
	})
}

// TestTheWidgetAsksAreYouStillThereInTheVisitorsLanguage: with warn_minutes,
// the quiet visitor is asked before the close — in the brand's language,
// from the notice — and the close follows the question. A warning as long
// as the wait is refused.
func TestTheWidgetAsksAreYouStillThereInTheVisitorsLanguage(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := ts.login(t, brand.admin)
	if st, raw := admin.raw("PUT", "/api/v1/account-settings", map[string]any{"auto_close": map[string]int{"agent_minutes": 10, "warn_minutes": 10}}); st != 400 ||
		!strings.Contains(string(raw), "auto_close.warn_minutes") {
		t.Fatalf("a warning as long as the wait: status %d %s", st, raw)
	}
	if st := admin.do("PUT", "/api/v1/account-settings", map[string]any{"auto_assign": true,
		"auto_close": map[string]int{"bot_minutes": 30, "agent_minutes": 60, "warn_minutes": 5}}, nil); st != 200 {
		t.Fatalf("settings: status %d", st)
	}
	admin.do("PUT", "/api/v1/widget-settings", map[string]any{"language": "es", "offline_form": false}, nil)
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	online(t, ts, brand.agent)
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	logText := func() string { return evalIn[string](t, frame, `document.querySelector(".log").textContent`) }
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "¿Dónde está mi pedido?\r")); err != nil {
		t.Fatal(err)
	}
	var conv *parley.Conversation
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{State: parley.StateAssigned})
		if len(convs) == 1 && convs[0].LastSeq >= 2 { // the question and the agent's arrival
			conv = convs[0]
		}
		return conv != nil
	})
	if st := ts.login(t, brand.agent).do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Sale mañana."}, nil); st != 201 {
		t.Fatalf("agent's answer: status %d", st)
	}
	waitFor(t, func() bool { return strings.Contains(logText(), "Sale mañana.") }, logText)

	sweep := func(after time.Duration, want int) {
		t.Helper()
		if n, err := conversation.CloseIdle(t.Context(), ts.Store, time.Now().Add(after)); err != nil || n != want {
			t.Fatalf("sweep at +%s closed %d (%v), want %d", after, n, err, want)
		}
	}
	sweep(56*time.Minute, 0) // 55 minutes quiet: asked, not closed
	const asked = "¿Sigues ahí? Esta conversación se cerrará en 5 minutos si no sabemos de ti."
	waitFor(t, func() bool { return strings.Contains(logText(), asked) }, logText)
	if strings.Contains(logText(), "Are you still there") {
		t.Fatalf("the Spanish widget shows the English question: %s", logText())
	}
	b.shot("asked")
	sweep(6*time.Minute, 1) // five minutes after the question
	waitFor(t, func() bool { return strings.Contains(logText(), "Cerramos esta conversación porque hacía rato") }, logText)
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, conv.ID); c.State != parley.StateClosed || c.CloseReason != parley.CloseInactive {
		t.Fatalf("after the question: %s (%q)", c.State, c.CloseReason)
	}
}

// TestTheVisitorEndsTheChat: in Chromium, the visitor presses "End chat",
// which asks once ("End this chat?"); the second press closes the
// conversation (by the visitor, reason ended_by_visitor) and the rating
// follows. The button is not there before the first message.
func TestTheVisitorEndsTheChat(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	endShown := func() bool { return evalIn[bool](t, frame, `!document.querySelector(".end").hidden`) }
	if endShown() {
		t.Fatal("End chat shows before there is a conversation")
	}
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Just browsing, thanks\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, endShown, func() string {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		return fmt.Sprintf("%d conversations; chat: %s", len(convs), evalIn[string](t, frame, `document.querySelector(".chat").innerText`))
	})
	evalIn[bool](t, frame, `(document.querySelector(".end").click(), true)`)
	if label := evalIn[string](t, frame, `document.querySelector(".end").textContent`); label != "End this chat?" {
		t.Fatalf("after one press the button says %q", label)
	}
	evalIn[bool](t, frame, `(document.querySelector(".end").click(), true)`)
	var conv *parley.Conversation
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		if len(convs) == 1 && convs[0].State == parley.StateClosed {
			conv = convs[0]
		}
		return conv != nil
	}, func() string {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{})
		var states []string
		for _, c := range convs {
			states = append(states, string(c.State)+"/"+c.CloseReason)
		}
		return fmt.Sprintf("conversations %v; button %q hidden=%v", states, evalIn[string](t, frame, `document.querySelector(".end").textContent`),
			evalIn[bool](t, frame, `document.querySelector(".end").hidden`))
	})
	if conv.CloseReason != "ended_by_visitor" || conv.ClosedBy != conv.ConsumerID {
		t.Fatalf("closed %q by %q", conv.CloseReason, conv.ClosedBy)
	}
	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".csat button"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !endShown() })
	b.shot("ended")
	// The visitor keeps a copy: the button fetches their transcript (the
	// download itself is caught where the page hands it to the browser).
	if label := evalIn[string](t, frame, `document.querySelector(".transcript").textContent`); label != "Download the conversation" {
		t.Fatalf("the transcript button says %q", label)
	}
	evalIn[bool](t, frame, `(() => { window.__saved = ""; URL.createObjectURL = (b) => { b.text().then((s) => (window.__saved = s)); return "blob:x"; };
		HTMLAnchorElement.prototype.click = function () {}; document.querySelector(".transcript").click(); return true })()`)
	saved := func() string { return evalIn[string](t, frame, `window.__saved`) }
	waitFor(t, func() bool { return strings.Contains(saved(), "Visitor: Just browsing, thanks") }, saved)
}
