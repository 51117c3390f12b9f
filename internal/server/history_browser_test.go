package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley"
)

// TestAVisitorComingBackSeesTheirEarlierConversations: in Chromium, a
// visitor whose conversations are over finds the newest one shown when
// they open the chat again (read-only, under the day it happened), and
// "Earlier conversations" brings the one before; what they write then
// starts a new conversation below. The history is not a live region, and
// the window passes the accessibility check with it.
func TestAVisitorComingBackSeesTheirEarlierConversations(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	agent := ts.login(t, brand.agent)
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	// talk has the visitor ask and the agent answer and close, and
	// returns the conversation.
	talk := func(question, answer string) *parley.Conversation {
		t.Helper()
		if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), question+"\r")); err != nil {
			t.Fatal(err)
		}
		var conv *parley.Conversation
		waitFor(t, func() bool {
			convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{State: parley.StateQueued})
			if len(convs) == 1 {
				conv = convs[0]
			}
			return conv != nil && conv.LastSeq > 0
		})
		agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
		if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": answer}, nil); st != 201 {
			t.Fatalf("the agent's answer: %d", st)
		}
		waitFor(t, func() bool {
			return strings.Contains(evalIn[string](t, frame, `document.querySelector(".log").textContent`), answer)
		})
		if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/close", map[string]any{"reason": "resolved"}, nil); st != 200 {
			t.Fatalf("close: %d", st)
		}
		if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".csat button"))); err != nil {
			t.Fatal(err)
		}
		return conv
	}
	talk("Do you ship to Iceland?", "Yes, we ship to Iceland in 4 days.")
	talk("And to Norway?", "Norway too, in 3 days.")

	// Back another day: the newest conversation is there, the older one a
	// click away.
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame = b.frame()
	past := func() string { return evalIn[string](t, frame, `document.querySelector(".past").innerText`) }
	waitFor(t, func() bool { return strings.Contains(past(), "Norway too, in 3 days.") }, past)
	if got := past(); !strings.HasPrefix(got, "Conversation of ") || !strings.Contains(got, "And to Norway?") || strings.Contains(got, "Iceland") {
		t.Fatalf("the newest earlier conversation: %q", got)
	}
	if !evalIn[bool](t, frame, `document.querySelector(".past").getAttribute("aria-live") === "off" && !document.querySelector(".past [data-seq]") && !document.querySelector(".past .choices")`) {
		t.Fatal("the history is announced, numbered or answerable as the live conversation is")
	}
	b.shot("newest-earlier-conversation")
	evalIn[bool](t, frame, `(document.querySelector(".earlier-more").click(), true)`)
	waitFor(t, func() bool { return strings.Contains(past(), "Yes, we ship to Iceland in 4 days.") }, past)
	if got := past(); strings.Index(got, "Iceland") > strings.Index(got, "Norway") {
		t.Fatalf("the older conversation is not above the newer: %q", got)
	}
	waitFor(t, func() bool { return evalIn[bool](t, frame, `document.querySelector(".earlier-more").hidden`) })
	if problems := accessibilityProblems(t, frame, axeSource(t)); len(problems) > 0 {
		t.Fatalf("the window with its history: %s", strings.Join(problems, "\n"))
	}

	// Writing now starts a new conversation, below the history.
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "What about Sweden?\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		convs, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{State: parley.StateQueued})
		return len(convs) == 1 && convs[0].LastSeq > 0
	})
	if !evalIn[bool](t, frame, `(() => { const mine = [...document.querySelectorAll(".log > .msg.mine")]; return mine.length === 1 && mine[0].textContent.includes("What about Sweden?") })()`) {
		t.Fatalf("the new message is not in the live log: %q", evalIn[string](t, frame, `document.querySelector(".log").innerText`))
	}
	b.shot("new-conversation-below")
}

// TestAnAdminMakesTheWidgetSpeakItalian: the widget's language is chosen
// in Admin (it followed the visitor's browser unless set over the API),
// and Italian, Dutch and Portuguese are among the languages since session
// 22: the visitor's window then speaks Italian.
func TestAnAdminMakesTheWidgetSpeakItalian(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := adminTab(t, ts, brand)
	evalIn[bool](t, admin.ctx, `(() => { const f = document.querySelector(".widget-settings"); f.language.value = "it"; f.dispatchEvent(new Event("input")); return true })()`)
	admin.press(".widget-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		return acc.Settings.Widget.Language == "it"
	})
	if st, raw := ts.withKey(t, brand.apiKey).raw("PUT", "/api/v1/widget-settings", map[string]any{"language": "xx"}); st != 400 || !strings.Contains(string(raw), "pt, sv, da, nb or fi") {
		t.Fatalf("an unknown language: %d %s", st, raw)
	}

	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	waitFor(t, func() bool {
		return evalIn[string](t, frame, `document.querySelector(".send").textContent + "|" + document.querySelector(".title").textContent + "|" + document.documentElement.lang`) == "Invia|Scrivici|it"
	}, func() string {
		return evalIn[string](t, frame, `document.querySelector(".send").textContent + "|" + document.querySelector(".title").textContent + "|" + document.documentElement.lang`)
	})
	// Swedish, Danish and Norwegian since session 25, Finnish since 26; a
	// Norwegian browser says nb, no or nn, and each gets Bokmål.
	got := evalIn[string](t, frame, `import("/widget/strings.js").then((m) => ["sv", "da", "nb-NO", "no", "nn-NO", "fi-FI"]
		.map((l) => { const t = m.pick("", [l]); return t.lang + ":" + t("title") }).join("|"))`)
	if got != "sv:Chatta med oss|da:Chat med os|nb:Chat med oss|nb:Chat med oss|nb:Chat med oss|fi:Keskustele kanssamme" {
		t.Fatalf("the Nordic languages: %s", got)
	}
}
