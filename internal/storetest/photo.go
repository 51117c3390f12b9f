package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/parleychat/parley"
)

// UserPhotos: a person's photo is kept and read back with a token that
// changes with it (the same bytes, the same token); the person's row
// says the token wherever it is read, and keeps it through other edits;
// nil removes it; another account can neither read nor set it; each
// change writes user.updated.
func testUserPhotos(t *testing.T, open Opener) {
	ctx := context.Background()
	rec := &recorder{}
	s := open(t, rec)
	f := newFixture(t, s, "A")
	other := newFixture(t, s, "B")
	u := &parley.User{AccountID: f.account.ID, Email: "zoe@photo.test", Name: "Zoe", Role: parley.RoleAgent, MaxConcurrent: 2, Active: true}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UserPhoto(ctx, f.account.ID, u.ID); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("a photo before one was given: %v", err)
	}
	first, second := []byte("\x89PNG first"), []byte("\x89PNG second")
	set, err := s.SetUserPhoto(ctx, f.account.ID, u.ID, first)
	if err != nil || set.Photo == "" || set.Name != "Zoe" {
		t.Fatalf("set: %+v, %v", set, err)
	}
	got, token, err := s.UserPhoto(ctx, f.account.ID, u.ID)
	if err != nil || !bytes.Equal(got, first) || token != set.Photo {
		t.Fatalf("read back: %q %q %v (want the token %q)", got, token, err, set.Photo)
	}
	if found, _ := s.FindUser(ctx, f.account.ID, u.ID); found.Photo != set.Photo {
		t.Fatalf("FindUser's photo token %q, want %q", found.Photo, set.Photo)
	}
	users, _ := s.ListUsers(ctx, f.account.ID)
	for _, lu := range users {
		if lu.ID == u.ID && lu.Photo != set.Photo {
			t.Fatalf("ListUsers' photo token %q, want %q", lu.Photo, set.Photo)
		}
	}
	// Another account: not found either way, and nothing changed.
	if _, _, err := s.UserPhoto(ctx, other.account.ID, u.ID); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("read from another account: %v", err)
	}
	if _, err := s.SetUserPhoto(ctx, other.account.ID, u.ID, second); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("set from another account: %v", err)
	}
	if got, _, _ := s.UserPhoto(ctx, f.account.ID, u.ID); !bytes.Equal(got, first) {
		t.Fatalf("another account changed the photo: %q", got)
	}
	// A new photo, a new token; the same bytes, the same token.
	again, _ := s.SetUserPhoto(ctx, f.account.ID, u.ID, second)
	if again.Photo == set.Photo || again.Photo == "" {
		t.Fatalf("a new photo kept the token %q", again.Photo)
	}
	if same, _ := s.SetUserPhoto(ctx, f.account.ID, u.ID, second); same.Photo != again.Photo {
		t.Fatalf("the same photo twice: tokens %q and %q", again.Photo, same.Photo)
	}
	// Other edits keep it.
	renamed, _, err := s.ChangeUser(ctx, f.account.ID, u.ID, nil, func(x *parley.User) error { x.Name = "Zoe Q"; x.Photo = ""; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if found, _ := s.FindUser(ctx, f.account.ID, u.ID); found.Photo != again.Photo || renamed.Name != "Zoe Q" || renamed.Photo != again.Photo {
		t.Fatalf("after a rename: photo %q, want %q", found.Photo, again.Photo)
	}
	if _, token, _ := s.UserPhoto(ctx, f.account.ID, u.ID); token != again.Photo {
		t.Fatalf("after a rename the photo's token is %q", token)
	}
	// Removed.
	gone, err := s.SetUserPhoto(ctx, f.account.ID, u.ID, nil)
	if err != nil || gone.Photo != "" {
		t.Fatalf("removed: %+v, %v", gone, err)
	}
	if _, _, err := s.UserPhoto(ctx, f.account.ID, u.ID); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("a removed photo: %v", err)
	}
	if found, _ := s.FindUser(ctx, f.account.ID, u.ID); found.Photo != "" {
		t.Fatalf("a removed photo's token: %q", found.Photo)
	}
	updated := 0
	for _, e := range rec.snapshot() {
		if e.Type == parley.EventUserUpdated && e.AccountID == f.account.ID {
			updated++
		}
	}
	if updated < 5 { // first, second, the same again, the rename, the removal
		t.Fatalf("%d user.updated events; want one per change", updated)
	}
}
