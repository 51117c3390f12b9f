package email_test

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/email"
	"github.com/parleychat/parley/internal/email/mailbox"
	"github.com/parleychat/parley/internal/sqlstore"
)

// world is a store with one brand that mails replies, a visitor with an
// address, their conversation, and a real SMTP server.
type world struct {
	t     *testing.T
	store *sqlstore.DB
	acc   *parley.Account
	conv  *parley.Conversation
	mail  *mailbox.Server
	svc   *email.Service
}

func newWorld(t *testing.T, lang string) *world {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "parley.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	five := 5
	acc := &parley.Account{Name: "Acme", Settings: parley.AccountSettings{
		Widget:       parley.WidgetSettings{Language: lang},
		EmailReplies: parley.EmailReplies{Enabled: true, DelayMinutes: &five, FromName: "Acme Support", ReplyTo: "help@acme.test", SiteURL: "https://acme.test/help"},
	}}
	if err := store.CreateAccount(ctx, acc); err != nil {
		t.Fatal(err)
	}
	visitor := &parley.Consumer{AccountID: acc.ID, Name: "Zoë Doe", Email: "zoe@example.test"}
	if err := store.CreateConsumer(ctx, visitor); err != nil {
		t.Fatal(err)
	}
	conv, err := store.OpenConversation(ctx, acc.ID, parley.ConversationOpen{ConsumerID: visitor.ID, Channel: parley.ChannelWeb, State: parley.StateQueued})
	if err != nil {
		t.Fatal(err)
	}
	srv := mailbox.Start(t)
	smtp, err := email.ParseSMTP(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	svc := email.New(store, smtp, "replies@parley.test", slog.New(slog.NewTextHandler(io.Discard, nil)))
	w := &world{t: t, store: store, acc: acc, conv: conv, mail: srv, svc: svc}
	// The cursor starts at the log's end: what was said before the
	// brand turned email replies on is never mailed.
	w.sweep(time.Now())
	w.say(parley.SenderConsumer, "Where is my refund?")
	return w
}

func (w *world) say(kind parley.SenderKind, text string) *parley.Message {
	w.t.Helper()
	m := &parley.Message{AccountID: w.acc.ID, ConversationID: w.conv.ID, SenderKind: kind, Type: parley.MessageText, Text: text}
	if kind == parley.SenderAgent {
		m.SenderID, m.SenderName = "usr_ana", "Ana"
	} else {
		m.SenderID = w.conv.ConsumerID
	}
	stored, _, err := w.store.AppendMessage(context.Background(), m)
	if err != nil {
		w.t.Fatal(err)
	}
	return stored
}

func (w *world) sweep(now time.Time) {
	w.t.Helper()
	if err := w.svc.Sweep(context.Background(), now); err != nil {
		w.t.Fatal(err)
	}
}

// next returns the next email the server accepted; none: the test fails.
func (w *world) next() mailbox.Received {
	w.t.Helper()
	select {
	case r := <-w.mail.Received:
		return r
	default:
		w.t.Fatal("no email was sent")
		return mailbox.Received{}
	}
}

func (w *world) none() {
	w.t.Helper()
	select {
	case r := <-w.mail.Received:
		w.t.Fatalf("an email was sent: %s", r.Data)
	default:
	}
}

func (w *world) emails() []*parley.ReplyEmail {
	w.t.Helper()
	list, err := w.store.ListReplyEmails(context.Background(), w.acc.ID, w.conv.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return list
}

// parts returns the email's headers and its text and HTML parts, decoded.
func parts(t *testing.T, r mailbox.Received) (map[string]string, string, string) {
	t.Helper()
	m, err := r.Message()
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	dec := new(mime.WordDecoder)
	for k := range m.Header {
		v, err := dec.DecodeHeader(m.Header.Get(k))
		if err != nil {
			t.Fatalf("header %s: %v", k, err)
		}
		headers[k] = v
	}
	typ, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || typ != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var text, html string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p) // quoted-printable is decoded by the reader
		switch {
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain"):
			text = string(b)
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/html"):
			html = string(b)
		}
	}
	return headers, text, html
}

