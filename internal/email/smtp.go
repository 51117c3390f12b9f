// Package email mails agents' replies to visitors who did not read them
// (docs/email.md): a sweep reads each account's event log for agents'
// messages, queues one email per conversation for when the wait is over,
// and sends those still unread through the installation's mail server.
package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mailer hands one message to a mail server.
type Mailer interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// PermanentError is a refusal that trying again will not change (an SMTP
// 5xx answer: no such mailbox, a rejected sender).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// SMTP sends through the mail server an operator names with a URL:
//
//	smtp://[user:password@]host[:port]   port 587 by default; STARTTLS required (plain only to a loopback relay)
//	smtps://[user:password@]host[:port]  port 465 by default; TLS from the first byte
//
// Nothing, a password least of all, goes over a connection without TLS,
// except to a loopback address (a relay on the same machine).
type SMTP struct {
	addr      string
	host      string
	implicit  bool
	user      string
	password  string
	tlsConfig *tls.Config
	timeout   time.Duration
}

// ParseSMTP reads the server's URL.
func ParseSMTP(raw string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("mail server URL: %v", err)
	}
	s := &SMTP{host: u.Hostname(), timeout: 30 * time.Second}
	port := u.Port()
	switch u.Scheme {
	case "smtp":
		if port == "" {
			port = "587"
		}
	case "smtps":
		s.implicit = true
		if port == "" {
			port = "465"
		}
	default:
		return nil, fmt.Errorf("mail server URL %q: the scheme must be smtp or smtps", u.Redacted())
	}
	if s.host == "" {
		return nil, fmt.Errorf("mail server URL %q names no host", u.Redacted())
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	s.addr = net.JoinHostPort(s.host, port)
	s.tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	return s, nil
}

// WithTLSConfig sets the TLS configuration (tests trust their own
// certificate authority with it).
func (s *SMTP) WithTLSConfig(c *tls.Config) *SMTP {
	s.tlsConfig = c
	return s
}

// Send hands msg to the server for each of to.
func (s *SMTP) Send(ctx context.Context, from string, to []string, msg []byte) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(s.timeout)
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return err
	}
	conn.SetDeadline(deadline)
	var c *smtp.Client
	// greet: the STARTTLS client greets the server itself (as
	// "localhost"); the others greet it with the sender's domain.
	greet := true
	switch {
	case s.implicit:
		tc := tls.Client(conn, s.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return err
		}
		c = smtp.NewClient(tc)
	case isLoopback(s.host):
		c = smtp.NewClient(conn) // a relay on this machine: no TLS needed
	default:
		if c, err = smtp.NewClientStartTLS(conn, s.tlsConfig); err != nil {
			conn.Close()
			return classify(err)
		}
		greet = false
	}
	defer c.Close()
	if greet {
		if err := c.Hello(helloName(from)); err != nil {
			return classify(err)
		}
	}
	if s.user != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.user, s.password)); err != nil {
			return classify(err)
		}
	}
	if err := c.SendMail(from, to, bytes.NewReader(msg)); err != nil {
		return classify(err)
	}
	return classify(c.Quit())
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// helloName is the name Parley greets the server with: the sender's
// domain, which a server can at least resolve.
func helloName(from string) string {
	if _, domain, ok := strings.Cut(from, "@"); ok && domain != "" {
		return domain
	}
	return "localhost"
}

// classify marks the server's 5xx answers permanent.
func classify(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return &PermanentError{Err: err}
	}
	return err
}
