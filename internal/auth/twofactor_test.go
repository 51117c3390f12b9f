package auth

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/sqlstore"
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
	if !spendCode(u, u.TOTPSecret, code(now.Add(-30*time.Second)), now) {
		t.Fatal("the previous step's code (a slow typist) was refused")
	}
	if spendCode(u, u.TOTPSecret, code(now.Add(-30*time.Second)), now) {
		t.Fatal("the same code was accepted twice")
	}
	if !spendCode(u, u.TOTPSecret, code(now), now) {
		t.Fatal("the current code was refused")
	}
	if spendCode(u, u.TOTPSecret, code(now.Add(-30*time.Second)), now) {
		t.Fatal("an older code was accepted after a newer one")
	}
	if spendCode(u, u.TOTPSecret, code(now.Add(2*time.Minute)), now) || spendCode(u, u.TOTPSecret, code(now.Add(-2*time.Minute)), now) {
		t.Fatal("a code four steps away was accepted")
	}
	for _, bad := range []string{"", "000000x", "12345", "abcdef", "1234567"} {
		if spendCode(u, u.TOTPSecret, bad, now) {
			t.Fatalf("%q accepted", bad)
		}
	}
	typed := " " + strings.ToUpper(strings.ReplaceAll(shown[3], "-", " ")) + " "
	if !spendCode(u, u.TOTPSecret, typed, now) {
		t.Fatalf("recovery code typed as %q refused", typed)
	}
	if spendCode(u, u.TOTPSecret, shown[3], now) || len(u.RecoveryCodes) != RecoveryCodeCount-1 {
		t.Fatalf("a recovery code was accepted twice (%d left)", len(u.RecoveryCodes))
	}
	if !spendCode(u, u.TOTPSecret, shown[0], now) {
		t.Fatal("another recovery code refused")
	}
	if u2 := (&parley.User{TOTPSecret: secret}); spendCode(u2, u2.TOTPSecret, shown[1], now) {
		t.Fatal("another user's recovery code accepted")
	}
	if !strings.Contains(TOTPURL("ann@acme.test", secret), "otpauth://totp/Parley:ann@acme.test?") {
		t.Fatalf("url %s", TOTPURL("ann@acme.test", secret))
	}
}

// TOTP seeds are sealed in the database: the stored setup and seed are
// neither the seed nor open without the installation's secret or on
// another user's row; codes from the app still log in, and a seed stored
// before sealing still works.
func TestSeedsAreSealedAtRest(t *testing.T) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acc := &parley.Account{Name: "A"}
	store.CreateAccount(ctx, acc)
	hash, _ := HashPassword("a long password", PasswordParams{Memory: 64, Time: 1, Threads: 1})
	ann := &parley.User{AccountID: acc.ID, Email: "ann@a.test", Role: parley.RoleAgent, Active: true, PasswordHash: hash, MaxConcurrent: 1}
	bob := &parley.User{AccountID: acc.ID, Email: "bob@a.test", Role: parley.RoleAgent, Active: true, PasswordHash: hash, MaxConcurrent: 1}
	store.CreateUser(ctx, ann)
	store.CreateUser(ctx, bob)
	a, _ := New(store, []byte(strings.Repeat("s", 32)))
	now := time.Now()
	a.now = func() time.Time { return now }
	p := parley.Principal{AccountID: acc.ID, Kind: parley.PrincipalUser, ID: ann.ID}

	seed, _, err := a.StartTwoFactor(ctx, p, "a long password")
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := store.FindUser(ctx, acc.ID, ann.ID)
	if !strings.HasPrefix(stored.TOTPPending, sealedPrefix) || strings.Contains(stored.TOTPPending, seed) {
		t.Fatalf("the seed being set up is stored as %q", stored.TOTPPending)
	}
	if shown, _, err := a.PendingTwoFactor(ctx, p); err != nil || shown != seed {
		t.Fatalf("PendingTwoFactor = %q, %v; want the seed", shown, err)
	}
	code := func(at time.Time) string {
		c, _ := totp.GenerateCode(seed, at)
		return c
	}
	if _, _, err := a.ConfirmTwoFactor(ctx, p, nil, code(now)); err != nil {
		t.Fatal(err)
	}
	stored, _ = store.FindUser(ctx, acc.ID, ann.ID)
	if !stored.TwoFactor || !strings.HasPrefix(stored.TOTPSecret, sealedPrefix) || strings.Contains(stored.TOTPSecret, seed) {
		t.Fatalf("the seed is stored as %q", stored.TOTPSecret)
	}
	now = now.Add(time.Minute)
	if err := a.secondFactor(ctx, stored, code(now)); err != nil {
		t.Fatalf("a code from the app: %v", err)
	}
	// On another user's row, or under another installation's secret, the
	// sealed seed does not open.
	if _, err := a.openSeed(bob.ID, stored.TOTPSecret); err == nil {
		t.Fatal("Ann's sealed seed opens on Bob's row")
	}
	other, _ := New(store, []byte(strings.Repeat("t", 32)))
	if _, err := other.openSeed(ann.ID, stored.TOTPSecret); err == nil {
		t.Fatal("the sealed seed opens under another secret")
	}
	// A seed stored in the clear before seeds were sealed still works.
	const legacy = "JBSWY3DPEHPK3PXP"
	store.ChangeUser(ctx, acc.ID, bob.ID, nil, func(u *parley.User) error { u.TOTPSecret = legacy; return nil })
	bobNow, _ := store.FindUser(ctx, acc.ID, bob.ID)
	c, _ := totp.GenerateCode(legacy, now)
	if err := a.secondFactor(ctx, bobNow, c); err != nil {
		t.Fatalf("a legacy seed's code: %v", err)
	}
}
