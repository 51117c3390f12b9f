package email

import (
	"net/mail"
	"strings"
	"testing"
)

// FuzzBodyText: whatever a mail client or a sender's script sends as an
// answer by email — nested multiparts, broken encodings, charsets, HTML —
// is read into text and files within the limits, or refused with an
// error; never a panic or a hang (docs/email.md).
func FuzzBodyText(f *testing.F) {
	for _, s := range []string{
		"Content-Type: text/plain; charset=utf-8\r\n\r\nThanks!\r\n\r\nOn Mon, 30 Nov 2026, Acme wrote:\r\n> x\r\n",
		"Content-Type: text/html\r\n\r\n<div>Hi &amp; bye</div><blockquote>q</blockquote>",
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nPhoto\r\n--m\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=x.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--m--\r\n",
		"Content-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a--\r\n",
		"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\nT/kgZXN0IG1hIGNvbW1hbmRlID8=\r\n",
		"Content-Type: text/plain; charset=unknown-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		msg, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			return
		}
		files := &attachments{max: 1 << 16}
		text, err := bodyText(msg.Header, msg.Body, 0, files)
		if err != nil {
			return
		}
		stripQuoted(text)
		if len(files.files) > MaxInboundFiles {
			t.Fatalf("%d files taken, more than %d", len(files.files), MaxInboundFiles)
		}
		for _, file := range files.files {
			if len(file.Content) > 1<<16 {
				t.Fatalf("a file of %d bytes taken over the limit", len(file.Content))
			}
		}
	})
}
