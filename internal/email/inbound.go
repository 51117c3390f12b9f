package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/emersion/go-smtp"
	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/parleychat/parley"
)

// NewReplyToken returns a fresh reply address token: 128 random bits in
// lowercase base32, 26 characters (mail systems may fold an address's
// case, so it has none).
func NewReplyToken() string {
	var b [16]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// PostFunc stores a visitor's answer by email as their message in the
// conversation (or, when it has closed, in a new one), then the files it
// carried, and tells the brand's people in a note which files it left
// out. The answer's ClientID makes a message the mail server hands over
// twice count once.
type PostFunc func(ctx context.Context, a Answer) error

// Answer is a visitor's answer by email, as Inbound read it.
type Answer struct {
	AccountID, ConversationID, ConsumerID string
	ClientID                              string
	Text                                  string
	Files                                 []File
	// LeftOut names the files the email carried and Inbound did not
	// take, each with why: "video.mov (larger than 10 MiB)".
	LeftOut []string
	// Unverified says why the sender could not be checked as the
	// visitor ("it carries no DKIM signature"): the brand's people are
	// told in a note. Empty when the check passed or is off.
	Unverified string
}

// File is a file attached to an email: its name as the sender gave it,
// and its bytes. Whether its type may be sent is the conversation's
// check, as for a file sent from the widget.
type File struct {
	Name    string
	Content []byte
}

// Inbound takes visitors' answers by email into their conversations: an
// SMTP server that accepts mail for the reply addresses of one domain —
// the domain's MX, or a relay, hands it the mail.
type Inbound struct {
	store  parley.Store
	domain string
	post   PostFunc
	log    *slog.Logger
	server *smtp.Server
	// MaxFileBytes is the largest file taken from an email (default 10
	// MiB, the installation's attachment limit); larger ones are left out.
	MaxFileBytes int64
	// Check is what becomes of an answer whose sender DKIM does not
	// verify (sender.go; default SenderNote).
	Check SenderCheck
	// Resolver looks up DKIM keys and SPF records (default: the
	// system's).
	Resolver Resolver
	// MaxConns and MaxConnsPerAddress bound the SMTP connections open at
	// once, in all and from one address (limits.go; 0: the defaults).
	MaxConns, MaxConnsPerAddress int
	// Outcome, if set, hears what became of each email taken in by SMTP
	// or the webhook (inboundOutcome); ConnRefused of each SMTP
	// connection refused over the limits. For the metrics.
	Outcome     func(outcome string)
	ConnRefused func()
}

// Inbound limits: the text of an email (MaxInboundBytes), the whole email
// with its files as it arrives (MaxInboundMessageBytes, what common mail
// services send at most), and the files taken from one email.
const (
	MaxInboundBytes        = 1 << 20
	MaxInboundMessageBytes = 25 << 20
	MaxInboundFiles        = 5
)

// NewInbound returns a server for the reply addresses of domain.
func NewInbound(store parley.Store, domain string, post PostFunc, log *slog.Logger) *Inbound {
	in := &Inbound{store: store, domain: strings.ToLower(domain), post: post, log: log, MaxFileBytes: 10 << 20, Check: SenderNote}
	in.server = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &inboundSession{in: in, conn: c}, nil }))
	in.server.Domain = in.domain
	in.server.MaxMessageBytes = MaxInboundMessageBytes
	in.server.MaxRecipients = 10
	in.server.ReadTimeout = time.Minute
	in.server.WriteTimeout = time.Minute
	return in
}

// UseTLS offers STARTTLS with config.
func (in *Inbound) UseTLS(config *tls.Config) { in.server.TLSConfig = config }

// Address returns the reply address of a token.
func (in *Inbound) Address(token string) string { return token + "@" + in.domain }

