// Package mailbox is a real SMTP server on a loopback port that keeps the
// mail it receives in memory: the tests' mail server, and `parley demo`'s,
// whose page (/demo/mail/) shows what Parley sent. It speaks the protocol
// (go-smtp's server side) and asks for a password — or refuses mail, as a
// test tells it to.
package mailbox

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

// Keep is how many messages the server remembers (the newest).
const Keep = 200

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
	Addr string
	// Received gets each message as it is accepted (tests wait on it);
	// when nobody reads it fills, and later messages are only kept.
	Received chan Received
	smtp     *smtp.Server
	mu       sync.Mutex
	kept     []Received
	refuse   []*smtp.SMTPError // answers to the next DATA commands, in turn
	attempts int
}

// Listen starts a server on addr (a loopback address; port 0 picks one).
func Listen(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: l.Addr().String(), Received: make(chan Received, 100)}
	s.smtp = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{srv: s}, nil }))
	s.smtp.Domain = "mailbox.parley.test"
	s.smtp.AllowInsecureAuth = true // loopback only
	s.smtp.MaxMessageBytes = 1 << 20
	go s.smtp.Serve(l)
	return s, nil
}

// Start listens on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Close stops the server.
func (s *Server) Close() error { return s.smtp.Close() }

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

// Kept returns the messages remembered, newest first.
func (s *Server) Kept() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.kept))
	for i, r := range s.kept {
		out[len(s.kept)-1-i] = r
	}
	return out
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
	got := Received{From: s.from, To: s.to, Data: data}
	if refuse == nil {
		s.srv.kept = append(s.srv.kept, got)
		if len(s.srv.kept) > Keep {
			s.srv.kept = s.srv.kept[len(s.srv.kept)-Keep:]
		}
	}
	s.srv.mu.Unlock()
	if refuse != nil {
		return refuse
	}
	select {
	case s.srv.Received <- got:
	default: // nobody is reading: kept only
	}
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
