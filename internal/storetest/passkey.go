package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// testPasskeys: a person's passkeys are theirs alone, found by credential
// ID across accounts for sign-in, counted on the user, capped, and
// removed one by one or all at once.
func testPasskeys(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t, &recorder{})
	f, other := newFixture(t, s, "Acme"), newFixture(t, s, "Globex")
	a := f.account.ID
	ann := &parley.User{AccountID: a, Email: "ann.passkeys@acme.test", Name: "Ann", Role: parley.RoleAgent, Active: true}
	bob := &parley.User{AccountID: other.account.ID, Email: "bob.passkeys@globex.test", Name: "Bob", Role: parley.RoleAgent, Active: true}
	for _, u := range []*parley.User{ann, bob} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}

	laptop := &parley.Passkey{ID: "cred-laptop", AccountID: a, UserID: ann.ID, Name: "Laptop", RPID: "chat.acme.test", Credential: []byte(`{"k":1}`)}
	if err := s.AddPasskey(ctx, laptop); err != nil || laptop.CreatedAt.IsZero() {
		t.Fatalf("AddPasskey: %v (created %v)", err, laptop.CreatedAt)
	}
	phone := &parley.Passkey{ID: "cred-phone", AccountID: a, UserID: ann.ID, Name: "Phone", RPID: "chat.acme.test", Credential: []byte(`{"k":2}`)}
	if err := s.AddPasskey(ctx, phone); err != nil {
		t.Fatal(err)
	}
	// One credential is one person's: the same ID again, even for
	// another brand's person, is refused.
	wantCode(t, s.AddPasskey(ctx, &parley.Passkey{ID: "cred-laptop", AccountID: bob.AccountID, UserID: bob.ID, Name: "x", RPID: "r", Credential: []byte("{}")}), parley.ECONFLICT)
	// A user of another account, or none, is not found.
	wantCode(t, s.AddPasskey(ctx, &parley.Passkey{ID: "cred-x", AccountID: a, UserID: bob.ID, Name: "x", RPID: "r", Credential: []byte("{}")}), parley.ENOTFOUND)

	got, err := s.FindUser(ctx, a, ann.ID)
	if err != nil || got.Passkeys != 2 || !got.HasSecondFactor() || got.TwoFactor {
		t.Fatalf("Ann after two passkeys: %+v, %v", got, err)
	}
	list, err := s.Passkeys(ctx, a, ann.ID)
	if err != nil || len(list) != 2 || list[0].ID != "cred-laptop" || list[1].Name != "Phone" || string(list[0].Credential) != `{"k":1}` ||
		list[0].RPID != "chat.acme.test" || !list[0].LastUsedAt.IsZero() {
		t.Fatalf("Passkeys = %+v, %v", list, err)
	}
	if list, err := s.Passkeys(ctx, other.account.ID, ann.ID); err != nil || len(list) != 0 {
		t.Fatalf("Ann's passkeys read through Globex: %+v, %v", list, err)
	}

	found, err := s.FindPasskey(ctx, "cred-phone")
	if err != nil || found.AccountID != a || found.UserID != ann.ID || found.Name != "Phone" {
		t.Fatalf("FindPasskey = %+v, %v", found, err)
	}
	_, err = s.FindPasskey(ctx, "cred-nobody")
	wantCode(t, err, parley.ENOTFOUND)

	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if err := s.UsePasskey(ctx, a, "cred-phone", []byte(`{"k":2,"count":7}`), at); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.UsePasskey(ctx, other.account.ID, "cred-phone", []byte("{}"), at), parley.ENOTFOUND)
	found, _ = s.FindPasskey(ctx, "cred-phone")
	if string(found.Credential) != `{"k":2,"count":7}` || !found.LastUsedAt.Equal(at) {
		t.Fatalf("after UsePasskey: %+v", found)
	}

	// Renamed by their owner only.
	if err := s.RenamePasskey(ctx, a, ann.ID, "cred-phone", "Work phone"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.RenamePasskey(ctx, other.account.ID, bob.ID, "cred-phone", "Mine now"), parley.ENOTFOUND)
	wantCode(t, s.RenamePasskey(ctx, a, ann.ID, "cred-nobody", "x"), parley.ENOTFOUND)
	if found, _ := s.FindPasskey(ctx, "cred-phone"); found.Name != "Work phone" {
		t.Fatalf("after the rename: %q", found.Name)
	}

	// Removing: another account's view of them, or an unknown ID, removes
	// nothing.
	_, err = s.RemovePasskeys(ctx, other.account.ID, ann.ID, "cred-phone")
	wantCode(t, err, parley.ENOTFOUND)
	_, err = s.RemovePasskeys(ctx, a, ann.ID, "cred-phone", "cred-nobody")
	wantCode(t, err, parley.ENOTFOUND)
	if n, err := s.RemovePasskeys(ctx, a, ann.ID, "cred-phone"); err != nil || n != 1 {
		t.Fatalf("RemovePasskeys(phone) = %d, %v", n, err)
	}
	if got, _ := s.FindUser(ctx, a, ann.ID); got.Passkeys != 1 {
		t.Fatalf("Ann has %d passkeys, want 1", got.Passkeys)
	}

	// At most MaxPasskeysPerUser each.
	for i := 1; i < parley.MaxPasskeysPerUser; i++ {
		if err := s.AddPasskey(ctx, &parley.Passkey{ID: fmt.Sprint("cred-", i), AccountID: a, UserID: ann.ID, Name: "Key", RPID: "r", Credential: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, s.AddPasskey(ctx, &parley.Passkey{ID: "cred-one-too-many", AccountID: a, UserID: ann.ID, Name: "Key", RPID: "r", Credential: []byte("{}")}), parley.ECONFLICT)

	// With no IDs, all of them go.
	if n, err := s.RemovePasskeys(ctx, a, ann.ID); err != nil || n != parley.MaxPasskeysPerUser {
		t.Fatalf("RemovePasskeys(all) = %d, %v", n, err)
	}
	if n, err := s.RemovePasskeys(ctx, a, ann.ID); err != nil || n != 0 {
		t.Fatalf("RemovePasskeys(none left) = %d, %v", n, err)
	}
	if got, _ := s.FindUser(ctx, a, ann.ID); got.Passkeys != 0 || got.HasSecondFactor() {
		t.Fatalf("Ann after removing all: %+v", got)
	}

	// Each change of the count was a user.updated saying it; none carries
	// a credential.
	events, err := s.ListEvents(ctx, a, parley.EventFilter{Types: []string{parley.EventUserUpdated}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var counts []int
	for _, e := range events {
		var u parley.User
		if err := json.Unmarshal(e.Data, &u); err != nil {
			t.Fatal(err)
		}
		counts = append(counts, u.Passkeys)
	}
	want := []int{1, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0}
	if fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Fatalf("user.updated passkey counts %v, want %v", counts, want)
	}
}