// Serve accepts connections on l until Close, within the connection
// limits.
func (in *Inbound) Serve(l net.Listener) error {
	limited := &limitedListener{Listener: l, domain: in.domain, max: in.MaxConns, perAddress: in.MaxConnsPerAddress, openFrom: map[netip.Prefix]int{}}
	if limited.max <= 0 {
		limited.max = DefaultMaxConns
	}
	if limited.perAddress <= 0 {
		limited.perAddress = DefaultMaxConnsPerAddress
	}
	limited.refused = in.ConnRefused
	limited.log = func(refused int, from netip.Prefix) {
		in.log.Warn("email replies: inbound SMTP connections over the limits refused", "refused", refused, "latest_from", from.String(),
			"max_conns", limited.max, "max_conns_per_address", limited.perAddress)
	}
	err := in.server.Serve(limited)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops taking connections and waits for those open to end,
// until ctx does.
func (in *Inbound) Shutdown(ctx context.Context) error {
	err := in.server.Shutdown(ctx)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

func refuse(code int, enhanced smtp.EnhancedCode, format string, args ...any) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: enhanced, Message: fmt.Sprintf(format, args...)}
}

// inboundSession is one SMTP transaction: one reply address, one email.
type inboundSession struct {
	in           *Inbound
	conn         *smtp.Conn
	mailFrom     string // the envelope sender, for SPF
	accountID    string
	conversation string
}

func (s *inboundSession) Mail(from string, _ *smtp.MailOptions) error {
	s.mailFrom = from
	return nil
}

func (s *inboundSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.conversation != "" {
		return refuse(452, smtp.EnhancedCode{4, 5, 3}, "one reply address at a time")
	}
	acc, conv, err := s.in.replyAddress(context.Background(), to)
	if err != nil {
		return err
	}
	s.accountID, s.conversation = acc, conv
	return nil
}

// replyAddress finds the conversation a reply address names.
func (in *Inbound) replyAddress(ctx context.Context, to string) (accountID, conversation string, err error) {
	local, domain, ok := strings.Cut(strings.ToLower(strings.TrimSpace(to)), "@")
	if !ok || domain != in.domain {
		return "", "", refuse(550, smtp.EnhancedCode{5, 1, 2}, "this server takes mail for %s only", in.domain)
	}
	accountID, conversation, err = in.store.FindReplyAddress(ctx, local)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return "", "", refuse(550, smtp.EnhancedCode{5, 1, 1}, "no such reply address")
	} else if err != nil {
		return "", "", refuse(451, smtp.EnhancedCode{4, 3, 0}, "try again later")
	}
	return accountID, conversation, nil
}

