package sqlstore_test

import (
	"context"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/pgtest"
	"github.com/parleychat/parley/internal/sqlstore"
	"github.com/parleychat/parley/internal/storetest"
)

// openPostgres opens a store on a new PostgreSQL database of its own.
func openPostgres(t *testing.T, bus parley.Bus) parley.Store {
	t.Helper()
	db, err := sqlstore.OpenPostgres(context.Background(), pgtest.Database(t), sqlstore.Options{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformanceOnPostgres(t *testing.T) { storetest.Run(t, openPostgres) }
