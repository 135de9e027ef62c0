package postgres_test

import (
	"context"
	"os"
	"testing"

	"kimibot/storage/postgres"
	"kimibot/storage/postgres/pgtest"
	"kimibot/storage/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// MustOpen opens a store on a fresh database of the test server and
// closes it when the test ends.
func MustOpen(t testing.TB, opts postgres.Options) *postgres.Store {
	t.Helper()
	return MustOpenURL(t, pgtest.MustDatabase(t), opts)
}

// MustOpenURL opens a store on the database at url.
func MustOpenURL(t testing.TB, url string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConformance runs the store conformance suite against PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, o storetest.Options) storetest.Store {
		return MustOpen(t, postgres.Options{EventTTL: o.EventTTL, Now: o.Now})
	})
}
