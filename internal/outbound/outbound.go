// Package outbound makes Parley's HTTP calls to brands' servers (the
// external bot, flow webhooks, and event webhooks): requests signed per
// the Standard Webhooks specification, with a timeout, a cap on the
// response size, and a guard that refuses private, loopback and link-local
// destinations — checked on the address actually dialled, so DNS answers
// and redirects cannot get around it.
package outbound

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parleychat/parley"
)

// Options configure a Client.
type Options struct {
	// AllowPrivate lets calls reach private, loopback and link-local
	// addresses, and plain HTTP (development and tests only).
	AllowPrivate bool
	Timeout      time.Duration // per call (default 5 s)
	MaxResponse  int64         // bytes read from a reply (default 256 KiB)
	// Resolver looks names up when a URL is checked (default: the system's).
	Resolver interface {
		LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	}
}

// Client sends signed JSON requests.
type Client struct {
	opt  Options
	http *http.Client
}

// ErrForbiddenAddress is returned when a destination is private.
var ErrForbiddenAddress = errors.New("destination address is private, loopback or link-local")

// New returns a client.
func New(opt Options) *Client {
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	if opt.MaxResponse <= 0 {
		opt.MaxResponse = 256 << 10
	}
	if opt.Resolver == nil {
		opt.Resolver = net.DefaultResolver
	}
	d := &net.Dialer{Timeout: opt.Timeout, Control: func(_, address string, _ syscall.RawConn) error {
		if opt.AllowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return err
		}
		if !Public(ap.Addr()) {
			return fmt.Errorf("%w: %s", ErrForbiddenAddress, ap.Addr())
		}
		return nil
	}}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: opt.Timeout, MaxIdleConnsPerHost: 4, IdleConnTimeout: time.Minute, Proxy: nil}
	return &Client{opt: opt, http: &http.Client{Transport: tr, Timeout: opt.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return checkScheme(req.URL.Scheme, opt.AllowPrivate)
	}}}
}

// Public reports whether an address may be called without AllowPrivate.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast() &&
		!a.IsUnspecified() && !a.IsMulticast() && !a.IsInterfaceLocalMulticast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(a) // carrier-grade NAT
}

func checkScheme(scheme string, allowPrivate bool) error {
	if scheme == "https" || (scheme == "http" && allowPrivate) {
		return nil
	}
	return parley.Errorf(parley.EINVALID, "only https:// URLs may be called")
}

// CheckURL validates a destination before it is saved: HTTPS (plain HTTP
// only with AllowPrivate), and a host that is public — an IP literal, or a
// name whose addresses all are. A name that does not resolve now is taken
// (it may later; every connection is checked when dialled anyway).
func (c *Client) CheckURL(raw string) error {
	req, err := http.NewRequest(http.MethodPost, raw, nil)
	if err != nil || req.URL.Host == "" {
		return parley.Errorf(parley.EINVALID, "%q is not a URL", raw)
	}
	if err := checkScheme(req.URL.Scheme, c.opt.AllowPrivate); err != nil {
		return err
	}
	host := req.URL.Hostname()
	if a, err := netip.ParseAddr(host); err == nil && !c.opt.AllowPrivate && !Public(a) {
		return parley.Errorf(parley.EINVALID, "%s resolves to a private address", host)
	}
	if !c.opt.AllowPrivate && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		return parley.Errorf(parley.EINVALID, "%s is a loopback name", host)
	}
	if _, err := netip.ParseAddr(host); err != nil && !c.opt.AllowPrivate {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		addrs, err := c.opt.Resolver.LookupNetIP(ctx, "ip", host)
		if err == nil {
			for _, a := range addrs {
				if !Public(a) {
					return parley.Errorf(parley.EINVALID, "%s resolves to a private address (%s)", host, a)
				}
			}
		}
	}
	return nil
}

// NewSecret returns a signing secret in the Standard Webhooks format
// ("whsec_" and base64 of 24 random bytes).
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// Sign returns the webhook-signature header value for a message.
func Sign(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("signing secret is not base64: %w", err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts.Unix())
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// PostJSON sends payload as a signed JSON POST with webhook-id id (a new
// one when id is empty) and decodes a JSON reply into out (when out is not
// nil). A status outside 2xx is an error.
func (c *Client) PostJSON(ctx context.Context, url, secret, id string, payload, out any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	if id == "" {
		id = parley.NewID("msg")
	}
	_, data, err := c.Post(ctx, url, secret, id, body)
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("reply is not the expected JSON: %w", err)
	}
	return nil
}

// Post sends a JSON body with the Standard Webhooks headers: id (the same
// for every attempt of one message, so receivers can drop repeats), the
// time, and the signature when secret is set. It returns the status and
// the reply (at most MaxResponse bytes); a status outside 2xx is an error.
func (c *Client) Post(ctx context.Context, url, secret, id string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if err := checkScheme(req.URL.Scheme, c.opt.AllowPrivate); err != nil {
		return 0, nil, err
	}
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	if secret != "" {
		sig, err := Sign(secret, id, now, body)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("webhook-signature", sig)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, c.opt.MaxResponse+1))
	if err != nil {
		return res.StatusCode, nil, err
	}
	if int64(len(data)) > c.opt.MaxResponse {
		return res.StatusCode, nil, fmt.Errorf("reply larger than %d bytes", c.opt.MaxResponse)
	}
	if res.StatusCode/100 != 2 {
		return res.StatusCode, data, fmt.Errorf("%s answered %s", url, res.Status)
	}
	return res.StatusCode, data, nil
}

// HTTP returns a plain HTTP client with the same guards — public
// addresses only (unless AllowPrivate), HTTPS (plain HTTP only with
// AllowPrivate), the timeout — whose replies end after MaxResponse bytes.
// Libraries that make their own requests (OpenID Connect discovery,
// keys and token exchange) use it.
func (c *Client) HTTP() *http.Client {
	return &http.Client{Transport: &capped{next: c.http.Transport, max: c.opt.MaxResponse, allowHTTP: c.opt.AllowPrivate},
		Timeout: c.http.Timeout, CheckRedirect: c.http.CheckRedirect}
}

// capped refuses other schemes and cuts replies at max bytes (a reply
// cut short fails to parse, which is the caller's error to report).
type capped struct {
	next      http.RoundTripper
	max       int64
	allowHTTP bool
}

func (t *capped) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := checkScheme(req.URL.Scheme, t.allowHTTP); err != nil {
		return nil, err
	}
	res, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	res.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(res.Body, t.max), res.Body}
	return res, nil
}