// TestTheRepliesAVisitorMissedAreMailedOnce: the agent's two replies wait
// the brand's five minutes, then go in one email — to the visitor's
// address, from the brand's name at the installation's address, with the
// brand's Reply-To, what the agent typed shown and never run — and the
// event says so. They are never mailed twice.
func TestTheRepliesAVisitorMissedAreMailedOnce(t *testing.T) {
	w := newWorld(t, "")
	start := time.Now()
	w.say(parley.SenderAgent, "Your refund left today.")
	last := w.say(parley.SenderAgent, "Anything else?\n<script>alert('x')</script>")

	w.sweep(start.Add(time.Minute))
	w.none() // not yet: the visitor may still read them in the chat
	w.sweep(start.Add(6 * time.Minute))
	r := w.next()
	if r.From != "replies@parley.test" || len(r.To) != 1 || r.To[0] != "zoe@example.test" {
		t.Fatalf("envelope from %q to %v", r.From, r.To)
	}
	h, text, html := parts(t, r)
	for k, want := range map[string]string{
		"From": `"Acme Support" <replies@parley.test>`, "To": "Zoë Doe <zoe@example.test>", "Reply-To": "<help@acme.test>",
		"Subject": "Acme Support replied to your message", "Auto-Submitted": "auto-generated",
		"References": "<" + w.conv.ID + "@parley.test>",
	} {
		if h[k] != want {
			t.Errorf("%s: %q, want %q", k, h[k], want)
		}
	}
	for _, want := range []string{"Ana:", "Your refund left today.", "Anything else?", "<script>alert('x')</script>", "https://acme.test/help"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Where is my refund?") {
		t.Errorf("the visitor's own message was mailed back:\n%s", text)
	}
	if strings.Contains(html, "<script>") || !strings.Contains(html, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") {
		t.Errorf("the HTML part does not escape what the agent typed:\n%s", html)
	}
	list := w.emails()
	if len(list) != 1 || list[0].State != parley.ReplyEmailSent || list[0].Messages != 2 || list[0].ThroughSeq != last.Seq {
		t.Fatalf("emails = %+v", list)
	}
	evs, _ := w.store.ListEvents(context.Background(), w.acc.ID, parley.EventFilter{Types: []string{parley.EventEmailSent}, Limit: 10})
	if len(evs) != 1 || evs[0].ConversationID != w.conv.ID || strings.Contains(string(evs[0].Data), "zoe@") {
		t.Fatalf("email.sent events = %+v", evs)
	}

	w.sweep(start.Add(20 * time.Minute))
	w.sweep(start.Add(40 * time.Minute))
	w.none()
	if n := w.mail.Attempts(); n != 1 {
		t.Fatalf("%d emails offered to the server, want 1", n)
	}

	// The demo's mailbox page shows it, escaped.
	rec := httptest.NewRecorder()
	w.mail.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/demo/mail/", nil))
	if page := rec.Body.String(); !strings.Contains(page, "Acme Support replied to your message") || !strings.Contains(page, "Your refund left today.") ||
		strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") {
		t.Fatalf("mailbox page:\n%s", page)
	}
}

// TestARepliesReadInTheChatAreNotMailed: the visitor reads the reply in
// the widget before the wait is over: no email; what they did not read
// still goes.
func TestARepliesReadInTheChatAreNotMailed(t *testing.T) {
	w := newWorld(t, "")
	start := time.Now()
	read := w.say(parley.SenderAgent, "Read in time")
	if _, err := w.store.UpdateReceipt(context.Background(), w.acc.ID, parley.Receipt{ConversationID: w.conv.ID, Side: parley.SideConsumer, Kind: parley.ReceiptRead, Seq: read.Seq}); err != nil {
		t.Fatal(err)
	}
	w.sweep(start.Add(10 * time.Minute))
	w.none()
	if list := w.emails(); len(list) != 1 || list[0].State != parley.ReplyEmailSkipped || list[0].LastError == "" {
		t.Fatalf("emails = %+v; want one skipped, saying why", list)
	}
	// A reply after the read one: only it is mailed.
	w.say(parley.SenderAgent, "Not read")
	w.sweep(start.Add(20 * time.Minute))
	_, text, _ := parts(t, w.next())
	if strings.Contains(text, "Read in time") || !strings.Contains(text, "Not read") {
		t.Fatalf("text part:\n%s", text)
	}
}

