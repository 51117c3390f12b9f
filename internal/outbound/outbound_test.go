package outbound

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPrivateLoopbackAndLinkLocalAreNotPublic(t *testing.T) {
	for addr, public := range map[string]bool{
		"8.8.8.8": true, "2606:4700:4700::1111": true, "93.184.216.34": true,
		"127.0.0.1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "0.0.0.0": false, "::1": false, "fe80::1": false, "fc00::1": false, "::ffff:127.0.0.1": false, "224.0.0.1": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != public {
			t.Errorf("Public(%s) = %v", addr, got)
		}
	}
}

func TestCheckURLRefusesPlainHTTPAndPrivateHosts(t *testing.T) {
	c := New(Options{})
	for _, u := range []string{"http://example.com/hook", "https://127.0.0.1/x", "https://[::1]/x", "https://localhost/x", "https://10.0.0.5/x", "ftp://example.com", "not a url"} {
		if err := c.CheckURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := c.CheckURL("https://hooks.example.com/parley"); err != nil {
		t.Fatal(err)
	}
	if err := New(Options{AllowPrivate: true}).CheckURL("http://127.0.0.1:8080/x"); err != nil {
		t.Fatalf("development mode: %v", err)
	}
}

func TestTheDialledAddressIsChecked(t *testing.T) {
	var hit atomic.Bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Store(true) }))
	defer srv.Close()
	// The guard sits in the dialer: whatever name or redirect led there, a
	// connection to a loopback address is never opened.
	err := New(Options{}).PostJSON(context.Background(), srv.URL, "", "", map[string]int{"a": 1}, nil)
	if !errors.Is(err, ErrForbiddenAddress) || hit.Load() {
		t.Fatalf("loopback call: %v (reached: %v)", err, hit.Load())
	}
}

func TestRepliesAreCappedAndSigned(t *testing.T) {
	secret := NewSecret()
	var got http.Header
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		b := new(strings.Builder)
		buf := make([]byte, 1024)
		for {
			n, err := r.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		body = b.String()
		w.Write([]byte(`{"ok":true,"pad":"` + strings.Repeat("x", 2000) + `"}`))
	}))
	defer srv.Close()
	c := New(Options{AllowPrivate: true, MaxResponse: 1000, Timeout: 2 * time.Second})
	var out map[string]any
	if err := c.PostJSON(context.Background(), srv.URL, secret, "", map[string]string{"hello": "world"}, &out); err == nil || !strings.Contains(err.Error(), "larger than 1000 bytes") {
		t.Fatalf("oversized reply: %v", err)
	}
	// The signature is HMAC-SHA256 over "id.timestamp.body" with the decoded secret.
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(got.Get("webhook-id") + "." + got.Get("webhook-timestamp") + "." + body))
	if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); got.Get("webhook-signature") != want || body != `{"hello":"world"}` {
		t.Fatalf("signature %q, want %q (body %s)", got.Get("webhook-signature"), want, body)
	}
}

// fakeDNS answers lookups from a table.
type fakeDNS map[string][]netip.Addr

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

func TestNamesThatResolveToPrivateAddressesAreRefused(t *testing.T) {
	c := New(Options{Resolver: fakeDNS{
		"internal.example": {netip.MustParseAddr("93.184.216.34"), netip.MustParseAddr("10.0.0.7")},
		"metadata.example": {netip.MustParseAddr("169.254.169.254")},
		"hooks.example":    {netip.MustParseAddr("93.184.216.34")},
	}})
	for _, u := range []string{"https://internal.example/x", "https://metadata.example/latest"} {
		if err := c.CheckURL(u); err == nil || !strings.Contains(err.Error(), "resolves to a private address") {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"https://hooks.example/x", "https://not-resolving.example/x"} {
		if err := c.CheckURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}
