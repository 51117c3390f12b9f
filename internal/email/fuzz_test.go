package email

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net"
	"net/mail"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
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

// FuzzSenderCheck: whatever DKIM-Signature headers an email carries, the
// sender check answers without a panic, within its limits, and vouches
// only for addresses of the one domain whose key it can find (the fuzzer
// has no way to sign for any other); the test DNS never fails for now, so
// no answer is "try again".
func FuzzSenderCheck(f *testing.F) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	record := "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	letter := "From: Zoe <zoe@example.test>\r\nTo: abc@reply.parley.test\r\nSubject: Re: Acme\r\nMessage-ID: <a1@example.test>\r\n\r\nOslo, please.\r\n"
	var signed bytes.Buffer
	if err := dkim.Sign(&signed, strings.NewReader(letter), &dkim.SignOptions{Domain: "example.test", Selector: "s1", Signer: key}); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		letter,
		signed.String(),
		strings.Replace(signed.String(), "Oslo", "Paris", 1),
		"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s1; h=from; bh=; b=\r\nFrom: zoe@example.test\r\n\r\nx\r\n",
		"DKIM-Signature: v=1; a=ed25519-sha256; d=example.test; s=s1; l=3; h=From; bh=AAAA; b=AAAA\r\nFrom: zoe@example.test\r\n\r\nx\r\n",
		strings.Repeat("DKIM-Signature: v=1; d=example.test; s=s1\r\n", 20) + "From: zoe@example.test\r\n\r\nx\r\n",
	} {
		f.Add(s)
	}
	in := &Inbound{Resolver: txtDNS(func(_ context.Context, name string) ([]string, error) {
		if name == "s1._domainkey.example.test" {
			return []string{record}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	})}
	f.Fuzz(func(t *testing.T, raw string) {
		msg, err := mail.ReadMessage(strings.NewReader(raw))
		if err != nil {
			return
		}
		from, err := mail.ParseAddress(msg.Header.Get("From"))
		if err != nil {
			return
		}
		r := in.checkSender(t.Context(), []byte(raw), from.Address, nil)
		if r.temporary {
			t.Fatalf("a temporary failure with a DNS that never fails: %q", r.why)
		}
		_, domain, _ := strings.Cut(strings.ToLower(from.Address), "@")
		if r.why == "" && !aligned("example.test", domain) {
			t.Fatalf("an email from %s taken as verified", from.Address)
		}
	})
}
