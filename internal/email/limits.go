package email

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The inbound SMTP port is the installation's MX: anyone on the internet
// may connect. Each connection holds a goroutine and its buffers for up
// to the read timeout, so the port takes at most MaxConns at once, and at
// most MaxConnsPerAddress from one address (an IPv6 address counts by its
// /64, which one host usually has to itself), as mail servers do
// (Postfix's smtpd_client_connection_count_limit). One over either limit
// is told "421 4.7.0 … try again later" and closed: the sending server
// keeps the email and tries again, as it does when a server is busy.

// Default limits of the inbound port.
const (
	DefaultMaxConns           = 1000
	DefaultMaxConnsPerAddress = 20
)

// limitedListener lets in the connections the limits allow and answers
// the others itself.
type limitedListener struct {
	net.Listener
	domain           string
	max, perAddress  int
	mu               sync.Mutex
	open             int
	openFrom         map[netip.Prefix]int
	refusedSinceLast int       // connections refused since the last log line
	lastLog          time.Time // when that was
	log              func(refused int, from netip.Prefix)
	refused          func() // each refusal, for the metrics; may be nil
}

func (l *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		from := addressKey(c.RemoteAddr())
		l.mu.Lock()
		if l.open >= l.max || l.openFrom[from] >= l.perAddress {
			busy := l.open >= l.max
			l.noteRefusal(from)
			l.mu.Unlock()
			refuseConn(c, l.domain, busy)
			continue
		}
		l.open++
		l.openFrom[from]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, release: func() { l.release(from) }}, nil
	}
}

func (l *limitedListener) release(from netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.openFrom[from]--; l.openFrom[from] <= 0 {
		delete(l.openFrom, from)
	}
}

// noteRefusal logs refusals at most once a minute (a flood would fill the
// log otherwise). Under l.mu.
func (l *limitedListener) noteRefusal(from netip.Prefix) {
	if l.refused != nil {
		l.refused()
	}
	l.refusedSinceLast++
	if now := time.Now(); l.log != nil && now.Sub(l.lastLog) >= time.Minute {
		l.log(l.refusedSinceLast, from)
		l.refusedSinceLast, l.lastLog = 0, now
	}
}

// refuseConn answers a connection over the limits with 421 and closes
// it, without waiting for a slow peer.
func refuseConn(c net.Conn, domain string, busy bool) {
	why := "too many connections from your address"
	if busy {
		why = "too many connections"
	}
	c.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "421 4.7.0 %s %s; try again later\r\n", domain, why)
	c.Close()
}

// addressKey is what the per-address limit counts by: the IPv4 address,
// or the IPv6 address's /64.
func addressKey(a net.Addr) netip.Prefix {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}
	}
	ip := ap.Addr().Unmap()
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// limitedConn gives its place back once, when closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
