package parley_test

import (
	"testing"

	"github.com/parleychat/parley"
)

func TestConsoleNetworks(t *testing.T) {
	nets, err := parley.ParseNetworks([]string{"198.51.100.0/24", " 203.0.113.7 ", "2001:db8::/32", "10.1.2.3/8"})
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{
		"198.51.100.42:5123":  true,
		"203.0.113.7:80":      true,
		"203.0.113.8:80":      false,
		"[2001:db8::1]:443":   true,
		"[::ffff:10.9.9.9]:1": true, // 10.0.0.0/8, written as IPv4-mapped
		"192.0.2.1:1":         false,
		"not an address":      false,
		"198.51.100.9":        true, // no port
	} {
		if got := parley.InNetworks(nets, addr); got != want {
			t.Errorf("InNetworks(%q) = %v, want %v", addr, got, want)
		}
	}
	if !parley.InNetworks(nil, "192.0.2.1:1") {
		t.Error("no networks must be anywhere")
	}
	if _, err := parley.ParseNetworks([]string{"10.0.0.0/8", "office"}); parley.ErrorCode(err) != parley.EINVALID {
		t.Errorf("a bad entry: %v", err)
	}
}
