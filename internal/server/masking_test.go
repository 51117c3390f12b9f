package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
)

// TestCardNumbersNeverReachTheStore: a visitor writes a card number; what
// is stored, what the agent receives, the event log and the agent's note all
// hold it masked. A brand adds its own rule, which applies from the next
// message on; a bad rule is refused by name and changes nothing.
func TestCardNumbersNeverReachTheStore(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := ts.login(t, brand.admin)
	var settings struct {
		Masking parley.Masking `json:"masking"`
	}
	if st := admin.do("GET", "/api/v1/account-settings", nil, &settings); st != 200 || !settings.Masking.MasksCards() || settings.Masking.Cards == nil || settings.Masking.Rules == nil {
		t.Fatalf("defaults: status %d, %+v", st, settings.Masking)
	}

	v := ts.newVisitor(t, brand.account.ID)
	conv := v.open(t)
	agent := agentWS(t, ts, brand.agent)
	agent.subscribe(conv.ID, 0)
	visitor := connect(t, ts, v.token, nil)
	visitor.subscribe(conv.ID, 0)
	const card, masked = "4242 4242 4242 4242", "**** **** **** 4242"
	visitor.sendText(conv.ID, "c1", "Charge my card "+card+", exp 12/27")
	want := "Charge my card " + masked + ", exp 12/27"
	if m := agent.next(fromVisitor).msg(t); m.Text != want {
		t.Fatalf("the agent received %q, want %q", m.Text, want)
	}
	// The visitor's own window gets the masked text too, to show it.
	if m := visitor.next(ofType("message")).msg(t); m.Text != want {
		t.Fatalf("the visitor's echo is %q", m.Text)
	}
	if st := ts.login(t, brand.agent).do("POST", "/api/v1/conversations/"+conv.ID+"/notes", map[string]any{"text": "Visitor gave 4111-1111-1111-1111 on the phone"}, nil); st != 201 {
		t.Fatalf("note: status %d", st)
	}
	noCard := func(where, text string) {
		t.Helper()
		for _, leak := range []string{card, "4242424242424242", "4111-1111-1111-1111"} {
			if strings.Contains(text, leak) {
				t.Fatalf("%s holds a card number: %s", where, text)
			}
		}
	}
	for _, m := range mustMessages(t, ts, brand.account.ID, conv.ID) {
		noCard("a stored message", m.Text)
	}
	notes, _ := ts.Store.ListNotes(t.Context(), brand.account.ID, conv.ID)
	if len(notes) != 1 || notes[0].Text != "Visitor gave ****-****-****-1111 on the phone" {
		t.Fatalf("notes: %+v", notes)
	}
	events, _ := ts.Store.ListEvents(t.Context(), brand.account.ID, parley.EventFilter{Limit: 1000})
	for _, e := range events {
		noCard("event "+e.Type, string(e.Data))
	}

	// A bad rule is refused by name, and changes nothing.
	st, raw := admin.raw("PUT", "/api/v1/account-settings", map[string]any{"masking": map[string]any{"rules": []map[string]string{
		{"name": "SSN", "pattern": `\b\d{3}-\d{2}-\d{4}\b`}, {"name": "broken", "pattern": `(\d+`}}}})
	if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), "masking.rules[1].pattern") {
		t.Fatalf("a broken rule: status %d %s", st, raw)
	}
	visitor.sendText(conv.ID, "c2", "my SSN is 123-45-6789")
	if m := agent.next(fromVisitor).msg(t); m.Text != "my SSN is 123-45-6789" {
		t.Fatalf("after a refused rule the text is %q", m.Text)
	}
	// A good one applies from the next message, on this node at once.
	if st := admin.do("PUT", "/api/v1/account-settings", map[string]any{"masking": map[string]any{"cards": true, "rules": []map[string]string{
		{"name": "SSN", "pattern": `\b\d{3}-\d{2}-\d{4}\b`, "replacement": "[SSN]"}}}}, &settings); st != 200 || len(settings.Masking.Rules) != 1 {
		t.Fatalf("a good rule: status %d, %+v", st, settings.Masking)
	}
	visitor.sendText(conv.ID, "c3", "my SSN is 123-45-6789")
	if m := agent.next(fromVisitor).msg(t); m.Text != "my SSN is [SSN]" {
		t.Fatalf("with the SSN rule the text is %q", m.Text)
	}
	// The rating's comment too, masked, once a conversation is closed.
	rated := v.open(t)
	if st := ts.login(t, brand.agent).do("POST", "/api/v1/conversations/"+rated.ID+"/close", map[string]any{"reason": "resolved"}, nil); st != 200 {
		t.Fatalf("close: status %d", st)
	}
	if st := v.do("POST", "/api/v1/conversations/"+rated.ID+"/csat", map[string]any{"score": 4, "comment": "I paid with " + card}, nil); st != 204 {
		t.Fatalf("csat: status %d", st)
	}
	if c, _ := ts.Store.FindConversation(t.Context(), brand.account.ID, rated.ID); c.CSATComment != "I paid with "+masked {
		t.Fatalf("the rating's comment is %q", c.CSATComment)
	}
	// Turned off, card numbers go through (a brand that must see them).
	if st := admin.do("PUT", "/api/v1/account-settings", map[string]any{"masking": map[string]any{"cards": false}}, nil); st != 200 {
		t.Fatalf("cards off: status %d", st)
	}
	visitor.sendText(conv.ID, "c4", card)
	if m := agent.next(fromVisitor).msg(t); m.Text != card {
		t.Fatalf("with masking off the text is %q", m.Text)
	}
}

