package server_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/email/mailbox"
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
	st, raw = admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"weekly_report": true})
	if st != 409 || !strings.Contains(string(raw), "weekly report") {
		t.Fatalf("a weekly report without a mail server: status %d %s", st, raw)
	}
	st, raw = admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"daily_report": true})
	if st != 409 || !strings.Contains(string(raw), "daily report") {
		t.Fatalf("a daily report without a mail server: status %d %s", st, raw)
	}
}

// TestAnAdminTurnsOnTheWeeklyReport: with a mail server, weekly_report is
// saved and read back; agents cannot change it.
func TestAnAdminTurnsOnTheWeeklyReport(t *testing.T) {
	mail := mailbox.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) { c.SMTPURL, c.MailFrom = mail.URL(), "replies@parley.test" })
	brand := seedBrand(t, ts, "Acme")
	var got struct {
		WeeklyReport *bool `json:"weekly_report"`
		DailyReport  *bool `json:"daily_report"`
	}
	if st := ts.login(t, brand.admin).do("PATCH", "/api/v1/account-settings", map[string]any{"weekly_report": true}, &got); st != 200 || got.WeeklyReport == nil || !*got.WeeklyReport ||
		got.DailyReport == nil || *got.DailyReport {
		t.Fatalf("turning it on: %d %+v", st, got)
	}
	if st := ts.login(t, brand.admin).do("PATCH", "/api/v1/account-settings", map[string]any{"daily_report": true}, &got); st != 200 || !*got.DailyReport || !*got.WeeklyReport {
		t.Fatalf("the daily one too: %d %+v", st, got)
	}
	if st, _ := ts.login(t, brand.agent).raw("PATCH", "/api/v1/account-settings", map[string]any{"weekly_report": false}); st != 403 {
		t.Fatalf("an agent turning it off: %d", st)
	}
	if acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID); !acc.Settings.WeeklyReport {
		t.Fatal("not saved")
	}
	// When they go: Monday at 08:00 unless the brand says otherwise.
	admin := ts.login(t, brand.admin)
	var when struct {
		ReportHour      *int    `json:"report_hour"`
		WeeklyReportDay *string `json:"weekly_report_day"`
	}
	if admin.do("GET", "/api/v1/account-settings", nil, &when); when.ReportHour == nil || *when.ReportHour != 8 || when.WeeklyReportDay == nil || *when.WeeklyReportDay != "monday" {
		t.Fatalf("the defaults: %+v", when)
	}
	for _, bad := range []map[string]any{{"report_hour": 24}, {"report_hour": -1}, {"weekly_report_day": "funday"}, {"weekly_report_day": ""}} {
		if st, body := admin.raw("PATCH", "/api/v1/account-settings", bad); st != 400 || !strings.Contains(string(body), `"invalid"`) {
			t.Fatalf("%v: %d %s; want 400 invalid", bad, st, body)
		}
	}
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"report_hour": 17, "weekly_report_day": "Friday"}, &when); st != 200 || *when.ReportHour != 17 || *when.WeeklyReportDay != "friday" {
		t.Fatalf("Friday at 17:00: %d %+v", st, when)
	}
	if acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID); acc.Settings.ReportHour == nil || *acc.Settings.ReportHour != 17 || acc.Settings.WeeklyReportDay != "friday" || !acc.Settings.WeeklyReport {
		t.Fatalf("saved: %+v", acc.Settings)
	}
	// A supervisor stops it for themself, and only for themself.
	sup := ts.login(t, brand.supervisor)
	var me struct {
		ReportEmails  *bool `json:"report_emails"`
		MentionEmails *bool `json:"mention_emails"`
	}
	if st := sup.do("PATCH", "/api/v1/me", map[string]any{"report_emails": false}, &me); st != 200 || me.ReportEmails == nil || *me.ReportEmails || me.MentionEmails == nil || !*me.MentionEmails {
		t.Fatalf("opting out: %d %+v", st, me)
	}
	if sup.do("GET", "/api/v1/me", nil, &me); me.ReportEmails == nil || *me.ReportEmails {
		t.Fatalf("/me after opting out: %+v", me)
	}
	if u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.admin.ID); u.ReportEmailsOff {
		t.Fatal("the admin was opted out too")
	}
}

