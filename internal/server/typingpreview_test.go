package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// turnOnTypingPreview sets the brand's widget to send visitors' drafts.
func turnOnTypingPreview(t *testing.T, ts *testServer, b brand) {
	t.Helper()
	if _, err := ts.Store.ChangeAccount(t.Context(), b.account.ID, func(a *parley.Account) error {
		a.Settings.Widget.TypingPreview = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestTypingPreviewIsTheBrandsChoiceAndMasked: over the protocol, a
// visitor's draft reaches the agent only when the brand shows previews,
// masked like a message (a card number); an agent's typing carries no
// draft, and a draft over the message limit is refused.
func TestTypingPreviewIsTheBrandsChoiceAndMasked(t *testing.T) {
	ts := startServer(t, t.TempDir())
	b := seedBrand(t, ts, "Acme")
	v := ts.newVisitor(t, b.account.ID)
	conv := v.open(t)
	visitor := connect(t, ts, v.token, nil)
	agent := agentWS(t, ts, b.agent)
	agent.subscribe(conv.ID, 0)
	typingFrom := func() conversationTyping {
		t.Helper()
		f := agent.next(ofType("typing"))
		var ty conversationTyping
		json.Unmarshal(f.Typing, &ty)
		return ty
	}
	draft := `{"type":"typing","conversation_id":"` + conv.ID + `","typing":true,"text":"My card is 4242 4242 4242 4242 and"}`
	visitor.send(draft)
	if ty := typingFrom(); !ty.Typing || ty.Text != "" {
		t.Fatalf("previews off: the agent got %+v", ty)
	}
	turnOnTypingPreview(t, ts, b)
	visitor.send(draft)
	if ty := typingFrom(); ty.Text != "My card is **** **** **** 4242 and" {
		t.Fatalf("previews on: the agent got %+v", ty)
	}
	for name, bad := range map[string]struct {
		c    *wsClient
		body string
		code string
	}{
		"an agent's draft": {agent, `{"type":"typing","id":"x","conversation_id":"` + conv.ID + `","typing":true,"text":"draft"}`, parley.EINVALID},
		"a draft, stopped": {visitor, `{"type":"typing","id":"x","conversation_id":"` + conv.ID + `","typing":false,"text":"draft"}`, parley.EINVALID},
		"over the limit":   {visitor, `{"type":"typing","id":"x","conversation_id":"` + conv.ID + `","typing":true,"text":"` + strings.Repeat("a", 4097) + `"}`, parley.ETOOLARGE},
	} {
		bad.c.send(bad.body)
		if f := bad.c.next(reply("x")); f.Type != "error" || f.Code != bad.code {
			t.Fatalf("%s: %s", name, f.raw)
		}
	}
}

type conversationTyping struct {
	Typing bool   `json:"typing"`
	Text   string `json:"text"`
	Side   string `json:"side"`
}

// TestAnAgentSeesWhatTheVisitorIsTyping: in Chromium, with the brand's
// typing preview on, the agent's console shows the visitor's draft as
// they type it, a card number masked, and clears it when the message
// arrives.
func TestAnAgentSeesWhatTheVisitorIsTyping(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	turnOnTypingPreview(t, ts, brand)
	_, frame, _ := chatFromBrandPage(t, ts, brand.account.ID, "Hello")
	agent := consoleLogin(t, ts, brand.agent, "[data-tab=queued]")
	agent.openFirst("queued")
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Card 4242 4242 4242 4242 was charged twice")); err != nil {
		t.Fatal(err)
	}
	typing := func() string { return evalIn[string](t, agent.ctx, `document.querySelector(".typing").textContent`) }
	waitFor(t, func() bool { return typing() == "Visitor is typing: “Card **** **** **** 4242 was charged twice”" }, typing)
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return typing() == "" && strings.Contains(evalIn[string](t, agent.ctx, `document.querySelector(".messages").textContent`), "Card **** **** **** 4242 was charged twice")
	}, typing)
}
