package email

import (
	"bytes"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Letter is one email to a visitor: the agents' lines they missed.
type Letter struct {
	From    mail.Address
	To      mail.Address
	ReplyTo string // "" : none
	Subject string
	Intro   string // "Acme replied to your conversation:"
	Lines   []Line
	// Choices are links to pick from (a rating's scores), shown as
	// buttons.
	Choices []Choice
	// LinkText and Link end the letter with the way back to the chat,
	// when the brand gave its site.
	LinkText, Link string
	Footer         string
	// ID names this email; Thread names the conversation, so mail clients
	// keep a conversation's emails together.
	ID, Thread string
	Date       time.Time
}

// Choice is one link of a letter's choices.
type Choice struct{ Label, Link string }

// Line is one message in the letter.
type Line struct {
	Who  string
	Text string
	At   time.Time
	// Link, when set, is where the line can be answered (a console
	// conversation), with LinkText.
	Link, LinkText string
}

// Bytes renders the letter as a MIME message: text and HTML alternatives,
// quoted-printable, every header encoded so no value can start another.
func (l *Letter) Bytes() ([]byte, error) {
	var b bytes.Buffer
	domain := "parley.invalid"
	if _, d, ok := strings.Cut(l.From.Address, "@"); ok && d != "" {
		domain = d
	}
	h := func(name, value string) {
		value = strings.NewReplacer("\r", " ", "\n", " ").Replace(value)
		fmt.Fprintf(&b, "%s: %s\r\n", name, value)
	}
	h("From", l.From.String())
	h("To", l.To.String())
	if l.ReplyTo != "" {
		h("Reply-To", (&mail.Address{Address: l.ReplyTo}).String())
	}
	h("Subject", mime.QEncoding.Encode("utf-8", l.Subject))
	h("Date", l.Date.Format(time.RFC1123Z))
	h("Message-ID", "<"+l.ID+"@"+domain+">")
	if l.Thread != "" {
		h("In-Reply-To", "<"+l.Thread+"@"+domain+">")
		h("References", "<"+l.Thread+"@"+domain+">")
	}
	h("MIME-Version", "1.0")
	// RFC 3834: a machine sent it, so vacation responders stay quiet.
	h("Auto-Submitted", "auto-generated")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	h("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")

	text, err := l.text()
	if err != nil {
		return nil, err
	}
	html, err := l.html()
	if err != nil {
		return nil, err
	}
	for _, part := range []struct{ typ, content string }{{"text/plain; charset=utf-8", text}, {"text/html; charset=utf-8", html}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.typ}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(part.content)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

func (l *Letter) text() (string, error) {
	var b strings.Builder
	b.WriteString(l.Intro + "\r\n\r\n")
	for _, line := range l.Lines {
		b.WriteString(line.Who + ":\r\n")
		for _, s := range strings.Split(strings.ReplaceAll(line.Text, "\r\n", "\n"), "\n") {
			b.WriteString("  " + s + "\r\n")
		}
		if line.Link != "" {
			b.WriteString("  " + line.LinkText + " " + line.Link + "\r\n")
		}
		b.WriteString("\r\n")
	}
	for _, c := range l.Choices {
		b.WriteString("  " + c.Label + ": " + c.Link + "\r\n")
	}
	if len(l.Choices) > 0 {
		b.WriteString("\r\n")
	}
	if l.Link != "" {
		b.WriteString(l.LinkText + " " + l.Link + "\r\n\r\n")
	}
	b.WriteString("-- \r\n" + l.Footer + "\r\n")
	return b.String(), nil
}

// letterHTML is the HTML alternative; html/template escapes every value,
// so what an agent typed is shown, never run or styled.
var letterHTML = template.Must(template.New("letter").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:system-ui,sans-serif;color:#1f2328;max-width:36rem;margin:0 auto;padding:1rem">
<p>{{.Intro}}</p>
{{range .Lines}}<div style="margin:0 0 1rem;padding:.75rem 1rem;border-radius:.5rem;background:#f3f4f6">
<div style="font-weight:600;margin-bottom:.25rem">{{.Who}}</div>
<div style="white-space:pre-wrap">{{.Text}}</div>
{{if .Link}}<div style="margin-top:.25rem"><a href="{{.Link}}">{{.LinkText}}</a></div>{{end}}
</div>
{{end}}{{range .Choices}}<p style="margin:.4rem 0"><a href="{{.Link}}" style="display:inline-block;padding:.5rem 1rem;border-radius:.5rem;border:1px solid #d0d7de;color:#1f2328;text-decoration:none">{{.Label}}</a></p>
{{end}}{{if .Link}}<p>{{.LinkText}} <a href="{{.Link}}">{{.Link}}</a></p>
{{end}}<p style="color:#656d76;font-size:.85rem;border-top:1px solid #d0d7de;padding-top:.5rem">{{.Footer}}</p>
</body></html>
`))

func (l *Letter) html() (string, error) {
	var b strings.Builder
	if err := letterHTML.Execute(&b, l); err != nil {
		return "", err
	}
	return b.String(), nil
}