// TestAnAgentsReplyReachesAVisitorWhoLeftByEmail: a brand turns email
// replies on; a visitor who gave their address asks and leaves; the
// agent's answer, unread, goes to them by email through a real SMTP
// server, and the conversation's activity says it was mailed. Bad
// settings are refused with the field named, and agents cannot change
// them.
func TestAnAgentsReplyReachesAVisitorWhoLeftByEmail(t *testing.T) {
	mail := mailbox.Start(t)
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
	// Rating requests link to a page of the installation: without its
	// public address they cannot be turned on.
	st, raw := admin.raw("PATCH", "/api/v1/account-settings", map[string]any{"email_replies": map[string]any{"enabled": true, "survey": true}})
	if st != 409 || errorCode(raw) != parley.ECONFLICT || !strings.Contains(string(raw), "--public-url") {
		t.Fatalf("rating requests without a public address: status %d %s", st, raw)
	}
	if res, err := http.Get(ts.url + "/csat/rate?t=forged.token&score=5"); err != nil || res.StatusCode != 400 {
		t.Fatalf("the rating page with a forged link: %v %v", res, err)
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

	var r mailbox.Received
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
	mail := mailbox.Start(t)
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
	admin.press(".email-settings [name=weekly]")
	admin.press(".email-settings [name=daily]")
	if day, hour := evalIn[string](t, admin.ctx, `document.querySelector(".email-settings [name=weeklyDay]").value`),
		evalIn[string](t, admin.ctx, `document.querySelector(".email-settings [name=reportHour]").value`); day != "monday" || hour != "8" {
		t.Fatalf("the reports' day and hour shown: %q %q; want Monday at 8", day, hour)
	}
	admin.do(chromedp.SetValue(chromedp.CSS(".email-settings [name=weeklyDay]"), "friday"),
		chromedp.SetValue(chromedp.CSS(".email-settings [name=reportHour]"), "17"))
	admin.press(".email-settings button[type=submit]")
	waitFor(t, func() bool {
		acc, _ := ts.Store.FindAccount(t.Context(), brand.account.ID)
		er := acc.Settings.EmailReplies
		hour, day := acc.Settings.ReportSchedule()
		return er.Enabled && er.Delay() == 0 && er.ReplyTo == "help@acme.test" && acc.Settings.WeeklyReport && acc.Settings.DailyReport &&
			hour == 17 && day == time.Friday
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

// answerByEmail sends raw as an email from from to to through the
// server's inbound SMTP port, as the visitor's mail provider would, and
// returns the server's answer.
func answerByEmail(t *testing.T, ts *testServer, from, to, raw string) error {
	t.Helper()
	c, err := smtp.Dial(ts.InboundAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.SendMail(from, []string{to}, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")))
}

// TestAVisitorAnswersAnEmailedReplyByEmail: the email's Reply-To is the
// conversation's own address at the inbound domain; the visitor answers
// from their mail client and the answer — without the quoted email —
// joins the conversation as their message, once however often the mail
// server hands it over. After the conversation closed, an answer opens a
// new one that waits for a person. Mail for unknown addresses, other
// domains or from another sender is refused at the door.
func TestAVisitorAnswersAnEmailedReplyByEmail(t *testing.T) {
	mail := mailbox.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.SMTPURL, c.MailFrom, c.EmailTick = mail.URL(), "replies@parley.test", 50*time.Millisecond
		c.InboundSMTPAddr, c.InboundDomain = "127.0.0.1:0", "reply.parley.test"
		c.MaxAttachmentBytes = 64 << 10
	})
	brand := seedBrand(t, ts, "Acme")
	v, conv, agent, replyTo := aReplyMailedToZoe(t, ts, mail, brand)

	answer := "From: Zoe <zoe@example.test>\nTo: " + replyTo + "\nSubject: Re: Acme replied\nMessage-ID: <answer-1@example.test>\nContent-Type: text/plain; charset=utf-8\n\n" +
		"Oslo, please.\n\nOn Mon, 30 Nov 2026 at 10:00, Acme <replies@parley.test> wrote:\n> We do. Which city?\n"
	for range 2 { // the provider hands it over twice: one message
		if err := answerByEmail(t, ts, "zoe@example.test", replyTo, answer); err != nil {
			t.Fatalf("answer refused: %v", err)
		}
	}
	msgs := mustMessages(t, ts, brand.account.ID, conv.ID)
	var visitorSaid []string
	for _, m := range msgs {
		if m.SenderKind == parley.SenderConsumer {
			visitorSaid = append(visitorSaid, m.Text)
		}
	}
	if strings.Join(visitorSaid, " | ") != "Do you ship to Norway? | Oslo, please." {
		t.Fatalf("the visitor's messages: %q", visitorSaid)
	}
	// A photo by email: the text, then the photo as a file message; a Word
	// file, which the widget would refuse too, and a scan over the size
	// limit are left out, and a note tells the agent so.
	withPhoto := "From: zoe@example.test\nTo: " + replyTo + "\nSubject: Re: Acme replied\nMessage-ID: <answer-photo@example.test>\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=m\n\n--m\nContent-Type: text/plain\n\nThe box arrived like this\n" +
		"--m\nContent-Type: image/png\nContent-Disposition: attachment; filename=box.png\nContent-Transfer-Encoding: base64\n\n" + base64.StdEncoding.EncodeToString(pngBytes) + "\n" +
		"--m\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=scan.pdf\nContent-Transfer-Encoding: base64\n\n" + wrapLines(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF"), 20<<10)), 76) + "\n" +
		"--m\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document\nContent-Disposition: attachment; filename=claim.docx\nContent-Transfer-Encoding: base64\n\n" + base64.StdEncoding.EncodeToString([]byte("PK\x03\x04 not really a docx")) + "\n--m--\n"
	for range 2 { // handed over twice: one text, one photo
		if err := answerByEmail(t, ts, "zoe@example.test", replyTo, withPhoto); err != nil {
			t.Fatalf("answer with a photo refused: %v", err)
		}
	}
	var said []string
	for _, m := range mustMessages(t, ts, brand.account.ID, conv.ID) {
		if m.SenderKind == parley.SenderConsumer {
			s := m.Text
			if m.Attachment != nil {
				s = "file " + m.Attachment.Name + " " + m.Attachment.ContentType
			}
			said = append(said, s)
		}
	}
	if strings.Join(said, " | ") != "Do you ship to Norway? | Oslo, please. | The box arrived like this | file box.png image/png" {
		t.Fatalf("the visitor's messages after the photo: %q", said)
	}
	const leftOut = "The visitor's email came with files that are not in the conversation: scan.pdf (larger than 64 KiB); claim.docx (a type the chat does not take). Ask for them another way if they are needed."
	// Zoe's provider does not sign (DKIM): one note says so, whatever
	// the emails (emailsender_test.go), and one names the files.
	notes, err := ts.Store.ListNotes(t.Context(), brand.account.ID, conv.ID)
	var texts []string
	for _, n := range notes {
		texts = append(texts, n.AuthorName+": "+n.Text)
	}
	if err != nil || len(texts) != 2 || texts[0] != "Email: "+unverifiedNote || texts[1] != "Email: "+leftOut {
		t.Fatalf("notes after the email handed over twice: %q %v; want two:\n%s\n%s", texts, err, unverifiedNote, leftOut)
	}
	// The agent sees that it came by email.
	b := consoleLogin(t, ts, brand.agent, "[data-tab=mine]")
	b.openFirst("mine")
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, b.ctx, `[...document.querySelectorAll(".messages li.consumer")].map(li => li.textContent).join(" | ")`), "Visitor · by emailOslo, please.")
	}, func() string { return evalIn[string](t, b.ctx, `document.querySelector(".messages").textContent`) })
	waitFor(t, func() bool {
		return evalIn[bool](t, b.ctx, `!!document.querySelector('.messages li.consumer img[alt="box.png"]')`)
	})
	waitFor(t, func() bool {
		return strings.Contains(evalIn[string](t, b.ctx, `[...document.querySelectorAll(".messages li.note")].map(li => li.textContent).join(" | ")`), "claim.docx (a type the chat does not take)")
	}, func() string { return evalIn[string](t, b.ctx, `document.querySelector(".messages").textContent`) })

	for name, tc := range map[string]struct{ from, to, code string }{
		"another sender":     {"mallory@example.test", replyTo, "550"},
		"an unknown address": {"zoe@example.test", "nobody0000000000000000000@reply.parley.test", "550"},
		"another domain":     {"zoe@example.test", "help@acme.test", "550"},
	} {
		raw := strings.Replace(strings.Replace(answer, "Zoe <zoe@example.test>", tc.from, 1), "answer-1", "answer-"+name, 1)
		err := answerByEmail(t, ts, tc.from, tc.to, raw)
		if err == nil || !strings.Contains(err.Error(), tc.code) {
			t.Fatalf("%s: %v; want refused with %s", name, err, tc.code)
		}
	}

	// Closed, then answered: a new conversation, waiting for a person.
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/close", map[string]any{}, nil); st != 200 {
		t.Fatalf("close: status %d", st)
	}
	later := strings.Replace(strings.Replace(answer, "answer-1", "answer-2", 1), "Oslo, please.", "One more thing: gift wrap?", 1)
	if err := answerByEmail(t, ts, "zoe@example.test", replyTo, later); err != nil {
		t.Fatalf("answer after the close refused: %v", err)
	}
	list, _ := ts.Store.ListConversations(t.Context(), brand.account.ID, parley.ConversationFilter{ConsumerID: v.consumer.ID, Limit: 10})
	if len(list) != 2 || list[0].ID == conv.ID || list[0].State != parley.StateQueued || list[0].Channel != parley.ChannelEmail {
		t.Fatalf("conversations after the late answer: %+v", list)
	}
	if msgs := mustMessages(t, ts, brand.account.ID, list[0].ID); len(msgs) == 0 || msgs[len(msgs)-1].Text != "One more thing: gift wrap?" {
		t.Fatalf("the new conversation holds %+v", msgs)
	}
}

