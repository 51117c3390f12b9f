package server_test

import (
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/email/mailbox"
	"github.com/parleychat/parley/internal/server"
)

// TestAVisitorEmailsThemselfTheConversation: in Chromium, once the chat is
// closed, the visitor asks for it by email, typing their address; it
// arrives, with their words and the agent's. A second request within ten
// minutes is refused, and an installation without mail offers none.
func TestAVisitorEmailsThemselfTheConversation(t *testing.T) {
	mail := mailbox.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.SMTPURL, c.MailFrom = mail.URL(), "replies@parley.test"
	})
	brand := seedBrand(t, ts, "Acme")
	_, frame, _ := chatFromBrandPage(t, ts, brand.account.ID, "Do you ship to Norway?")
	agent := ts.login(t, brand.agent)
	online(t, ts, brand.agent)
	var list struct{ Conversations []struct{ ID string } }
	agent.do("GET", "/api/v1/conversations?state=queued", nil, &list)
	if len(list.Conversations) != 1 {
		t.Fatalf("queued: %+v", list)
	}
	id := list.Conversations[0].ID
	agent.do("POST", "/api/v1/conversations/"+id+"/accept", nil, nil)
	agent.do("POST", "/api/v1/conversations/"+id+"/messages", map[string]any{"text": "We do, in three days."}, nil)
	agent.do("POST", "/api/v1/conversations/"+id+"/close", map[string]any{}, nil)

	if err := chromedp.Do(frame, chromedp.WaitVisible(chromedp.CSS(".email-me"))); err != nil {
		t.Fatal(err)
	}
	evalIn[bool](t, frame, `(document.querySelector(".email-me").click(), true)`)
	if err := chromedp.Do(frame, chromedp.SendKeys(chromedp.CSS(".email-me-form input"), "zoe@example.test\r")); err != nil {
		t.Fatal(err)
	}
	var r mailbox.Received
	select {
	case r = <-mail.Received:
	case <-time.After(waitLimit):
		t.Fatal("no transcript within the wait")
	}
	m, err := r.Message()
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if len(r.To) != 1 || r.To[0] != "zoe@example.test" || subject != "Your conversation with Acme" ||
		!strings.Contains(string(r.Data), "Do you ship to Norway?") || !strings.Contains(string(r.Data), "We do, in three days.") {
		t.Fatalf("to %v, subject %q:\n%s", r.To, subject, r.Data)
	}
	waitFor(t, func() bool {
		return evalIn[string](t, frame, `document.querySelector(".email-me-status").textContent`) == "Sent: look in your inbox."
	})

	// Again at once: refused. Without a mail server: not offered, refused.
	visitor := ts.newVisitor(t, brand.account.ID)
	conv := visitor.open(t)
	visitor.do("PATCH", "/api/v1/consumers/me", map[string]any{"email": "sam@example.test"}, nil)
	if st, raw := visitor.raw("POST", "/api/v1/conversations/"+conv.ID+"/transcript/email", map[string]any{}); st != 204 {
		t.Fatalf("first: %d %s", st, raw)
	}
	if st, raw := visitor.raw("POST", "/api/v1/conversations/"+conv.ID+"/transcript/email", map[string]any{}); st != 429 {
		t.Fatalf("again at once: %d %s", st, raw)
	}
	plain := startServer(t, t.TempDir())
	other := seedBrand(t, plain, "Other")
	ov := plain.newVisitor(t, other.account.ID)
	oc := ov.open(t)
	if st, raw := ov.raw("POST", "/api/v1/conversations/"+oc.ID+"/transcript/email", map[string]any{"email": "x@example.test"}); st != 409 {
		t.Fatalf("without a mail server: %d %s", st, raw)
	}
}
