// Package storagetest opens real storage.Store files for tests of other
// packages.
package storagetest

import (
	"path/filepath"
	"testing"

	"kimibot/storage"
)

// MustOpen opens a fresh store in a temporary directory, without fsync, and
// closes it when the test ends.
func MustOpen(tb testing.TB) *storage.Store {
	tb.Helper()
	return MustOpenAt(tb, filepath.Join(tb.TempDir(), "kimibot.db"), storage.Options{NoSync: true})
}

// MustOpenAt opens the store at path with opts, failing the test on error,
// and closes it when the test ends. Closing it earlier is allowed.
func MustOpenAt(tb testing.TB, path string, opts storage.Options) *storage.Store {
	tb.Helper()
	s, err := storage.Open(path, opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}
