// Package mailtest runs a real SMTP server on a loopback port for tests:
// it speaks the protocol (go-smtp's server), asks for a password, and
// keeps what it receives — or refuses it, as a test tells it to.
package mailtest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// User and Password are what the server accepts.
const (
	User     = "parley"
	Password = "mail-secret"
)

// Received is one message the server accepted.
type Received struct {
	From string
	To   []string
	Data []byte
}

// Message parses the message.
func (r Received) Message() (*mail.Message, error) {
	return mail.ReadMessage(strings.NewReader(string(r.Data)))
}

// Server is a running SMTP server.
type Server struct {
	Addr     string
	Received chan Received
	mu       sync.Mutex
	refuse   []*smtp.SMTPError // answers to the next DATA commands, in turn
	attempts int
}

// Start listens on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: l.Addr().String(), Received: make(chan Received, 100)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{srv: s}, nil }))
	srv.Domain = "mail.test"
	srv.AllowInsecureAuth = true // loopback
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

// URL is the server's smtp:// URL with its password.
func (s *Server) URL() string { return fmt.Sprintf("smtp://%s:%s@%s", User, Password, s.Addr) }

// Refuse makes the next messages fail with these answers, one each (a 4xx
// the sender may retry, a 5xx it must not).
func (s *Server) Refuse(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range codes {
		s.refuse = append(s.refuse, &smtp.SMTPError{Code: c, Message: fmt.Sprintf("refused by the test (%d)", c)})
	}
}

// Attempts counts the messages offered, refused or not.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

type session struct {
	srv    *Server
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != User || pass != Password {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return &smtp.SMTPError{Code: 530, Message: "authentication required"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.attempts++
	var refuse *smtp.SMTPError
	if len(s.srv.refuse) > 0 {
		refuse, s.srv.refuse = s.srv.refuse[0], s.srv.refuse[1:]
	}
	s.srv.mu.Unlock()
	if refuse != nil {
		return refuse
	}
	s.srv.Received <- Received{From: s.from, To: s.to, Data: data}
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
