package server

import (
	"testing"
)

func TestTheClientBehindTrustedProxies(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, peer string
		xff        []string
		want       string // "" : the peer stays the client
	}{
		{"an untrusted peer's header is ignored", "203.0.113.9:5000", []string{"1.2.3.4"}, ""},
		{"a trusted proxy names the client", "10.1.2.3:40000", []string{"198.51.100.20"}, "198.51.100.20"},
		{"a chain of trusted proxies", "192.0.2.7:40000", []string{"198.51.100.20, 10.0.0.5"}, "198.51.100.20"},
		{"what the client wrote itself is left of its address", "10.1.2.3:40000", []string{"6.6.6.6, 198.51.100.20"}, "198.51.100.20"},
		{"several headers are one list", "10.1.2.3:40000", []string{"6.6.6.6", "198.51.100.20, 10.9.9.9"}, "198.51.100.20"},
		{"a port on an entry", "10.1.2.3:40000", []string{"198.51.100.20:1234"}, "198.51.100.20"},
		{"IPv6", "[2001:db8::1]:443", []string{"2001:db9::42"}, "2001:db9::42"},
		{"garbage stops the walk at the last proxy", "10.1.2.3:40000", []string{"1.2.3.4, garbage, 10.0.0.8"}, "10.0.0.8"},
		{"no header", "10.1.2.3:40000", nil, ""},
		{"every hop a proxy: the farthest", "10.1.2.3:40000", []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ip, ok := forwardedClient(c.peer, c.xff, trusted)
			got := ""
			if ok {
				got = ip.String()
			}
			if got != c.want {
				t.Fatalf("client %q, want %q", got, c.want)
			}
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "1.2.3"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}
