package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/email/mailbox"
	"github.com/parleychat/parley/internal/server"
)

// noSenderDNS is the tests' DNS when they set none: no DKIM key and no
// SPF record anywhere, at once.
type noSenderDNS struct{}

func (noSenderDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (noSenderDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (noSenderDNS) LookupIPAddr(_ context.Context, name string) ([]net.IPAddr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (noSenderDNS) LookupAddr(_ context.Context, addr string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}
}

// visitorsProvider is the mail provider of example.test, where Zoe has her
// address: it signs what she sends (DKIM) with a key its DNS publishes.
// down makes the DNS fail for now. spf, when set, is the SPF record of
// example.test (the SMTP tests all come from 127.0.0.1).
type visitorsProvider struct {
	noSenderDNS
	key  ed25519.PrivateKey
	down atomic.Bool
	spf  atomic.Value // string
}

func newVisitorsProvider(t *testing.T) *visitorsProvider {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &visitorsProvider{key: key}
}

func (p *visitorsProvider) LookupTXT(_ context.Context, name string) ([]string, error) {
	if p.down.Load() {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if r, _ := p.spf.Load().(string); r != "" && strings.TrimSuffix(name, ".") == "example.test" {
		return []string{r}, nil
	}
	if name != "mail._domainkey.example.test" {
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(p.key.Public().(ed25519.PublicKey))}, nil
}

// sign signs an email (LF line ends, as the tests write them) as the
// provider sends it.
func (p *visitorsProvider) sign(t *testing.T, raw string) string {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")), &dkim.SignOptions{Domain: "example.test", Selector: "mail", Signer: p.key})
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n") // answerByEmail sends CRLF
}

// answerFromZoe is Zoe's answer to the emailed reply, as her mail client
// writes it.
func answerFromZoe(replyTo, id, text string) string {
	return "From: Zoe <zoe@example.test>\nTo: " + replyTo + "\nSubject: Re: Acme replied\nMessage-ID: <" + id + "@example.test>\n" +
		"Content-Type: text/plain; charset=utf-8\n\n" + text + "\n\nOn Mon, 30 Nov 2026 at 10:00, Acme <replies@parley.test> wrote:\n> We do. Which city?\n"
}

const unverifiedNote = "This email could not be checked as the visitor's own: it carries no DKIM signature, and example.test publishes no SPF record. Anyone who knows this conversation's reply address and the visitor's email address can write in their name; confirm before acting on a request to change their details, address or payment."

// TestAnUnsignedAnswerByEmailIsTakenWithAWarning: by default an answer
// that no DKIM signature of the visitor's domain vouches for is still
// taken (many small mail servers do not sign), and a private note by
// "Email" tells the agent it may not be the visitor's; a signed answer
// comes without one, and an email handed over twice makes one note.
func TestAnUnsignedAnswerByEmailIsTakenWithAWarning(t *testing.T) {
	provider := newVisitorsProvider(t)
	mail := mailbox.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.SMTPURL, c.MailFrom, c.EmailTick = mail.URL(), "replies@parley.test", 50*time.Millisecond
		c.InboundSMTPAddr, c.InboundDomain = "127.0.0.1:0", "reply.parley.test"
		c.SenderDNS = provider
	})
	brand := seedBrand(t, ts, "Acme")
	_, conv, _, replyTo := aReplyMailedToZoe(t, ts, mail, brand)
	notes := func() []string {
		t.Helper()
		list, err := ts.Store.ListNotes(t.Context(), brand.account.ID, conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		var texts []string
		for _, n := range list {
			texts = append(texts, n.AuthorName+": "+n.Text)
		}
		return texts
	}

	if err := answerByEmail(t, ts, "zoe@example.test", replyTo, provider.sign(t, answerFromZoe(replyTo, "signed", "Oslo, please."))); err != nil {
		t.Fatalf("a signed answer refused: %v", err)
	}
	if got := notes(); len(got) != 0 {
		t.Fatalf("notes after a signed answer: %q; want none", got)
	}
	for range 2 {
		if err := answerByEmail(t, ts, "zoe@example.test", replyTo, answerFromZoe(replyTo, "unsigned", "And gift wrap, please.")); err != nil {
			t.Fatalf("an unsigned answer refused: %v", err)
		}
	}
	if got := notes(); len(got) != 1 || got[0] != "Email: "+unverifiedNote {
		t.Fatalf("notes after an unsigned answer handed over twice: %q; want one:\n%s", got, unverifiedNote)
	}
	if got := visitorSaid(t, ts, brand.account.ID, conv.ID); got != "Do you ship to Norway? | Oslo, please. | And gift wrap, please." {
		t.Fatalf("the visitor's messages: %q", got)
	}
	// Unsigned, from a server example.test names in its SPF record: the
	// visitor's (no new note, counted as taken).
	provider.spf.Store("v=spf1 ip4:127.0.0.1 -all")
	if err := answerByEmail(t, ts, "zoe@example.test", replyTo, answerFromZoe(replyTo, "by-spf", "And a receipt, please.")); err != nil {
		t.Fatalf("an answer SPF vouches for refused: %v", err)
	}
	for outcome, want := range map[string]float64{"taken": 2, "unverified": 2} {
		if got := testutil.ToFloat64(ts.Metrics.InboundEmails.WithLabelValues(outcome)); got != want {
			t.Errorf("parley_inbound_emails_total{outcome=%q} %v, want %v", outcome, got, want)
		}
	}
}

// TestABrandThatRequiresSignedAnswersRefusesTheOthers: with
// --inbound-sender-check require, an unsigned answer is refused for good
// (SMTP 550 5.7.1; the inbound webhook's 406 with code forbidden) and
// stores nothing; a DKIM key that cannot be looked up is "try again"
// (451; 503), and once it can, the signed answer is taken.
func TestABrandThatRequiresSignedAnswersRefusesTheOthers(t *testing.T) {
	const token = "inbound-token-0123456789"
	provider := newVisitorsProvider(t)
	mail := mailbox.Start(t)
	ts := startServer(t, t.TempDir(), func(c *server.Config) {
		c.SMTPURL, c.MailFrom, c.EmailTick = mail.URL(), "replies@parley.test", 50*time.Millisecond
		c.InboundSMTPAddr, c.InboundDomain, c.InboundWebhookToken = "127.0.0.1:0", "reply.parley.test", token
		c.InboundSenderCheck, c.SenderDNS = "require", provider
	})
	brand := seedBrand(t, ts, "Acme")
	_, conv, _, replyTo := aReplyMailedToZoe(t, ts, mail, brand)
	viaWebhook := func(raw string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", ts.url+"/inbound/email?recipient="+replyTo, strings.NewReader(raw))
		req.Header.Set("Content-Type", "message/rfc822")
		req.SetBasicAuth("relay", token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}

	unsigned := answerFromZoe(replyTo, "unsigned", "Send it to Mallory's address instead.")
	var refused *smtp.SMTPError
	if err := answerByEmail(t, ts, "zoe@example.test", replyTo, unsigned); !errors.As(err, &refused) || refused.Code != 550 ||
		refused.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) || !strings.Contains(refused.Message, "it carries no DKIM signature") {
		t.Fatalf("an unsigned answer by SMTP: %v; want 550 5.7.1 saying why", err)
	}
	if st, body := viaWebhook(unsigned); st != http.StatusNotAcceptable || !strings.Contains(body, `"forbidden"`) {
		t.Fatalf("an unsigned answer by webhook: %d %s; want 406 forbidden", st, body)
	}
	signed := provider.sign(t, answerFromZoe(replyTo, "signed", "Oslo, please."))
	provider.down.Store(true)
	if err := answerByEmail(t, ts, "zoe@example.test", replyTo, signed); !errors.As(err, &refused) || refused.Code != 451 {
		t.Fatalf("a signed answer while the key cannot be looked up, by SMTP: %v; want 451, try again", err)
	}
	if st, body := viaWebhook(signed); st != http.StatusServiceUnavailable || !strings.Contains(body, `"unavailable"`) {
		t.Fatalf("a signed answer while the key cannot be looked up, by webhook: %d %s; want 503", st, body)
	}
	if got := visitorSaid(t, ts, brand.account.ID, conv.ID); got != "Do you ship to Norway?" {
		t.Fatalf("the visitor's messages after the refusals: %q; want nothing added", got)
	}
	provider.down.Store(false)
	if err := answerByEmail(t, ts, "zoe@example.test", replyTo, signed); err != nil {
		t.Fatalf("a signed answer refused: %v", err)
	}
	if got := visitorSaid(t, ts, brand.account.ID, conv.ID); got != "Do you ship to Norway? | Oslo, please." {
		t.Fatalf("the visitor's messages: %q", got)
	}
	if notes, err := ts.Store.ListNotes(t.Context(), brand.account.ID, conv.ID); err != nil || len(notes) != 0 {
		t.Fatalf("notes: %+v %v; want none (nothing unverified was taken)", notes, err)
	}
	// Operators count them: two refused (SMTP and webhook), two to try
	// again, one taken.
	for outcome, want := range map[string]float64{"refused": 2, "deferred": 2, "taken": 1} {
		if got := testutil.ToFloat64(ts.Metrics.InboundEmails.WithLabelValues(outcome)); got != want {
			t.Errorf("parley_inbound_emails_total{outcome=%q} %v, want %v", outcome, got, want)
		}
	}
}

// TestTheSenderCheckIsOneOfThree: a setting other than note, require or
// off stops the server with a message naming them.
func TestTheSenderCheckIsOneOfThree(t *testing.T) {
	_, err := server.Open(t.Context(), server.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), InboundSenderCheck: "strict"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "note, require or off") {
		t.Fatalf("inbound-sender-check strict: %v; want refused, naming the choices", err)
	}
}

// visitorSaid is what the visitor wrote in the conversation, in order,
// joined with " | ".
func visitorSaid(t *testing.T, ts *testServer, accountID, conversationID string) string {
	t.Helper()
	var said []string
	for _, m := range mustMessages(t, ts, accountID, conversationID) {
		if m.SenderKind == parley.SenderConsumer {
			said = append(said, m.Text)
		}
	}
	return strings.Join(said, " | ")
}
