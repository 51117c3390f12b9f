package server_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/parleychat/parley"
)

// TestAnAgentMergesADuplicateContact: Zoë wrote from her phone (with her
// email) and from her laptop (with her name). In Chromium an agent finds
// the phone's contact from the laptop's and merges it, with a second click
// to confirm. One contact remains, with both conversations, her name and
// her email; the phone's browser, still holding its token, is Zoë's
// contact now (its socket reconnects), and sees both conversations.
func TestAnAgentMergesADuplicateContact(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	phone, laptop := ts.newVisitor(t, b.account.ID), ts.newVisitor(t, b.account.ID)
	phone.do("PATCH", "/api/v1/consumers/me", map[string]any{"email": "zoe@example.test"}, nil)
	laptop.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": "Zoë Laptop"}, nil)
	phoneConv, laptopConv := phone.open(t), laptop.open(t)
	phone.do("POST", "/api/v1/conversations/"+phoneConv.ID+"/messages", map[string]any{"text": "from my phone"}, nil)
	laptop.do("POST", "/api/v1/conversations/"+laptopConv.ID+"/messages", map[string]any{"text": "from my laptop"}, nil)
	phoneSocket := connect(t, ts, phone.token, nil)

	agent := ts.login(t, b.agent)
	if st, raw := agent.raw("POST", "/api/v1/consumers/"+laptop.consumer.ID+"/merge", map[string]any{"into": laptop.consumer.ID}); st != 400 || errorCode(raw) != parley.EINVALID {
		t.Fatalf("merge into itself: %d %s", st, raw)
	}
	if st, raw := agent.raw("POST", "/api/v1/consumers/"+laptop.consumer.ID+"/merge", map[string]any{}); st != 400 {
		t.Fatalf("merge into nobody: %d %s", st, raw)
	}

	browser := consoleLogin(t, ts, b.agent, "[data-tab=contacts]")
	browser.press("[data-tab=contacts]")
	browser.do(chromedp.WaitVisible(chromedp.CSS(`.contact-list tr[data-id="` + laptop.consumer.ID + `"] .contact-open`)))
	browser.press(`.contact-list tr[data-id="` + laptop.consumer.ID + `"] .contact-open`)
	browser.do(chromedp.WaitVisible(chromedp.CSS(".merge-contact input[name=q]")),
		chromedp.SendKeys(chromedp.CSS(".merge-contact input[name=q]"), "zoe@"))
	waitFor(t, func() bool {
		return evalIn[bool](t, browser.ctx, `document.querySelector(".merge-contact select").value === `+strconv.Quote(phone.consumer.ID))
	})
	browser.press(".merge-contact button[type=submit]") // arms
	if label := evalIn[string](t, browser.ctx, `document.querySelector(".merge-contact button").textContent`); !strings.HasPrefix(label, "Click again") {
		t.Fatalf("the first click says %q", label)
	}
	browser.press(".merge-contact button[type=submit]")
	waitFor(t, func() bool {
		c, _ := ts.Store.FindConversation(t.Context(), b.account.ID, phoneConv.ID)
		return c.ConsumerID == laptop.consumer.ID
	})
	if c, _ := ts.Store.FindConsumer(t.Context(), b.account.ID, laptop.consumer.ID); c.Name != "Zoë Laptop" || c.Email != "zoe@example.test" {
		t.Fatalf("merged contact: %+v", c)
	}
	waitFor(t, func() bool {
		return evalIn[int](t, browser.ctx, `document.querySelectorAll(".contact-detail .past").length`) == 2
	})

	// The phone's socket was closed to reconnect; its token is Zoë's contact now.
	if code := phoneSocket.waitClosed(); code != websocket.StatusGoingAway {
		t.Fatalf("the phone's socket closed with %d; want going away (reconnect)", code)
	}
	var list struct{ Conversations []parley.Conversation }
	if st := phone.do("GET", "/api/v1/conversations", nil, &list); st != 200 || len(list.Conversations) != 2 {
		t.Fatalf("the phone lists %d conversations (%d)", len(list.Conversations), st)
	}
	again := connect(t, ts, phone.token, nil)
	if msgs := again.subscribe(laptopConv.ID, 0); len(msgs) != 1 || msgs[0].Text != "from my laptop" {
		t.Fatalf("the phone reads the laptop's conversation: %+v", msgs)
	}
}

// TestTheConsoleSuggestsDuplicatesBySameEmail: two contacts with one email
// address: the merge form of one offers the other before any search.
func TestTheConsoleSuggestsDuplicatesBySameEmail(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	first, second := ts.newVisitor(t, b.account.ID), ts.newVisitor(t, b.account.ID)
	for _, v := range []*visitor{first, second} {
		v.do("PATCH", "/api/v1/consumers/me", map[string]any{"email": "Sam@Example.test"}, nil)
		v.open(t)
	}
	browser := consoleLogin(t, ts, b.agent, "[data-tab=contacts]")
	browser.press("[data-tab=contacts]")
	row := `.contact-list tr[data-id="` + first.consumer.ID + `"] .contact-open`
	browser.do(chromedp.WaitVisible(chromedp.CSS(row)))
	browser.press(row)
	waitFor(t, func() bool {
		return evalIn[bool](t, browser.ctx, `document.querySelector(".merge-suggested")?.textContent === "1 other contact has this email." && document.querySelector(".merge-contact select").value === `+strconv.Quote(second.consumer.ID))
	})
}
