package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

// MustOpen opens a fresh store in the test's temporary directory.
func MustOpen(tb testing.TB) *storage.Store {
	tb.Helper()
	return storagetest.MustOpen(tb)
}

// tempDB returns a database path in a fresh temporary directory.
func tempDB(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(tb.TempDir(), "kimibot.db")
}

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		path := tempDB(t)
		s := storagetest.MustOpenAt(t, path, storage.Options{})
		if s.Path() != path {
			t.Errorf("Path() = %q, want %q", s.Path(), path)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("file mode = %v, want 0600", perm)
		}
	})
	t.Run("ErrLocked", func(t *testing.T) {
		path := tempDB(t)
		first := storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
		_, err := storage.Open(path, storage.Options{Timeout: 100 * time.Millisecond})
		if !errors.Is(err, storage.ErrLocked) {
			t.Fatalf("second Open error = %v, want ErrLocked", err)
		}
		want := "database " + path + " is locked by another kimibot process"
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		storagetest.MustOpenAt(t, path, storage.Options{Timeout: 100 * time.Millisecond})
	})
	t.Run("ErrNotDatabase", func(t *testing.T) {
		path := tempDB(t)
		if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := storage.Open(path, storage.Options{})
		if err == nil || !strings.Contains(err.Error(), "open database "+path) {
			t.Fatalf("Open of a non-database file: error = %v", err)
		}
	})
}

func TestMigrations(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(tb testing.TB, path string)
	}{
		{"NoFile", func(testing.TB, string) {}},
		{"EmptyV0", func(tb testing.TB, path string) { storage.WriteSchemaVersion(tb, path, 0) }},
		{"Current", func(tb testing.TB, path string) {
			s := storagetest.MustOpenAt(tb, path, storage.Options{NoSync: true})
			if _, err := s.Append(context.Background(), "slack/T/C/1", conversation.Message{Role: conversation.RoleUser, Text: "kept"}); err != nil {
				tb.Fatal(err)
			}
			if err := s.Close(); err != nil {
				tb.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempDB(t)
			tt.prepare(t, path)
			s := storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
			ctx := context.Background()
			if _, err := s.Append(ctx, "slack/T/C/2", conversation.Message{Role: conversation.RoleUser, Text: "hi"}); err != nil {
				t.Fatalf("append after migration: %v", err)
			}
			if _, err := s.MarkProcessed(ctx, time.Now(), "ev"); err != nil {
				t.Fatalf("mark after migration: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if got := storage.FileSchemaVersion(t, path); got != storage.LatestSchema {
				t.Errorf("schema version = %d, want %d", got, storage.LatestSchema)
			}
		})
	}
	t.Run("ErrSchemaTooNew", func(t *testing.T) {
		path := tempDB(t)
		future := storage.LatestSchema + 1
		storage.WriteSchemaVersion(t, path, future)
		_, err := storage.Open(path, storage.Options{})
		if !errors.Is(err, storage.ErrSchemaTooNew) {
			t.Fatalf("Open error = %v, want ErrSchemaTooNew", err)
		}
		if got := storage.FileSchemaVersion(t, path); got != future {
			t.Errorf("refused file's schema version changed to %d", got)
		}
	})
}

func TestCanceledContext(t *testing.T) {
	s := MustOpen(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	key := conversation.ThreadKey("slack/T/C/1")
	calls := map[string]func() error{
		"Append":    func() error { _, err := s.Append(ctx, key, conversation.Message{Text: "x"}); return err },
		"Messages":  func() error { _, err := s.Messages(ctx, key); return err },
		"SetActive": func() error { return s.SetActive(ctx, key, true) },
		"Mark":      func() error { _, err := s.MarkProcessed(ctx, time.Now(), "e"); return err },
		"Setting": func() error {
			return s.SetSetting(ctx, conversation.Scope{Kind: conversation.ScopeUser, Platform: "slack", ID: "U1"}, "model", "m")
		},
		"Usage": func() error { return s.RecordUsage(ctx, storage.UsageRecord{Thread: string(key)}) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with canceled ctx: error = %v, want context.Canceled", name, err)
		}
	}
	if _, err := s.Thread(context.Background(), key); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("thread written despite canceled ctx: %v", err)
	}
}
