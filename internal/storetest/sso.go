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
		ProvisionRole: parley.RoleAgent, Domains: []string{"acme.example"}}
	if err := s.SetSSO(ctx, a, set); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindSSO(ctx, a)
	if err != nil || got.Issuer != set.Issuer || got.ClientID != "parley" || got.ClientSecret != set.ClientSecret || got.Required ||
		got.ProvisionRole != parley.RoleAgent || len(got.Domains) != 1 || got.Domains[0] != "acme.example" || got.UpdatedAt.IsZero() {
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
	if got.Issuer != "https://idp.acme.example/realms/staff" || got.ClientID != "console" || !got.Required || got.ProvisionRole != "" || len(got.Domains) != 0 {
		t.Fatalf("after the second save: %+v", got)
	}

	if err := s.SetSSO(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindSSO(ctx, a)
	wantCode(t, err, parley.ENOTFOUND)

	events, err := s.ListEvents(ctx, a, parley.EventFilter{Types: []string{parley.EventSSOChanged}, Limit: 10})
	if err != nil || len(events) != 3 {
		t.Fatalf("sso.changed events: %d, %v (want 3: set, replaced, removed)", len(events), err)
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