// TestAdminAddsAMaskingRuleAndTheVisitorSeesWhatWasKept: in the console an
// admin adds a rule (a broken one first, refused with the reason shown);
// in the widget the visitor's message then shows masked once stored.
func TestAdminAddsAMaskingRuleAndTheVisitorSeesWhatWasKept(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	setAutoAssign(t, ts, brand, true)
	admin := adminTab(t, ts, brand)
	admin.press(".add-rule")
	admin.do(chromedp.SendKeys(chromedp.CSS(".mask-rules input[name=name]"), "Order PIN"),
		chromedp.SendKeys(chromedp.CSS(".mask-rules input[name=pattern]"), `PIN (\d{4}`),
		chromedp.SendKeys(chromedp.CSS(".mask-rules input[name=replacement]"), "PIN ****"))
	admin.press(".masking button[type=submit]")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, admin.ctx, `document.querySelector(".admin-error").textContent`), "masking.rules[0].pattern")
	})
	// Fix the pattern: the row is still there with what was typed.
	evalIn[bool](t, admin.ctx, `(() => { document.querySelector(".mask-rules input[name=pattern]").value = "PIN \\d{4}"; return true })()`)
	admin.press(".masking button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		rules := acc.Settings.Masking.Rules
		return len(rules) == 1 && rules[0].Pattern == `PIN \d{4}` && rules[0].Replacement == "PIN ****"
	})
	// Saving masking leaves the routing settings as they were.
	if acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID); !acc.Settings.AutoAssign {
		t.Fatal("saving the masking rules turned auto-assign off")
	}
	admin.shot("masking-rule")

	page := hostPages(t, widgetOrigin(ts), brand.account.ID, map[string]string{"/": ""})
	b := newBrowser(t)
	b.do(chromedp.Navigate(page+"/"), chromedp.WaitVisible(launcher), chromedp.Click(launcher))
	frame := b.frame()
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS("#text"), "Card 4242 4242 4242 4242, my PIN 1234\r")); err != nil {
		t.Fatal(err)
	}
	mine := func() string {
		return evalIn[string](t, frame, `[...document.querySelectorAll(".msg.mine .text")].map(e => e.textContent).join("|")`)
	}
	waitFor(t, func() bool { return mine() == "Card **** **** **** 4242, my PIN ****" }, mine)
	b.shot("masked-in-the-widget")
}
