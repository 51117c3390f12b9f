package parley

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// MaxConsoleNetworks bounds an account's console networks.
const MaxConsoleNetworks = 50

// ParseNetworks reads a brand's console networks: addresses
// ("203.0.113.7") and CIDR ranges ("198.51.100.0/24", "2001:db8::/32").
// The error names the entry.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	if len(list) > MaxConsoleNetworks {
		return nil, Errorf(EINVALID, "console_networks: at most %d entries", MaxConsoleNetworks)
	}
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, Errorf(EINVALID, "console_networks[%d] %q is neither an address nor a CIDR range like 198.51.100.0/24", i, s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// InNetworks reports whether the client of remoteAddr ("ip:port", as an
// http.Request's RemoteAddr) is in one of the networks; no networks is
// anywhere.
func InNetworks(networks []netip.Prefix, remoteAddr string) bool {
	if len(networks) == 0 {
		return true
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range networks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ErrOutsideNetworks is the refusal of a person outside their brand's
// console networks.
func ErrOutsideNetworks(remoteAddr string) error {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	return Errorf(EFORBIDDEN, "%s", fmt.Sprintf("your brand allows its console only from its own networks, and %s is not one of them", host))
}
