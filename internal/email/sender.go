package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-msgauth/dkim"
	"golang.org/x/net/publicsuffix"
)

// Checking the sender of an answer by email (docs/email.md). The reply
// address names the conversation and the From header must be the
// visitor's address, but a From header is only what the sender wrote.
// DKIM and SPF are what make it more, as DMARC has them: the visitor's
// mail provider signs what it sends with a key published in its domain's
// DNS (DKIM), or its domain names the servers that send its mail (SPF,
// checked only when the email came by SMTP: a mail service's webhook does
// not pass on the server that handed it the email). An answer counts as
// the visitor's when one of its signatures verifies, or SPF passes for
// the envelope sender, from the domain of its From address (relaxed
// alignment: the same organisational domain, so mail.example.com and
// example.com go together).

// SenderCheck says what becomes of an answer whose sender is not verified.
type SenderCheck string

const (
	// SenderNote takes the answer and warns the brand's people in a
	// private note on the conversation. The default: many small mail
	// servers do not sign, and a visitor's answer is not lost for it.
	SenderNote SenderCheck = "note"
	// SenderRequire refuses it: SMTP 550 5.7.1, or 406 forbidden from the
	// inbound webhook; a key that cannot be looked up is 451, try again.
	SenderRequire SenderCheck = "require"
	// SenderOff does not check.
	SenderOff SenderCheck = "off"
)

// ParseSenderCheck reads --inbound-sender-check; "" is the default, note.
func ParseSenderCheck(s string) (SenderCheck, error) {
	switch c := SenderCheck(strings.ToLower(strings.TrimSpace(s))); c {
	case "":
		return SenderNote, nil
	case SenderNote, SenderRequire, SenderOff:
		return c, nil
	}
	return "", fmt.Errorf("inbound-sender-check must be note, require or off, not %q", s)
}

// Resolver is the DNS the check asks: DKIM keys (TXT) and SPF records
// (TXT, MX, addresses). *net.Resolver is one.
type Resolver = spf.DNSResolver

// envelope is what an SMTP session says of an email besides the email
// itself: the address of the server that sent it, its HELO name and the
// envelope sender (MAIL FROM).
type envelope struct {
	ip             net.IP
	helo, mailFrom string
}

// Limits of the check: the signatures verified in one email (each may
// cost a DNS lookup of a name the sender chose), and the time all of an
// email's lookups may take.
const (
	maxSignatures    = 5
	senderLookupTime = 5 * time.Second
)

// senderResult is what the check found: why the sender is not verified
// ("" when it is), and whether that may change when asked again (a DNS
// lookup failed).
type senderResult struct {
	why       string
	temporary bool
}

// checkSender checks raw's DKIM signatures, and when it came by SMTP
// (env not nil) SPF, against the domain of from, its From address.
func (in *Inbound) checkSender(ctx context.Context, raw []byte, from string, env *envelope) senderResult {
	_, fromDomain, _ := strings.Cut(strings.ToLower(from), "@")
	ctx, cancel := context.WithTimeout(ctx, senderLookupTime)
	defer cancel()
	dns := in.Resolver
	if dns == nil {
		dns = net.DefaultResolver
	}
	signed := checkDKIM(ctx, dns, raw, fromDomain)
	if signed.why == "" || env == nil {
		return signed
	}
	sent := checkSPF(ctx, dns, env, fromDomain)
	if sent.why == "" {
		return sent
	}
	return senderResult{why: signed.why + ", and " + sent.why, temporary: signed.temporary || sent.temporary}
}

// checkSPF says whether the server that handed the email over may send
// the mail of the envelope sender's domain, and that domain is from's.
func checkSPF(ctx context.Context, dns Resolver, env *envelope, fromDomain string) senderResult {
	domain := env.helo
	if _, d, ok := strings.Cut(strings.ToLower(env.mailFrom), "@"); ok {
		domain = d
	}
	result, _ := spf.CheckHostWithSender(env.ip, env.helo, env.mailFrom, spf.WithContext(ctx), spf.WithResolver(dns))
	switch {
	case result == spf.Pass && aligned(domain, fromDomain):
		return senderResult{}
	case result == spf.Pass:
		return senderResult{why: fmt.Sprintf("SPF passed for %s, not %s", domain, fromDomain)}
	case result == spf.None:
		return senderResult{why: fmt.Sprintf("%s publishes no SPF record", domain)}
	case result == spf.TempError:
		return senderResult{why: fmt.Sprintf("the SPF record of %s could not be looked up", domain), temporary: true}
	case result == spf.PermError:
		return senderResult{why: fmt.Sprintf("the SPF record of %s cannot be read", domain)}
	}
	return senderResult{why: fmt.Sprintf("the server it came from (%s) is not one %s names (SPF %s)", env.ip, domain, result)}
}

// checkDKIM checks raw's DKIM signatures against fromDomain.
func checkDKIM(ctx context.Context, dns Resolver, raw []byte, fromDomain string) senderResult {
	verifications, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return dns.LookupTXT(ctx, name) },
		MaxVerifications: maxSignatures,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) { // past maxSignatures: the first ones count
		return senderResult{why: fmt.Sprintf("its DKIM signatures cannot be read (%v)", err)}
	}
	if len(verifications) == 0 {
		return senderResult{why: "it carries no DKIM signature"}
	}
	var others []string
	var failed *senderResult
	for _, v := range verifications {
		if !aligned(v.Domain, fromDomain) {
			if v.Err == nil {
				others = append(others, v.Domain)
			}
			continue
		}
		if v.Err == nil {
			return senderResult{}
		}
		if failed == nil || failed.temporary { // a definite failure says more
			r := senderResult{why: fmt.Sprintf("its DKIM signature from %s does not verify (%v)", v.Domain, v.Err)}
			if dkim.IsTempFail(v.Err) {
				r = senderResult{why: fmt.Sprintf("the DKIM key of %s could not be looked up (%v)", v.Domain, v.Err), temporary: true}
			}
			failed = &r
		}
	}
	if failed != nil {
		return *failed
	}
	if len(others) > 0 {
		return senderResult{why: fmt.Sprintf("it is signed by %s, not by %s (DKIM)", strings.Join(others, ", "), fromDomain)}
	}
	return senderResult{why: fmt.Sprintf("its DKIM signatures do not verify (%v)", verifications[0].Err)}
}

// aligned reports whether a signature from signer vouches for an address
// at domain: both belong to the same organisational domain (the name
// under a public suffix: example.co.uk, not co.uk).
func aligned(signer, domain string) bool {
	signer, domain = strings.ToLower(strings.TrimSuffix(signer, ".")), strings.TrimSuffix(domain, ".")
	if signer == "" || domain == "" {
		return false
	}
	if signer == domain {
		return true
	}
	a, errA := publicsuffix.EffectiveTLDPlusOne(signer)
	b, errB := publicsuffix.EffectiveTLDPlusOne(domain)
	return errA == nil && errB == nil && a == b
}
