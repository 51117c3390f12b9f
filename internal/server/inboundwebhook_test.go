package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/email/mailbox"
	"github.com/parleychat/parley/internal/server"
)

// Where port 25 is closed (most clouds), a mail service takes the answers
// to the brand's emails and posts them to Parley: Mailgun's, SendGrid's and
// Postmark's shapes and a plain message/rfc822 body, each going through the checks
// the SMTP server makes. The answers say what the services act on: 200
// taken, 406 refused for good, 401 a wrong token, 413 too large.
func TestAMailServicePostsTheVisitorsAnswer(t *testing.T) {
	const token = "inbound-token-0123456789"
	mail := mailbox.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.SMTPURL, c.MailFrom, c.EmailTick = mail.URL(), "replies@parley.test", 50*time.Millisecond
		c.InboundDomain, c.InboundWebhookToken = "reply.parley.test", token
	})
	brand := seedBrand(t, ts, "Acme")
	_, conv, _, replyTo := aReplyMailedToZoe(t, ts, mail, brand)
	letter := func(id, from, text string, extra ...string) string {
		return "From: " + from + "\nTo: Acme <" + replyTo + ">\nSubject: Re: Acme replied\nMessage-ID: <" + id + "@example.test>\n" + strings.Join(extra, "") +
			"Content-Type: text/plain; charset=utf-8\n\n" + text + "\n\nOn Mon, Acme wrote:\n> We do. Which city?\n"
	}
	post := func(contentType, query string, body io.Reader, password string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.url+"/inbound/email"+query, body)
		req.Header.Set("Content-Type", contentType)
		if password != "" {
			req.SetBasicAuth("mailgun", password)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(raw)
	}
	raw := func(query, message string) (int, string) {
		return post("message/rfc822", query, strings.NewReader(message), token)
	}
	form := func(fields map[string]string) (int, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for k, v := range fields {
			w.WriteField(k, v)
		}
		w.Close()
		return post(w.FormDataContentType(), "", &b, token)
	}
	postmark := func(message string) (int, string) {
		body, _ := json.Marshal(map[string]any{"From": "zoe@example.test", "OriginalRecipient": replyTo, "ToFull": []map[string]string{{"Email": replyTo}}, "RawEmail": message})
		return post("application/json", "", bytes.NewReader(body), token)
	}
	visitorSaid := func() string {
		var said []string
		for _, m := range mustMessages(t, ts, brand.account.ID, conv.ID) {
			if m.SenderKind == parley.SenderConsumer {
				said = append(said, m.Text)
			}
		}
		return strings.Join(said, " | ")
	}

	// The three shapes, each posted twice (services retry): once each.
	for range 2 {
		if st, body := raw("", letter("raw-1", "Zoe <zoe@example.test>", "Oslo, please.")); st != 200 {
			t.Fatalf("message/rfc822: %d %s", st, body)
		}
		if st, body := form(map[string]string{"recipient": replyTo, "sender": "zoe@example.test", "body-mime": letter("mailgun-1", "zoe@example.test", "Near the harbour.")}); st != 200 {
			t.Fatalf("Mailgun's form: %d %s", st, body)
		}
		envelope, _ := json.Marshal(map[string]any{"to": []string{replyTo}, "from": "zoe@example.test"})
		if st, body := form(map[string]string{"envelope": string(envelope), "email": letter("sendgrid-1", "zoe@example.test", "Next week if possible.")}); st != 200 {
			t.Fatalf("SendGrid's form: %d %s", st, body)
		}
		if st, body := postmark(letter("postmark-1", "zoe@example.test", "Leave it with the neighbour.")); st != 200 {
			t.Fatalf("Postmark's JSON: %d %s", st, body)
		}
	}
	if got := visitorSaid(); got != "Do you ship to Norway? | Oslo, please. | Near the harbour. | Next week if possible. | Leave it with the neighbour." {
		t.Fatalf("the visitor's messages: %q", got)
	}

	// Refused, and nothing stored.
	errorCode := func(body string) string {
		var e struct{ Error struct{ Code string } }
		json.Unmarshal([]byte(body), &e)
		return e.Error.Code
	}
	for name, tc := range map[string]struct {
		do     func() (int, string)
		status int
		code   string
	}{
		"no token": {func() (int, string) {
			return post("message/rfc822", "", strings.NewReader(letter("x1", "zoe@example.test", "Hi")), "")
		}, 401, parley.EUNAUTHORIZED},
		"a wrong token": {func() (int, string) {
			return post("message/rfc822", "", strings.NewReader(letter("x2", "zoe@example.test", "Hi")), token+"x")
		}, 401, parley.EUNAUTHORIZED},
		"another sender": {func() (int, string) { return raw("", letter("x3", "mallory@example.test", "Send it to me instead")) }, 406, parley.EFORBIDDEN},
		"an unknown address": {func() (int, string) {
			return raw("?recipient="+url.QueryEscape("nobody0000000000000000000@reply.parley.test"), letter("x4", "zoe@example.test", "Hi"))
		}, 406, parley.ENOTFOUND},
		"another domain only": {func() (int, string) {
			return raw("?recipient=help%40acme.test", letter("x5", "zoe@example.test", "Hi"))
		}, 406, parley.ENOTFOUND},
		"only the quote":    {func() (int, string) { return raw("", letter("x6", "zoe@example.test", "")) }, 406, parley.EINVALID},
		"a form of neither": {func() (int, string) { return form(map[string]string{"text": "Oslo"}) }, 406, parley.EINVALID},
		"Postmark without the raw email": {func() (int, string) {
			return post("application/json", "", strings.NewReader(`{"From":"zoe@example.test"}`), token)
		}, 403, parley.EINVALID},
		"Postmark, another sender": {func() (int, string) { return postmark(letter("x8", "mallory@example.test", "Mine now")) }, 403, parley.EFORBIDDEN},
		"XML":                      {func() (int, string) { return post("application/xml", "", strings.NewReader(`<a/>`), token) }, 406, parley.EINVALID},
		"too large": {func() (int, string) {
			return raw("", letter("x7", "zoe@example.test", strings.Repeat("x", 27<<20)))
		}, 413, parley.ETOOLARGE},
	} {
		if st, body := tc.do(); st != tc.status || errorCode(body) != tc.code {
			t.Errorf("%s: %d %s; want %d %s", name, st, body, tc.status, tc.code)
		}
	}
	// An out-of-office answer: taken, so the service stops, and dropped.
	if st, body := raw("", letter("ooo-1", "zoe@example.test", "I am away until Monday.", "Auto-Submitted: auto-replied\n")); st != 200 {
		t.Fatalf("an automatic answer: %d %s", st, body)
	}
	if got := visitorSaid(); got != "Do you ship to Norway? | Oslo, please. | Near the harbour. | Next week if possible. | Leave it with the neighbour." {
		t.Fatalf("the visitor's messages after the refusals: %q", got)
	}
}

// Without a token the route is not there at all, and a token needs an
// inbound domain and a mail server, and must not be guessable.
func TestTheInboundWebhookNeedsItsSettings(t *testing.T) {
	ts := startServer(t, t.TempDir())
	res, err := http.Post(ts.url+"/inbound/email", "message/rfc822", strings.NewReader("From: a@b.test\n\nhi"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 && res.StatusCode != 405 {
		t.Fatalf("without a token: %d", res.StatusCode)
	}
	mail := mailbox.Start(t)
	for name, cfg := range map[string]func(*server.Config){
		"no domain": func(c *server.Config) { c.InboundWebhookToken = "inbound-token-0123456789" },
		"no mail server": func(c *server.Config) {
			c.InboundDomain, c.InboundWebhookToken = "reply.parley.test", "inbound-token-0123456789"
		},
		"a short token": func(c *server.Config) {
			c.SMTPURL, c.MailFrom = mail.URL(), "replies@parley.test"
			c.InboundDomain, c.InboundWebhookToken = "reply.parley.test", "short"
		},
	} {
		c := server.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0"}
		cfg(&c)
		if _, err := server.Open(t.Context(), c, nil); err == nil || !strings.Contains(err.Error(), "inbound") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
