package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/sqlite"
	"github.com/parleychat/parley/internal/storetest"
)

func open(t *testing.T, bus parley.Bus) parley.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "parley.db"), sqlite.Options{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsDataAndMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := &parley.Account{Name: "Acme"}
	if err := db.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	db.Close()
	applied, err := sqlite.Migrate(ctx, path)
	if err != nil || len(applied) == 0 {
		t.Fatalf("Migrate: %v %v", applied, err)
	}
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.FindAccount(ctx, a.ID); err != nil {
		t.Fatalf("account lost after reopen: %v", err)
	}
	wantCode := parley.EUNAVAILABLE
	db.Close()
	if err := db.CreateAccount(ctx, &parley.Account{Name: "late"}); parley.ErrorCode(err) != wantCode {
		t.Fatalf("write after Close: %v, want %s", err, wantCode)
	}
}
