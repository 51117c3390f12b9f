package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/email/mailtest"
	"github.com/parleychat/parley/internal/server"
)

// TestEmailRepliesNeedAMailServer: without --smtp-url the settings say
// there is no mail server, and turning email replies on is refused with
// the reason; the other fields are still checked and kept.
func TestEmailRepliesNeedAMailServer(t *testing.T) {
	ts := startServer(t, t.TempDir())
	brand := seedBrand(t, ts, "Acme")
	admin := ts.login(t, brand.admin)
	var got struct {
		MailServer   *bool               `json:"mail_server"`
		EmailReplies parley.EmailReplies `json:"email_replies"`
	}
	if st := admin.do("GET", "/api/v1/account-settings", nil, &got); st != 200 || got.MailServer == nil || *got.MailServer ||
		got.EmailReplies.Enabled || got.EmailReplies.DelayMinutes == nil || *got.EmailReplies.DelayMinutes != 5 {
		t.Fatalf("defaults: status %d, %+v", st, got)
	}
	st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"email_replies": map[string]any{"enabled": true}})
	if st != 409 || errorCode(raw) != parley.ECONFLICT || !strings.Contains(string(raw), "--smtp-url") {
		t.Fatalf("turning on without a mail server: status %d %s", st, raw)
	}
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"email_replies": map[string]any{"from_name": "Acme Help"}}, &got); st != 200 || got.EmailReplies.FromName != "Acme Help" {
		t.Fatalf("from_name: status %d, %+v", st, got.EmailReplies)
	}
}

// TestAnAgentsReplyReachesAVisitorWhoLeftByEmail: a brand turns email
// replies on; a visitor who gave their address asks and leaves; the
// agent's answer, unread, goes to them by email through a real SMTP
// server, and the conversation's activity says it was mailed. Bad
// settings are refused with the field named, and agents cannot change
// them.
func TestAnAgentsReplyReachesAVisitorWhoLeftByEmail(t *testing.T) {
	mail := mailtest.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.SMTPURL, c.MailFrom, c.EmailTick = mail.URL(), "replies@parley.test", 50*time.Millisecond
	})
	brand := seedBrand(t, ts, "Acme")
	admin := ts.login(t, brand.admin)
	for field, bad := range map[string]map[string]any{
		"email_replies.delay_minutes": {"enabled": true, "delay_minutes": -1},
		"email_replies.reply_to":      {"enabled": true, "reply_to": "Help <help@acme.test>"},
		"email_replies.site_url":      {"enabled": true, "site_url": "javascript:alert(1)"},
		"email_replies.from_name":     {"enabled": true, "from_name": "Acme\r\nBcc: everyone@example.test"},
	} {
		st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"email_replies": bad})
		if st != 400 || errorCode(raw) != parley.EINVALID || !strings.Contains(string(raw), field) {
			t.Fatalf("%v: status %d %s", bad, st, raw)
		}
	}
	if st := ts.login(t, brand.agent).do("PATCH", "/api/v1/account-settings", map[string]any{"email_replies": map[string]any{"enabled": true}}, nil); st != 403 {
		t.Fatalf("an agent turned email replies on: status %d", st)
	}
	var got struct {
		MailServer   *bool               `json:"mail_server"`
		EmailReplies parley.EmailReplies `json:"email_replies"`
	}
	on := map[string]any{"enabled": true, "delay_minutes": 0, "reply_to": "help@acme.test", "site_url": "https://acme.test/help"}
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"email_replies": on}, &got); st != 200 || !*got.MailServer || !got.EmailReplies.Enabled {
		t.Fatalf("turning on: status %d, %+v", st, got)
	}

	v := ts.newVisitor(t, brand.account.ID)
	if st := v.do("PATCH", "/api/v1/consumers/me", map[string]any{"name": "Zoë", "email": "zoe@example.test"}, nil); st != 200 {
		t.Fatalf("visitor's address: status %d", st)
	}
	conv := v.open(t)
	if st := v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Where is my parcel?", "client_id": "c1"}, nil); st != 201 {
		t.Fatalf("visitor's message: status %d", st)
	}
	agent := ts.login(t, brand.agent)
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil); st != 200 {
		t.Fatalf("accept: status %d", st)
	}
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "It ships tomorrow morning.", "client_id": "a1"}, nil); st != 201 {
		t.Fatalf("agent's reply: status %d", st)
	}

	var r mailtest.Received
	select {
	case r = <-mail.Received:
	case <-time.After(waitLimit):
		t.Fatal("no email within the wait")
	}
	m, err := r.Message()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.To) != 1 || r.To[0] != "zoe@example.test" || m.Header.Get("Reply-To") != "<help@acme.test>" || !strings.Contains(m.Header.Get("From"), "replies@parley.test") {
		t.Fatalf("to %v, headers %v", r.To, m.Header)
	}
	if !strings.Contains(string(r.Data), "It ships tomorrow morning.") {
		t.Fatalf("the reply is not in the email:\n%s", r.Data)
	}
	waitFor(t, func() bool {
		var activity struct {
			Events []parley.Event `json:"events"`
		}
		agent.do("GET", "/api/v1/conversations/"+conv.ID+"/activity", nil, &activity)
		for _, e := range activity.Events {
			if e.Type == parley.EventEmailSent {
				return true
			}
		}
		return false
	}, func() string { return "no email.sent in the conversation's activity" })
}

// TestAnAdminTurnsOnEmailRepliesInTheConsole: in Chromium, the admin turns
// email replies on from the Admin tab; the agent's unread reply is mailed,
// and the agent reads in the conversation's Activity that it was.
func TestAnAdminTurnsOnEmailRepliesInTheConsole(t *testing.T) {
	mail := mailtest.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.SMTPURL, c.MailFrom, c.EmailTick = mail.URL(), "replies@parley.test", 50*time.Millisecond
	})
	brand := seedBrand(t, ts, "Acme")
	admin := adminTab(t, ts, brand)
	if hidden := evalIn[bool](t, admin.ctx, `document.querySelector(".no-mail-server").hidden`); !hidden {
		t.Fatal("the console says there is no mail server")
	}
	admin.do(chromedp.SetValue(chromedp.CSS(".email-settings [name=delay]"), "0"),
		chromedp.SendKeys(chromedp.CSS(".email-settings [name=replyTo]"), "help@acme.test"))
	admin.press(".email-settings [name=enabled]")
	admin.press(".email-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		er := acc.Settings.EmailReplies
		return er.Enabled && er.Delay() == 0 && er.ReplyTo == "help@acme.test"
	})

	v := ts.newVisitor(t, brand.account.ID)
	v.do("PATCH", "/api/v1/consumers/me", map[string]any{"email": "zoe@example.test"}, nil)
	conv := v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Is it in stock?", "client_id": "c1"}, nil)
	agent := ts.login(t, brand.agent)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Yes, three left.", "client_id": "a1"}, nil)
	select {
	case <-mail.Received:
	case <-time.After(waitLimit):
		t.Fatal("no email within the wait")
	}
	waitEvents(t, ts, brand.account.ID, parley.EventEmailSent, 1)

	b := consoleLogin(t, ts, brand.agent, "[data-tab=mine]")
	b.openFirst("mine")
	b.press(".show-activity")
	lines := func() string {
		return evalIn[string](t, b.ctx, `[...document.querySelectorAll(".activity li")].map((li) => li.textContent).join(" | ")`)
	}
	waitFor(t, func() bool { return strings.Contains(lines(), "A reply the visitor had not read was emailed to them") }, lines)
}