func (s *inboundSession) Data(r io.Reader) error {
	if s.conversation == "" {
		return refuse(554, smtp.EnhancedCode{5, 5, 1}, "no valid recipient")
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	env := &envelope{helo: s.conn.Hostname(), mailFrom: s.mailFrom}
	if a, ok := s.conn.Conn().RemoteAddr().(*net.TCPAddr); ok {
		env.ip = a.IP
	}
	return s.in.take(context.Background(), s.accountID, s.conversation, raw, env)
}

// take posts one email, raw as it arrived, to the conversation its reply
// address named: the visitor's answer above the quoted one, and its
// files. A refusal is an *smtp.SMTPError: 5xx for good, 4xx to try again.
func (in *Inbound) take(ctx context.Context, accountID, conversation string, raw []byte, env *envelope) (err error) {
	var unverified string
	automatic := false
	if in.Outcome != nil {
		defer func() { in.Outcome(inboundOutcome(err, unverified, automatic)) }()
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return refuse(550, smtp.EnhancedCode{5, 6, 0}, "the message cannot be read: %v", err)
	}
	// An out-of-office or another machine's answer is not the visitor's
	// word (RFC 3834): taken, and dropped.
	if auto := strings.ToLower(strings.TrimSpace(msg.Header.Get("Auto-Submitted"))); auto != "" && auto != "no" {
		in.log.Info("email replies: an automatic answer dropped", "conversation", conversation, "auto_submitted", auto)
		automatic = true
		return nil
	}
	conv, err := in.store.FindConversation(ctx, accountID, conversation)
	if err != nil {
		return refuse(451, smtp.EnhancedCode{4, 3, 0}, "try again later")
	}
	visitor, err := in.store.FindConsumer(ctx, accountID, conv.ConsumerID)
	if err != nil {
		return refuse(451, smtp.EnhancedCode{4, 3, 0}, "try again later")
	}
	if visitor.Blocked {
		return refuse(550, smtp.EnhancedCode{5, 7, 1}, "the brand does not take messages from this sender")
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	if err != nil || visitor.Email == "" || !strings.EqualFold(from.Address, visitor.Email) {
		// The address names the conversation; the sender must be the
		// person it was mailed to, not whoever the email was forwarded to.
		return refuse(550, smtp.EnhancedCode{5, 7, 1}, "only the address this conversation was mailed to may answer it")
	}
	if in.Check != SenderOff {
		if r := in.checkSender(ctx, raw, from.Address, env); r.why != "" {
			switch {
			case in.Check != SenderRequire:
				unverified = r.why
			case r.temporary:
				return refuse(451, smtp.EnhancedCode{4, 7, 0}, "the sender cannot be checked now: %s; try again later", r.why)
			default:
				return refuse(550, smtp.EnhancedCode{5, 7, 1}, "answers are taken only when signed by the sender's domain, and %s", r.why)
			}
		}
	}
	files := &attachments{max: in.MaxFileBytes}
	text, err := bodyText(msg.Header, msg.Body, 0, files)
	if err != nil {
		return refuse(550, smtp.EnhancedCode{5, 6, 0}, "the message cannot be read: %v", err)
	}
	text = stripQuoted(text)
	if text == "" && len(files.files) == 0 {
		return refuse(550, smtp.EnhancedCode{5, 6, 0}, "the message has no text above the quoted one")
	}
	id := strings.TrimSpace(msg.Header.Get("Message-ID"))
	if id == "" {
		id = string(raw)
	}
	sum := sha256.Sum256([]byte(id))
	clientID := "email-" + hex.EncodeToString(sum[:12])
	answer := Answer{AccountID: accountID, ConversationID: conversation, ConsumerID: visitor.ID, ClientID: clientID,
		Text: text, Files: files.files, LeftOut: files.skipped, Unverified: unverified}
	if err := in.post(ctx, answer); err != nil {
		switch parley.ErrorCode(err) {
		case parley.EINVALID, parley.ETOOLARGE, parley.ENOTFOUND, parley.EFORBIDDEN:
			return refuse(550, smtp.EnhancedCode{5, 6, 0}, "the reply was refused: %s", parley.ErrorMessage(err))
		}
		in.log.Warn("email replies: post", "conversation", conversation, "err", err)
		return refuse(451, smtp.EnhancedCode{4, 3, 0}, "try again later")
	}
	return nil
}

// inboundOutcome names what became of an email for the metrics: taken
// (its sender verified, or not checked), unverified (taken with a note),
// automatic (an out-of-office, dropped), refused (for good) or deferred
// (try again later).
func inboundOutcome(err error, unverified string, automatic bool) string {
	var refusal *smtp.SMTPError
	switch {
	case err == nil && automatic:
		return "automatic"
	case err == nil && unverified != "":
		return "unverified"
	case err == nil:
		return "taken"
	case errors.As(err, &refusal) && refusal.Code < 500:
		return "deferred"
	}
	return "refused"
}

func (s *inboundSession) Reset()        { s.accountID, s.conversation, s.mailFrom = "", "", "" }
func (s *inboundSession) Logout() error { return nil }

// header is a message's or a part's headers.
type header interface{ Get(string) string }

var stripHTML = bluemonday.StrictPolicy()

// attachments collects the files of an email: at most MaxInboundFiles,
// each at most max bytes; those left out are named, with why.
type attachments struct {
	max     int64
	files   []File
	skipped []string
}

var wordDecoder = new(mime.WordDecoder)

// file takes the part as a file when it is one — marked as an attachment,
// or named and not text (an inline image) — and reports whether it was.
func (a *attachments) file(h header, typ string, body io.Reader) (bool, error) {
	disposition, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	_, tparams, _ := mime.ParseMediaType(h.Get("Content-Type"))
	name := dparams["filename"]
	if name == "" {
		name = tparams["name"]
	}
	if decoded, err := wordDecoder.DecodeHeader(name); err == nil {
		name = decoded
	}
	isFile := strings.EqualFold(disposition, "attachment") ||
		(name != "" && !strings.HasPrefix(typ, "text/") && !strings.HasPrefix(typ, "multipart/"))
	if !isFile {
		return false, nil
	}
	if name == "" {
		name = "file"
	}
	if len(a.files) >= MaxInboundFiles {
		a.skipped = append(a.skipped, fmt.Sprintf("%s (more than %d files in one email)", name, MaxInboundFiles))
		return true, nil
	}
	data, err := io.ReadAll(io.LimitReader(body, a.max+1))
	if err != nil {
		return true, err
	}
	if int64(len(data)) > a.max {
		a.skipped = append(a.skipped, name+" (larger than "+humanize.IBytes(uint64(a.max))+")")
		return true, nil
	}
	a.files = append(a.files, File{Name: name, Content: data})
	return true, nil
}

// bodyText returns the text of a body with the given headers: a text
// part as it is, HTML without its tags, and of a multipart body the
// plain text alternative when there is one, else the first part that
// has text. The files it meets go to files.
func bodyText(h header, body io.Reader, depth int, files *attachments) (string, error) {
	if depth > 5 {
		return "", errors.New("parts nested too deep")
	}
	typ, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		typ, params = "text/plain", map[string]string{}
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // line breaks skipped
	}
	if taken, err := files.file(h, typ, body); taken || err != nil {
		return "", err
	}
	if strings.HasPrefix(typ, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		// Every part is read, for the files after the text.
		var plain, fallback string
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return "", err
			}
			ptyp, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			t, err := bodyText(p.Header, p, depth+1, files)
			if err != nil {
				return "", err
			}
			switch {
			case ptyp == "text/plain" && plain == "" && strings.TrimSpace(t) != "":
				plain = t
			case fallback == "":
				fallback = t
			}
		}
		if plain != "" {
			return plain, nil
		}
		return fallback, nil
	}
	if typ != "text/plain" && typ != "text/html" {
		return "", nil // an image, a calendar invite…: no text
	}
	data, err := io.ReadAll(io.LimitReader(body, MaxInboundBytes))
	if err != nil {
		return "", err
	}
	if cs := strings.ToLower(params["charset"]); cs != "" && cs != "utf-8" && cs != "us-ascii" {
		enc, err := htmlindex.Get(cs)
		if err != nil {
			return "", fmt.Errorf("unknown charset %q", cs)
		}
		if data, err = enc.NewDecoder().Bytes(data); err != nil {
			return "", err
		}
	}
	text := string(bytes.ToValidUTF8(data, []byte("\uFFFD")))
	if typ == "text/html" {
		text = htmlText(text)
	}
	return strings.ReplaceAll(text, "\r\n", "\n"), nil
}

