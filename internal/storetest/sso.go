package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// testSSO: single sign-on settings are the account's alone, replaced
// whole, removed, and never put their secret in an event.
func testSSO(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, &recorder{})
	f, other := newFixture(t, s, "Acme"), newFixture(t, s, "Globex")
	a := f.account.ID

	_, err := s.FindSSO(ctx, a)
	wantCode(t, err, parley.ENOTFOUND)
	// Removing what was never set changes nothing and writes nothing.
	if err := s.SetSSO(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	set := &parley.SSO{Issuer: "https://login.acme.example", ClientID: "parley", ClientSecret: "v1:sealed-secret-of-acme",
		ProvisionRole: parley.RoleAgent, Domains: []string{"acme.example"}, SignOut: true}
	if err := s.SetSSO(ctx, a, set); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindSSO(ctx, a)
	if err != nil || got.Issuer != set.Issuer || got.ClientID != "parley" || got.ClientSecret != set.ClientSecret || got.Required ||
		got.ProvisionRole != parley.RoleAgent || len(got.Domains) != 1 || got.Domains[0] != "acme.example" || !got.SignOut || got.UpdatedAt.IsZero() {
		t.Fatalf("FindSSO = %+v, %v", got, err)
	}
	_, err = s.FindSSO(ctx, other.account.ID)
	wantCode(t, err, parley.ENOTFOUND)
	wantCode(t, s.SetSSO(ctx, "acc_nobody", set), parley.ENOTFOUND)

	// A second save replaces the first whole.
	if err := s.SetSSO(ctx, a, &parley.SSO{Issuer: "https://idp.acme.example/realms/staff", ClientID: "console", ClientSecret: "v1:another", Required: true}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.FindSSO(ctx, a)
	if got.Issuer != "https://idp.acme.example/realms/staff" || got.ClientID != "console" || !got.Required || got.ProvisionRole != "" || len(got.Domains) != 0 || got.SignOut {
		t.Fatalf("after the second save: %+v", got)
	}

	if err := s.SetSSO(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindSSO(ctx, a)
	wantCode(t, err, parley.ENOTFOUND)

	// A domain is one brand's: found by it, refused to another, free once
	// its brand lets it go.
	if err := s.SetSSO(ctx, a, &parley.SSO{Issuer: "https://idp.acme.example", ClientID: "c", ClientSecret: "v1:x", Domains: []string{"acme.example", "acme.test"}}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.FindSSODomain(ctx, "acme.test"); err != nil || got != a {
		t.Fatalf("FindSSODomain(acme.test) = %q, %v", got, err)
	}
	_, err = s.FindSSODomain(ctx, "globex.example")
	wantCode(t, err, parley.ENOTFOUND)
	wantCode(t, s.SetSSO(ctx, other.account.ID, &parley.SSO{Issuer: "https://idp.globex.example", ClientID: "c", ClientSecret: "v1:y",
		Domains: []string{"globex.example", "acme.test"}}), parley.ECONFLICT)
	if _, err := s.FindSSO(ctx, other.account.ID); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("a refused save stored Globex's settings: %v", err)
	}
	if _, err := s.FindSSODomain(ctx, "globex.example"); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatal("a refused save claimed globex.example")
	}
	// Saved again without a domain, it lets that one go.
	if err := s.SetSSO(ctx, a, &parley.SSO{Issuer: "https://idp.acme.example", ClientID: "c", ClientSecret: "v1:x", Domains: []string{"acme.example"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSSO(ctx, other.account.ID, &parley.SSO{Issuer: "https://idp.globex.example", ClientID: "c", ClientSecret: "v1:y", Domains: []string{"acme.test"}}); err != nil {
		t.Fatalf("a domain let go is free: %v", err)
	}
	if err := s.SetSSO(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindSSODomain(ctx, "acme.example"); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatal("removing single sign-on kept its domains")
	}

	events, err := s.ListEvents(ctx, a, parley.EventFilter{Types: []string{parley.EventSSOChanged}, Limit: 10})
	if err != nil || len(events) != 6 {
		t.Fatalf("sso.changed events: %d, %v (want 6: set, replaced, removed, set, replaced, removed)", len(events), err)
	}
	for _, e := range events {
		if strings.Contains(string(e.Data), "v1:") {
			t.Fatalf("an event carries the secret: %s", e.Data)
		}
	}
	var last parley.SSOChanged
	if err := json.Unmarshal(events[2].Data, &last); err != nil || last.Issuer != "" {
		t.Fatalf("the removal's event: %s", events[2].Data)
	}
}

// testSSOSubject: a person is linked to one account of the brand's
// identity provider, which is no other person's of the brand (another
// brand's may use the same words); the link never shows in an event, and
// unlinking frees it.
func testSSOSubject(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f, other := newFixture(t, s, "Acme"), newFixture(t, s, "Globex")
	person := func(accountID, email string) *parley.User {
		t.Helper()
		u := &parley.User{AccountID: accountID, Email: email, Name: email, Role: parley.RoleAgent, MaxConcurrent: 1, Active: true}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	link := func(u *parley.User, key string) (*parley.User, error) {
		v, _, err := s.ChangeUser(ctx, u.AccountID, u.ID, nil, func(v *parley.User) error {
			v.SSOSubject = key
			return nil
		})
		return v, err
	}
	ann, bob := person(f.account.ID, "ann@acme.test"), person(f.account.ID, "bob@acme.test")
	if ann.SSOLinked {
		t.Fatal("a new person is linked")
	}
	key := parley.SSOSubjectOf("https://login.acme.test", "user-1")
	if v, err := link(ann, key); err != nil || !v.SSOLinked || v.SSOSubject != key {
		t.Fatalf("link: %+v %v", v, err)
	}
	if got, _ := s.FindUserByEmail(ctx, "ann@acme.test"); got.SSOSubject != key || !got.SSOLinked {
		t.Fatalf("stored: %+v", got)
	}
	if got, err := s.FindUserBySSOSubject(ctx, f.account.ID, key); err != nil || got.ID != ann.ID {
		t.Fatalf("found by the link: %+v %v", got, err)
	}
	for _, lookup := range []struct{ account, key string }{{other.account.ID, key}, {f.account.ID, key + "x"}, {f.account.ID, ""}} {
		_, err := s.FindUserBySSOSubject(ctx, lookup.account, lookup.key)
		wantCode(t, err, parley.ENOTFOUND)
	}
	_, err := link(bob, key)
	wantCode(t, err, parley.ECONFLICT)
	if _, err := link(person(other.account.ID, "ann@globex.test"), key); err != nil {
		t.Fatalf("another brand's person with the same words: %v", err)
	}
	events, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventUserUpdated}})
	for _, e := range events {
		if strings.Contains(string(e.Data), "user-1") {
			t.Fatalf("the subject is in an event: %s", e.Data)
		}
	}
	if v, err := link(ann, ""); err != nil || v.SSOLinked {
		t.Fatalf("unlink: %+v %v", v, err)
	}
	if _, err := link(bob, key); err != nil {
		t.Fatalf("linked once unlinked: %v", err)
	}
}

// testInboxViews: a person's saved views are kept as given, theirs alone,
// and never in an event.
func testInboxViews(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "Acme")
	ann := &parley.User{AccountID: f.account.ID, Email: "ann@acme.test", Name: "Ann", Role: parley.RoleAgent, MaxConcurrent: 1, Active: true}
	bob := &parley.User{AccountID: f.account.ID, Email: "bob@acme.test", Name: "Bob", Role: parley.RoleAgent, MaxConcurrent: 1, Active: true}
	for _, u := range []*parley.User{ann, bob} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	want := []parley.InboxView{{Name: "Damaged", Tab: "mine", Label: "billing", Fields: map[string]string{"reason": "Damaged"}, Query: "boots"}, {Name: "Waiting", Tab: "queued"}}
	if _, _, err := s.ChangeUser(ctx, f.account.ID, ann.ID, nil, func(u *parley.User) error { u.Views = want; return nil }); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindUser(ctx, f.account.ID, ann.ID)
	if len(got.Views) != 2 || got.Views[0].Fields["reason"] != "Damaged" || got.Views[0].Query != "boots" || got.Views[1].Tab != "queued" {
		t.Fatalf("stored: %+v", got.Views)
	}
	if other, _ := s.FindUser(ctx, f.account.ID, bob.ID); len(other.Views) != 0 {
		t.Fatalf("a colleague has them: %+v", other.Views)
	}
	events, _ := s.ListEvents(ctx, f.account.ID, parley.EventFilter{Types: []string{parley.EventUserUpdated}})
	for _, e := range events {
		if strings.Contains(string(e.Data), "boots") {
			t.Fatalf("a view is in an event: %s", e.Data)
		}
	}
	if _, _, err := s.ChangeUser(ctx, f.account.ID, ann.ID, nil, func(u *parley.User) error { u.Views = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindUser(ctx, f.account.ID, ann.ID); len(got.Views) != 0 {
		t.Fatalf("removed: %+v", got.Views)
	}
}

// testBrowserTrust: the number browsers trusted by a person hold is kept,
// raised on request, and raised by itself by a new password, a new or
// removed second factor and deactivation — never by other changes.
func testBrowserTrust(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, nil)
	f := newFixture(t, s, "Acme")
	u := &parley.User{AccountID: f.account.ID, Email: "ann@acme.test", Name: "Ann", Role: parley.RoleAgent, MaxConcurrent: 1, Active: true, PasswordHash: "h1"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	change := func(edit func(*parley.User)) int {
		t.Helper()
		v, _, err := s.ChangeUser(ctx, u.AccountID, u.ID, nil, func(v *parley.User) error { edit(v); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.FindUser(ctx, u.AccountID, u.ID); got.BrowserTrust != v.BrowserTrust {
			t.Fatalf("stored %d, returned %d", got.BrowserTrust, v.BrowserTrust)
		}
		return v.BrowserTrust
	}
	steps := []struct {
		name string
		edit func(*parley.User)
		want int
	}{
		{"a new name", func(v *parley.User) { v.Name = "Ann B." }, 0},
		{"asked", func(v *parley.User) { v.BrowserTrust++ }, 1},
		{"a new password", func(v *parley.User) { v.PasswordHash = "h2" }, 2},
		{"a second factor", func(v *parley.User) { v.TOTPSecret = "seed" }, 3},
		{"a code spent", func(v *parley.User) { v.TOTPLastStep = 42 }, 3},
		{"the second factor removed", func(v *parley.User) { v.TOTPSecret = "" }, 4},
		{"deactivated", func(v *parley.User) { v.Active = false }, 5},
		{"reactivated", func(v *parley.User) { v.Active = true }, 5},
		{"asked, with a new password", func(v *parley.User) { v.BrowserTrust++; v.PasswordHash = "h3" }, 6},
	}
	for _, st := range steps {
		if got := change(st.edit); got != st.want {
			t.Fatalf("%s: browser trust %d, want %d", st.name, got, st.want)
		}
	}
}
