package email

import (
	"net/mail"
	"strings"
	"testing"
)

// TestTheAnswerIsWhatTheVisitorWroteAboveTheQuote: what mail clients send
// back — plain or HTML, quoted-printable or base64, UTF-8 or Latin-1,
// with the quoted email under "On … wrote:" in the widget's languages,
// "> " lines, Outlook's separator or a signature — comes down to what
// the visitor typed.
func TestTheAnswerIsWhatTheVisitorWroteAboveTheQuote(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"gmail, plain", "Content-Type: text/plain; charset=utf-8\r\n\r\nThanks, that works!\r\n\r\nOn Mon, 30 Nov 2026 at 10:00, Acme Support <replies@parley.test> wrote:\r\n> Your refund left today.\r\n",
			"Thanks, that works!"},
		{"the attribution line wrapped", "Content-Type: text/plain\r\n\r\nGreat\r\n\r\nOn Mon, 30 Nov 2026 at 10:00, Acme Support <replies@parley.test>\r\nwrote:\r\n\r\n> quoted\r\n",
			"Great"},
		{"french", "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nMerci beaucoup, c'est r=C3=A9gl=C3=A9.\r\n\r\nLe lun. 30 nov. 2026 =C3=A0 10:00, Acme <replies@parley.test> a =C3=A9crit :\r\n> Votre remboursement\r\n",
			"Merci beaucoup, c'est réglé."},
		{"german", "Content-Type: text/plain\r\n\r\nDanke!\r\n\r\nAm 30.11.2026 um 10:00 schrieb Acme <replies@parley.test>:\r\n> Text\r\n", "Danke!"},
		{"outlook", "Content-Type: text/plain\r\n\r\nSee attached order number 1234.\r\n\r\n-----Original Message-----\r\nFrom: Acme\r\n", "See attached order number 1234."},
		{"signature", "Content-Type: text/plain\r\n\r\nYes please\r\n-- \r\nZoë Doe\r\nCEO of Things\r\n", "Yes please"},
		{"latin-1, base64", "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\nT/kgZXN0IG1hIGNvbW1hbmRlID8=\r\n", "Où est ma commande ?"},
		{"html only, quote in a blockquote", "Content-Type: text/html; charset=utf-8\r\n\r\n<div>Is it <b>blue</b> &amp; cheap?</div><div>Second line</div><blockquote>Your refund left today.</blockquote><script>alert(1)</script>",
			"Is it blue & cheap?\nSecond line"},
		{"multipart, plain preferred", "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>HTML version</p>\r\n--b1\r\nContent-Type: text/plain\r\n\r\nPlain version\r\n--b1--\r\n",
			"Plain version"},
		{"multipart mixed with an attachment", "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nPhoto of the damage\r\n--a--\r\n--m\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=x.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--m--\r\n",
			"Photo of the damage"},
		{"only a quote", "Content-Type: text/plain\r\n\r\n> Your refund left today.\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := mail.ReadMessage(strings.NewReader(tc.raw))
			if err != nil {
				t.Fatal(err)
			}
			text, err := bodyText(msg.Header, msg.Body, 0, &attachments{max: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if got := stripQuoted(text); got != tc.want {
				t.Fatalf("got %q, want %q (body text %q)", got, tc.want, text)
			}
		})
	}
}

// TestTheFilesOfAnEmailAreTaken: attachments and inline images come out
// with their names (RFC 2231 and encoded words decoded) and their bytes,
// beside the text after them; a file over the size limit and files beyond
// MaxInboundFiles are left out, by name.
func TestTheFilesOfAnEmailAreTaken(t *testing.T) {
	png := "iVBORw0KGgo=" // the PNG signature, base64
	part := func(headers string) string {
		return "--m\r\n" + headers + "Content-Transfer-Encoding: base64\r\n\r\n" + png + "\r\n"
	}
	raw := "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n" +
		"--m\r\nContent-Type: text/plain\r\n\r\nHere are the photos\r\n" +
		part("Content-Type: image/png\r\nContent-Disposition: attachment; filename*=UTF-8''d%C3%A9g%C3%A2t.png\r\n") +
		part("Content-Type: image/png; name=\"=?UTF-8?Q?re=C3=A7u.png?=\"\r\nContent-Disposition: inline\r\n") +
		part("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\n") +
		"--m--\r\n"
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	files := &attachments{max: 8}
	text, err := bodyText(msg.Header, msg.Body, 0, files)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(text) != "Here are the photos" {
		t.Fatalf("text %q", text)
	}
	// big.bin is taken too: whether its type may be sent is the conversation's check.
	if len(files.files) != 3 || files.files[2].Name != "big.bin" || files.files[0].Name != "dégât.png" || files.files[1].Name != "reçu.png" || string(files.files[0].Content) != "\x89PNG\r\n\x1a\n" {
		t.Fatalf("files %+v", files.files)
	}
	if len(files.skipped) != 0 {
		t.Fatalf("skipped %v", files.skipped)
	}
	// A limit of 4 bytes leaves every file out; six files leave the sixth out.
	msg, _ = mail.ReadMessage(strings.NewReader(raw))
	small := &attachments{max: 4}
	bodyText(msg.Header, msg.Body, 0, small)
	if len(small.files) != 0 || len(small.skipped) != 3 || !strings.Contains(small.skipped[0], "larger than 4 B") {
		t.Fatalf("with 4 bytes at most: files %d, skipped %v", len(small.files), small.skipped)
	}
	many := "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
	for i := range MaxInboundFiles + 1 {
		many += part("Content-Type: image/png\r\nContent-Disposition: attachment; filename=p" + string(rune('0'+i)) + ".png\r\n")
	}
	msg, _ = mail.ReadMessage(strings.NewReader(many + "--m--\r\n"))
	capped := &attachments{max: 1 << 20}
	bodyText(msg.Header, msg.Body, 0, capped)
	if len(capped.files) != MaxInboundFiles || len(capped.skipped) != 1 || !strings.HasPrefix(capped.skipped[0], "p5.png") {
		t.Fatalf("six files: taken %d, skipped %v", len(capped.files), capped.skipped)
	}
}
