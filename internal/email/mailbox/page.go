package mailbox

import (
	"html/template"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// shown is one message as the page shows it.
type shown struct {
	From, To, ReplyTo, Subject, Date, Text string
}

var page = template.Must(template.New("mailbox").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo mailbox</title>
<style>body{font-family:system-ui,sans-serif;color:#1f2328;max-width:46rem;margin:1.5rem auto;padding:0 1rem}
article{border:1px solid #d0d7de;border-radius:.5rem;padding:.75rem 1rem;margin:0 0 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .75rem;margin:0 0 .5rem;font-size:.9rem;color:#57606a}
dd{margin:0}pre{white-space:pre-wrap;font:inherit;margin:0}</style></head>
<body><main>
<h1>Demo mailbox</h1>
<p>The emails this demo's Parley sent — the replies a visitor had not read, rating requests, mentions of colleagues who were away — newest first, held in memory until the demo stops. Reload to see new ones.</p>
{{range .}}<article>
<h2>{{.Subject}}</h2>
<dl><dt>From</dt><dd>{{.From}}</dd><dt>To</dt><dd>{{.To}}</dd>{{if .ReplyTo}}<dt>Reply-To</dt><dd>{{.ReplyTo}}</dd>{{end}}<dt>Date</dt><dd>{{.Date}}</dd></dl>
<pre>{{.Text}}</pre>
</article>
{{else}}<p><em>No email yet.</em> Give a visitor an email address (the console's visitor panel, Edit), leave the chat, and answer it from the console: a minute later the reply is here.</p>
{{end}}</main></body></html>
`))

// Handler serves the page of what the server received (the demo's
// /demo/mail/).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var list []shown
		dec := new(mime.WordDecoder)
		header := func(v string) string {
			if d, err := dec.DecodeHeader(v); err == nil {
				return d
			}
			return v
		}
		for _, got := range s.Kept() {
			m, err := got.Message()
			if err != nil {
				continue
			}
			list = append(list, shown{From: header(m.Header.Get("From")), To: header(m.Header.Get("To")), ReplyTo: m.Header.Get("Reply-To"),
				Subject: header(m.Header.Get("Subject")), Date: m.Header.Get("Date"), Text: plainPart(m.Header.Get("Content-Type"), m.Body)})
		}
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		page.Execute(w, list)
	})
}

// plainPart is a message's text: its text/plain part when it has parts.
func plainPart(contentType string, body io.Reader) string {
	typ, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(typ, "multipart/") {
		b, _ := io.ReadAll(io.LimitReader(body, 1<<20))
		return string(b)
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart() // quoted-printable is decoded here
		if err != nil {
			return ""
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, _ := io.ReadAll(io.LimitReader(p, 1<<20))
			return string(b)
		}
	}
}
