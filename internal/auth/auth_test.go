package auth

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/sqlstore"
)

func TestPasswordHashes(t *testing.T) {
	p := PasswordParams{Memory: 64, Time: 1, Threads: 1}
	h, err := HashPassword("hunter2 hunter2", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash format: %s", h)
	}
	h2, _ := HashPassword("hunter2 hunter2", p)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !CheckPassword(h, "hunter2 hunter2") || CheckPassword(h, "hunter3 hunter3") || CheckPassword("garbage", "x") {
		t.Fatal("CheckPassword is wrong")
	}
}

func TestConsumerTokens(t *testing.T) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	acc := &parley.Account{Name: "A"}
	store.CreateAccount(ctx, acc)
	c := &parley.Consumer{AccountID: acc.ID}
	store.CreateConsumer(ctx, c)

	a, _ := New(store, []byte(strings.Repeat("s", 32)))
	tok, _, err := a.ConsumerToken(c)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Consumer(ctx, tok)
	if err != nil || p.ID != c.ID || p.AccountID != acc.ID || p.Kind != parley.PrincipalConsumer {
		t.Fatalf("valid token: %+v %v", p, err)
	}
	other, _ := New(store, []byte(strings.Repeat("o", 32)))
	if _, err := other.Consumer(ctx, tok); parley.ErrorCode(err) != parley.EUNAUTHORIZED {
		t.Fatalf("token signed with another secret: %v", err)
	}
	// Tampering with any part breaks the signature.
	parts := strings.Split(tok, ".")
	if _, err := a.Consumer(ctx, parts[0]+"."+parts[1]+"x."+parts[2]); err == nil {
		t.Fatal("tampered token accepted")
	}
	// An expired token is refused.
	a.now = func() time.Time { return time.Now().Add(a.ConsumerTokenTTL + time.Hour) }
	if _, err := a.Consumer(ctx, tok); parley.ErrorCode(err) != parley.EUNAUTHORIZED {
		t.Fatalf("expired token: %v", err)
	}
	// A token for a consumer that is not in the named account is refused.
	a.now = time.Now
	ghost := &parley.Consumer{ID: "con_06h2a3p38wht0b9d7evm3r59rw", AccountID: acc.ID}
	gt, _, _ := a.ConsumerToken(ghost)
	if _, err := a.Consumer(ctx, gt); err == nil {
		t.Fatal("token for an unknown consumer accepted")
	}
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	store, _ := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "p.db"), sqlstore.Options{})
	defer store.Close()
	acc := &parley.Account{Name: "A"}
	store.CreateAccount(ctx, acc)
	a, _ := New(store, []byte(strings.Repeat("s", 32)))
	k, shown, err := a.NewAPIKey(ctx, acc.ID, "crm", parley.RoleSupervisor)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(k.SecretHash), strings.SplitN(shown, ".", 2)[1]) {
		t.Fatal("secret stored in clear")
	}
	p, err := a.APIKey(ctx, shown)
	if err != nil || p.Role != parley.RoleSupervisor || p.AccountID != acc.ID {
		t.Fatalf("APIKey: %+v %v", p, err)
	}
	for _, bad := range []string{shown + "x", k.ID, k.ID + ".", "key_nope.secret", ""} {
		if _, err := a.APIKey(ctx, bad); parley.ErrorCode(err) != parley.EUNAUTHORIZED {
			t.Fatalf("%q accepted: %v", bad, err)
		}
	}
	store.RevokeAPIKey(ctx, acc.ID, k.ID)
	if _, err := a.APIKey(ctx, shown); err == nil {
		t.Fatal("revoked key accepted")
	}
}
