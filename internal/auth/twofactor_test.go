package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/pquerna/otp/totp"
)

// A code is accepted within one step of the clock either way, once; a
// recovery code once, however it is typed; anything else never.
func TestSpendCode(t *testing.T) {
	const secret = "JBSWY3DPEHPK3PXP"
	now := time.Date(2026, 11, 30, 9, 0, 10, 0, time.UTC)
	code := func(at time.Time) string {
		c, err := totp.GenerateCode(secret, at)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	shown, hashes := newRecoveryCodes()
	if len(shown) != RecoveryCodeCount || len(hashes) != RecoveryCodeCount || len(shown[0]) != 11 || shown[0][5] != '-' {
		t.Fatalf("recovery codes %q", shown)
	}
	u := &parley.User{TOTPSecret: secret, RecoveryCodes: hashes}
	if !spendCode(u, code(now.Add(-30*time.Second)), now) {
		t.Fatal("the previous step's code (a slow typist) was refused")
	}
	if spendCode(u, code(now.Add(-30*time.Second)), now) {
		t.Fatal("the same code was accepted twice")
	}
	if !spendCode(u, code(now), now) {
		t.Fatal("the current code was refused")
	}
	if spendCode(u, code(now.Add(-30*time.Second)), now) {
		t.Fatal("an older code was accepted after a newer one")
	}
	if spendCode(u, code(now.Add(2*time.Minute)), now) || spendCode(u, code(now.Add(-2*time.Minute)), now) {
		t.Fatal("a code four steps away was accepted")
	}
	for _, bad := range []string{"", "000000x", "12345", "abcdef", "1234567"} {
		if spendCode(u, bad, now) {
			t.Fatalf("%q accepted", bad)
		}
	}
	typed := " " + strings.ToUpper(strings.ReplaceAll(shown[3], "-", " ")) + " "
	if !spendCode(u, typed, now) {
		t.Fatalf("recovery code typed as %q refused", typed)
	}
	if spendCode(u, shown[3], now) || len(u.RecoveryCodes) != RecoveryCodeCount-1 {
		t.Fatalf("a recovery code was accepted twice (%d left)", len(u.RecoveryCodes))
	}
	if !spendCode(u, shown[0], now) {
		t.Fatal("another recovery code refused")
	}
	if u2 := (&parley.User{TOTPSecret: secret}); spendCode(u2, shown[1], now) {
		t.Fatal("another user's recovery code accepted")
	}
	if !strings.Contains(TOTPURL("ann@acme.test", secret), "otpauth://totp/Parley:ann@acme.test?") {
		t.Fatalf("url %s", TOTPURL("ann@acme.test", secret))
	}
}