// wrapLines breaks s into lines of n characters, as email bodies must be.
func wrapLines(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

// aReplyMailedToZoe is where answers by email begin: a brand that mails
// replies and takes answers back (its settings say so), Zoe asking on the
// site, the agent answering, and the email that reaches her, whose
// Reply-To is the conversation's own address.
func aReplyMailedToZoe(t *testing.T, ts *testServer, mail *mailbox.Server, brand brand) (v *visitor, conv *parley.Conversation, agent *client, replyTo string) {
	t.Helper()
	admin := ts.login(t, brand.admin)
	if st := admin.do("PATCH", "/api/v1/account-settings", map[string]any{"email_replies": map[string]any{"enabled": true, "delay_minutes": 0, "reply_to": "help@acme.test"}}, nil); st != 200 {
		t.Fatalf("turning on: status %d", st)
	}
	v = ts.newVisitor(t, brand.account.ID)
	v.do("PATCH", "/api/v1/consumers/me", map[string]any{"email": "Zoe@Example.test"}, nil)
	conv = v.open(t)
	v.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Do you ship to Norway?", "client_id": "c1"}, nil)
	agent = ts.login(t, brand.agent)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/accept", nil, nil)
	agent.do("POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "We do. Which city?", "client_id": "a1"}, nil)
	var r mailbox.Received
	select {
	case r = <-mail.Received:
	case <-time.After(waitLimit):
		list, err := ts.Store.ListReplyEmails(t.Context(), brand.account.ID, conv.ID)
		t.Fatalf("no email within the wait; owed: %+v %v", list, err)
	}
	m, _ := r.Message()
	var settings struct {
		MailInbound bool `json:"mail_inbound"`
	}
	if admin.do("GET", "/api/v1/account-settings", nil, &settings); !settings.MailInbound {
		t.Fatal("the settings do not say answers come back")
	}
	replyTo = strings.Trim(m.Header.Get("Reply-To"), "<>")
	if !strings.HasSuffix(replyTo, "@reply.parley.test") {
		t.Fatalf("Reply-To %q: want the conversation's own address (the brand's mailbox only without inbound mail)", replyTo)
	}
	return v, conv, agent, replyTo
}

// nextMail waits for the next email the mailbox takes and returns it with
// its body read (quoted-printable undone).
func nextMail(t *testing.T, mail *mailbox.Server) (mailbox.Received, string) {
	t.Helper()
	select {
	case r := <-mail.Received:
		return r, strings.NewReplacer("=\r\n", "", "=3D", "=").Replace(string(r.Data))
	case <-time.After(waitLimit):
		t.Fatal("no email within the wait")
		return mailbox.Received{}, ""
	}
}

// TestAMentionWhileAwayIsEmailed: an agent's note mentions the supervisor,
// who is not in the console: the note reaches them by email, with a link
// to the conversation in the console. In Chromium the link opens that
// conversation, and the supervisor turns these emails off in their
// Profile, and those about the conversations they follow.
func TestAMentionWhileAwayIsEmailed(t *testing.T) {
	mail := mailbox.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.SMTPURL, c.MailFrom, c.EmailTick, c.MentionEmailDelay = mail.URL(), "replies@parley.test", 50*time.Millisecond, -time.Second
		c.PublicURL = "https://chat.acme.test"
	})
	brand := seedBrand(t, ts, "Acme")
	conv := ts.newVisitor(t, brand.account.ID).open(t)
	agent := ts.login(t, brand.agent)
	if st := agent.do("POST", "/api/v1/conversations/"+conv.ID+"/notes", map[string]any{"text": "@supervisor can we refund twice?", "mentions": []string{brand.supervisor.ID}}, nil); st != 201 {
		t.Fatalf("note: status %d", st)
	}
	r, body := nextMail(t, mail)
	link := "https://chat.acme.test/console/#conversation=" + conv.ID
	if len(r.To) != 1 || r.To[0] != brand.supervisor.Email || !strings.Contains(body, "can we refund twice?") || !strings.Contains(body, link) {
		t.Fatalf("to %v:\n%s", r.To, body)
	}

	b := consoleLogin(t, ts, brand.supervisor, ".open-profile")
	b.do(chromedp.Navigate(strings.Replace(link, "https://chat.acme.test", ts.url, 1)))
	waitFor(t, func() bool {
		return evalIn[bool](t, b.ctx, `!document.querySelector(".conversation").hidden && location.hash === "#conversation=`+conv.ID+`"`) &&
			strings.Contains(evalIn[string](t, b.ctx, `document.querySelector(".conv-state").textContent`), "queued")
	}, func() string { return "the link did not open the conversation" })
	b.press(".open-profile")
	b.do(chromedp.WaitVisible(chromedp.CSS("dialog.profile .mention-emails")))
	if on := evalIn[bool](t, b.ctx, `document.querySelector(".mention-emails").checked`); !on {
		t.Fatal("mention emails show as off before anyone turned them off")
	}
	b.press(".mention-emails")
	waitFor(t, func() bool {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.supervisor.ID)
		return u.MentionEmailsOff
	})
	// And the switch for the conversations they follow, on until turned off.
	if on := evalIn[bool](t, b.ctx, `document.querySelector(".follow-emails").checked`); !on {
		t.Fatal("follow emails show as off before anyone turned them off")
	}
	b.press(".follow-emails")
	waitFor(t, func() bool {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.supervisor.ID)
		return u.FollowEmailsOff
	})
	// A supervisor also has the weekly report's switch, on until turned off.
	if on := evalIn[bool](t, b.ctx, `!document.querySelector(".report-emails-row").hidden && document.querySelector(".report-emails").checked`); !on {
		t.Fatal("the weekly report's switch is hidden or off")
	}
	b.press(".report-emails")
	waitFor(t, func() bool {
		u, _ := ts.Store.FindUser(t.Context(), brand.account.ID, brand.supervisor.ID)
		return u.ReportEmailsOff
	})
}