// TestAMailServerThatFailsIsTriedAgainOrGivenUp: a 4xx answer is tried
// again after the backoff; a 5xx answer fails the email for good, with
// email.failed.
func TestAMailServerThatFailsIsTriedAgainOrGivenUp(t *testing.T) {
	w := newWorld(t, "")
	start := time.Now()
	w.say(parley.SenderAgent, "First try fails")
	w.mail.Refuse(451)
	w.sweep(start.Add(6 * time.Minute))
	w.none()
	list := w.emails()
	if len(list) != 1 || list[0].State != parley.ReplyEmailPending || list[0].Attempts != 1 || !strings.Contains(list[0].LastError, "451") {
		t.Fatalf("after a 451: %+v", list)
	}
	w.sweep(start.Add(6*time.Minute + 30*time.Second)) // before the backoff's minute
	w.none()
	w.sweep(start.Add(8 * time.Minute))
	w.next()
	if list := w.emails(); list[0].State != parley.ReplyEmailSent || list[0].Attempts != 2 {
		t.Fatalf("after the retry: %+v", list[0])
	}

	w.say(parley.SenderAgent, "This one bounces")
	w.mail.Refuse(550)
	w.sweep(start.Add(20 * time.Minute))
	w.sweep(start.Add(2 * time.Hour))
	w.none()
	list = w.emails()
	if len(list) != 2 || list[1].State != parley.ReplyEmailFailed || list[1].Attempts != 1 {
		t.Fatalf("after a 550: %+v", list)
	}
	evs, _ := w.store.ListEvents(context.Background(), w.acc.ID, parley.EventFilter{Types: []string{parley.EventEmailFailed}, Limit: 10})
	if len(evs) != 1 || !strings.Contains(string(evs[0].Data), "550") {
		t.Fatalf("email.failed events = %+v", evs)
	}
	if n := w.mail.Attempts(); n != 3 {
		t.Fatalf("%d emails offered, want 3 (the 451, its retry, the 550)", n)
	}
}

// TestTheEmailSpeaksTheWidgetsLanguage: a brand whose widget speaks
// French mails in French.
func TestTheEmailSpeaksTheWidgetsLanguage(t *testing.T) {
	w := newWorld(t, "fr")
	w.say(parley.SenderAgent, "Votre remboursement est parti.")
	w.sweep(time.Now().Add(6 * time.Minute))
	h, text, _ := parts(t, w.next())
	if h["Subject"] != "Acme Support a répondu à votre message" || !strings.Contains(text, "Poursuivez la conversation") {
		t.Fatalf("subject %q, text:\n%s", h["Subject"], text)
	}
}

// TestAnAccountWithEmailRepliesOffIsNotMailed: turning them off stops
// what is pending too.
func TestAnAccountWithEmailRepliesOffIsNotMailed(t *testing.T) {
	w := newWorld(t, "")
	start := time.Now()
	w.say(parley.SenderAgent, "Pending when turned off")
	w.sweep(start.Add(time.Minute))
	if _, err := w.store.ChangeAccount(context.Background(), w.acc.ID, func(a *parley.Account) error {
		a.Settings.EmailReplies.Enabled = false
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w.sweep(start.Add(10 * time.Minute))
	w.none()
	if list := w.emails(); len(list) != 1 || list[0].State != parley.ReplyEmailSkipped {
		t.Fatalf("emails = %+v", list)
	}
}
