package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// ranges ("10.0.0.0/8, 192.0.2.7").
func ParseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %q is neither an address nor a CIDR range", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// clientAddress makes r.RemoteAddr the client's address when the request
// came through trusted reverse proxies, so that rate limits and the audit
// log see visitors rather than the load balancer. Without trusted proxies
// the TCP peer is the client and X-Forwarded-For is ignored: anyone can
// write that header.
func clientAddress(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip, ok := forwardedClient(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), trusted); ok {
			r = r.WithContext(r.Context()) // a copy: the caller's request is left alone
			r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedClient finds the client behind trusted proxies: reading
// X-Forwarded-For from the right (each proxy appends the address it got
// the request from), the first address that is not a trusted proxy. Only
// the entries the trusted proxies appended are believed: whatever a client
// wrote there itself is to the left of its own address. ok is false when
// the peer is not a trusted proxy or the header names nobody.
func forwardedClient(remoteAddr string, forwarded []string, trusted []netip.Prefix) (netip.Addr, bool) {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	peer, err := netip.ParseAddrPort(remoteAddr)
	if err != nil || !isTrusted(peer.Addr().Unmap()) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, v := range forwarded {
		hops = append(hops, strings.Split(v, ",")...)
	}
	var client netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		a, err := netip.ParseAddr(hop)
		if err != nil {
			ap, perr := netip.ParseAddrPort(hop) // some proxies add the port
			if perr != nil {
				break // not written by a proxy of ours: believe nothing further left
			}
			a = ap.Addr()
		}
		client = a.Unmap()
		if !isTrusted(client) {
			return client, true
		}
	}
	return client, client.IsValid() // every hop a proxy of ours: the farthest one
}
