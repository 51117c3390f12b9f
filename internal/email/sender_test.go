package email

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

// dkimKeys is a DNS for the tests: each signer's public key under
// selector._domainkey.domain, and one name whose lookups fail for now;
// SPF: smallshop.test and mail.smallshop.test let 192.0.2.10 send their
// mail, example.test 192.0.2.20.
type dkimKeys map[string]ed25519.PrivateKey

var spfRecords = map[string]string{"smallshop.test": "v=spf1 ip4:192.0.2.10 -all", "mail.smallshop.test": "v=spf1 ip4:192.0.2.10 -all", "example.test": "v=spf1 ip4:192.0.2.20 -all"}

// txtDNS is a Resolver that answers TXT lookups with its function and
// has no other records.
type txtDNS func(ctx context.Context, name string) ([]string, error)

func (f txtDNS) LookupTXT(ctx context.Context, name string) ([]string, error) { return f(ctx, name) }

func (txtDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (txtDNS) LookupIPAddr(_ context.Context, name string) ([]net.IPAddr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (txtDNS) LookupAddr(_ context.Context, addr string) ([]string, error) {
	return nil, &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}
}

func (k dkimKeys) add(t *testing.T, domain string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k[domain] = priv
}

func (k dkimKeys) LookupTXT(_ context.Context, name string) ([]string, error) {
	name = strings.TrimSuffix(name, ".")
	if r, ok := spfRecords[name]; ok {
		return []string{r}, nil
	}
	domain, ok := strings.CutPrefix(name, "s1._domainkey.")
	if domain == "down.test" || name == "down.test" {
		return nil, &net.DNSError{Err: "server misbehaving", Name: name, IsTemporary: true}
	}
	if priv := k[domain]; ok && priv != nil {
		return []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// sign signs raw as the mail provider of domain does.
func (k dkimKeys) sign(t *testing.T, domain, raw string) string {
	t.Helper()
	priv := k[domain]
	if priv == nil { // a domain whose key is not (or not yet) published
		_, priv, _ = ed25519.GenerateKey(rand.Reader)
	}
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{Domain: domain, Selector: "s1", Signer: priv}); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestTheSenderIsCheckedByItsDomainsSignature: an answer counts as the
// visitor's when a DKIM signature of their address's domain (or of the
// same organisation's) verifies; otherwise the check says why — no
// signature, another domain's, one that does not verify (the body or the
// From changed on the way, a key not published), or a key that could not
// be looked up for now, which may change when asked again.
func TestTheSenderIsCheckedByItsDomainsSignature(t *testing.T) {
	keys := dkimKeys{}
	for _, d := range []string{"example.test", "mailer.test"} {
		keys.add(t, d)
	}
	in := &Inbound{Resolver: txtDNS(keys.LookupTXT)}
	letter := func(from string) string {
		return "From: Zoe <" + from + ">\r\nTo: abc@reply.parley.test\r\nSubject: Re: Acme replied\r\nMessage-ID: <a1@example.test>\r\n\r\nOslo, please.\r\n"
	}
	for _, tc := range []struct {
		name, from, raw, why string
		temporary            bool
	}{
		{"signed by the sender's domain", "zoe@example.test", keys.sign(t, "example.test", letter("zoe@example.test")), "", false},
		{"signed by the organisation of a subdomain", "zoe@mail.example.test", keys.sign(t, "example.test", letter("zoe@mail.example.test")), "", false},
		{"one of two signatures is the sender's", "zoe@example.test", keys.sign(t, "mailer.test", keys.sign(t, "example.test", letter("zoe@example.test"))), "", false},
		{"not signed", "zoe@example.test", letter("zoe@example.test"), "it carries no DKIM signature", false},
		{"signed by another domain", "zoe@example.test", keys.sign(t, "mailer.test", letter("zoe@example.test")),
			"it is signed by mailer.test, not by example.test (DKIM)", false},
		{"the body changed after signing", "zoe@example.test", strings.Replace(keys.sign(t, "example.test", letter("zoe@example.test")), "Oslo", "Paris", 1),
			"its DKIM signature from example.test does not verify", false},
		{"the From changed after signing", "zoe@example.test", strings.Replace(keys.sign(t, "example.test", letter("ann@example.test")), "ann@", "zoe@", 1),
			"its DKIM signature from example.test does not verify", false},
		{"no key published", "zoe@unknown.test", keys.sign(t, "unknown.test", letter("zoe@unknown.test")),
			"its DKIM signature from unknown.test does not verify", false},
		{"the key cannot be looked up now", "zoe@down.test", keys.sign(t, "down.test", letter("zoe@down.test")),
			"the DKIM key of down.test could not be looked up", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := in.checkSender(t.Context(), []byte(tc.raw), tc.from, nil)
			if (tc.why == "") != (r.why == "") || !strings.HasPrefix(r.why, tc.why) || r.temporary != tc.temporary {
				t.Fatalf("checked: %+v; want why %q, temporary %v", r, tc.why, tc.temporary)
			}
		})
	}
}

// TestAlignmentFollowsTheOrganisationalDomain: a signature vouches for
// addresses in its own organisation (DMARC's relaxed alignment), never
// for another's, nor for every name under a public suffix.
func TestAlignmentFollowsTheOrganisationalDomain(t *testing.T) {
	for _, tc := range []struct {
		signer, domain string
		want           bool
	}{
		{"example.com", "example.com", true},
		{"Example.COM", "example.com", true},
		{"example.com", "mail.example.com", true},
		{"mail.example.com", "example.com", true},
		{"example.co.uk", "shop.example.co.uk", true},
		{"co.uk", "example.co.uk", false},
		{"other.co.uk", "example.co.uk", false},
		{"example.com", "example.org", false},
		{"notexample.com", "example.com", false},
		{"", "example.com", false},
	} {
		if got := aligned(tc.signer, tc.domain); got != tc.want {
			t.Errorf("aligned(%q, %q) = %v, want %v", tc.signer, tc.domain, got, tc.want)
		}
	}
}

func TestParseSenderCheck(t *testing.T) {
	for in, want := range map[string]SenderCheck{"": SenderNote, "note": SenderNote, " Require ": SenderRequire, "off": SenderOff} {
		if got, err := ParseSenderCheck(in); err != nil || got != want {
			t.Errorf("ParseSenderCheck(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSenderCheck("strict"); err == nil || !strings.Contains(err.Error(), "note, require or off") {
		t.Errorf("ParseSenderCheck(strict): %v; want an error naming the choices", err)
	}
}

// TestTheSenderIsCheckedBySPFWhenItCameBySMTP: an unsigned answer that
// came by SMTP counts as the visitor's when the server that handed it
// over is one the envelope sender's domain names (SPF), and that domain is
// the From address's; otherwise the check says why, beside DKIM's why.
func TestTheSenderIsCheckedBySPFWhenItCameBySMTP(t *testing.T) {
	in := &Inbound{Resolver: txtDNS(dkimKeys{}.LookupTXT)}
	letter := func(from string) []byte {
		return []byte("From: Zoe <" + from + ">\r\nTo: abc@reply.parley.test\r\nSubject: Re\r\n\r\nOslo, please.\r\n")
	}
	for _, tc := range []struct {
		name, from, ip, mailFrom, why string
		temporary                     bool
	}{
		{"the domain's server", "zoe@smallshop.test", "192.0.2.10", "zoe@smallshop.test", "", false},
		{"the organisation's bounce address", "zoe@smallshop.test", "192.0.2.10", "bounces@mail.smallshop.test", "", false},
		{"another server", "zoe@smallshop.test", "198.51.100.7", "zoe@smallshop.test", "it carries no DKIM signature, and the server it came from (198.51.100.7) is not one smallshop.test names (SPF fail)", false},
		{"another domain's envelope", "zoe@smallshop.test", "192.0.2.20", "news@example.test", "it carries no DKIM signature, and SPF passed for example.test, not smallshop.test", false},
		{"no SPF record", "zoe@nospf.test", "192.0.2.10", "zoe@nospf.test", "it carries no DKIM signature, and nospf.test publishes no SPF record", false},
		{"SPF cannot be looked up", "zoe@down.test", "192.0.2.10", "zoe@down.test", "it carries no DKIM signature, and the SPF record of down.test could not be looked up", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := in.checkSender(t.Context(), letter(tc.from), tc.from, &envelope{ip: net.ParseIP(tc.ip), helo: "mx.sender.test", mailFrom: tc.mailFrom})
			if !strings.HasPrefix(r.why, tc.why) || (tc.why == "") != (r.why == "") || r.temporary != tc.temporary {
				t.Fatalf("checked: %+v; want why %q, temporary %v", r, tc.why, tc.temporary)
			}
		})
	}
}
