package email

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestTheInboundPortLimitsConnections: the inbound SMTP port greets at
// most MaxConnsPerAddress connections from one address and MaxConns in
// all; one more is told 421 4.7.0 (try again later) and closed, and a
// place comes back when a connection ends.
func TestTheInboundPortLimitsConnections(t *testing.T) {
	in := NewInbound(nil, "reply.parley.test", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	in.MaxConns, in.MaxConnsPerAddress = 5, 3
	var refused atomic.Int32
	in.ConnRefused = func() { refused.Add(1) }
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go in.Serve(l)
	t.Cleanup(func() { in.Shutdown(t.Context()) })

	// greeting connects from the loopback address from (all of 127/8 is
	// this machine) and returns the connection and the server's first line.
	greeting := func(from string) (net.Conn, string) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("no greeting from %s: %v", from, err)
		}
		return c, line
	}
	var first []net.Conn
	for range 3 {
		c, line := greeting("127.0.0.1")
		if !strings.HasPrefix(line, "220 ") {
			t.Fatalf("connection from 127.0.0.1 greeted %q; want 220", line)
		}
		first = append(first, c)
	}
	if _, line := greeting("127.0.0.1"); line != "421 4.7.0 reply.parley.test too many connections from your address; try again later\r\n" {
		t.Fatalf("a fourth connection from 127.0.0.1 greeted %q; want 421, too many from the address", line)
	}
	for range 2 {
		if _, line := greeting("127.0.0.2"); !strings.HasPrefix(line, "220 ") {
			t.Fatalf("connection from 127.0.0.2 greeted %q; want 220", line)
		}
	}
	if _, line := greeting("127.0.0.3"); line != "421 4.7.0 reply.parley.test too many connections; try again later\r\n" {
		t.Fatalf("a sixth connection in all greeted %q; want 421, too many", line)
	}
	if n := refused.Load(); n != 2 {
		t.Fatalf("%d refusals counted; want 2", n)
	}
	// One of 127.0.0.1's ends (QUIT): its place comes back once the server
	// has closed it.
	io.WriteString(first[0], "QUIT\r\n")
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, line := greeting("127.0.0.1")
		if strings.HasPrefix(line, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a QUIT, 127.0.0.1 is still greeted %q", line)
		}
	}
}

// TestConnectionsCountByAddress: an IPv4 address counts alone (mapped
// into IPv6 or not); an IPv6 address counts with the rest of its /64.
func TestConnectionsCountByAddress(t *testing.T) {
	key := func(s string) string { return addressKey(net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s))).String() }
	for addr, want := range map[string]string{
		"192.0.2.7:25":                 "192.0.2.7/32",
		"[::ffff:192.0.2.7]:25":        "192.0.2.7/32",
		"[2001:db8:1:2:aaaa::1]:25":    "2001:db8:1:2::/64",
		"[2001:db8:1:2:bbbb::9]:40000": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:25":         "2001:db8:1:3::/64",
	} {
		if got := key(addr); got != want {
			t.Errorf("%s counts as %s; want %s", addr, got, want)
		}
	}
}