var (
	blockEnd   = regexp.MustCompile(`(?i)<br\s*/?>|</(p|div|li|tr|h[1-6]|blockquote)>`)
	blockquote = regexp.MustCompile(`(?is)<blockquote.*?</blockquote>`)
)

// htmlText turns an HTML email into its text: quoted blocks left out,
// line breaks kept, tags dropped, entities decoded.
func htmlText(s string) string {
	s = blockquote.ReplaceAllString(s, "")
	s = blockEnd.ReplaceAllString(s, "\n")
	return html.UnescapeString(stripHTML.Sanitize(s))
}

// quoteStart matches the line mail clients put above the message they
// quote, in the widget's languages: "On Mon, 30 Nov 2026 at 10:00, Acme
// <…> wrote:", "Le … a écrit :", "El … escribió:", "Am … schrieb …:".
var quoteStart = regexp.MustCompile(`(?i)^(on\s.+\swrote|le\s.+\sa\s+écrit|el\s.+\sescribió|am\s.+\sschrieb.*)\s*:\s*$`)

// stripQuoted keeps what the visitor wrote above the quoted email, and
// above their signature.
func stripQuoted(text string) string {
	lines := strings.Split(text, "\n")
	end := len(lines)
	for i, line := range lines {
		t := strings.TrimSpace(line)
		two := t
		if i+1 < len(lines) {
			two = t + " " + strings.TrimSpace(lines[i+1])
		}
		if strings.HasPrefix(t, ">") || quoteStart.MatchString(t) || (t != "" && quoteStart.MatchString(two)) ||
			strings.HasPrefix(t, "-----Original Message") || strings.HasPrefix(t, "________________________________") || line == "-- " {
			end = i
			break
		}
	}
	return strings.TrimSpace(strings.Join(lines[:end], "\n"))
}
