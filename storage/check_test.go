package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"kimibot/storage"
)

// MustDatabaseFile creates a database with a thread in it and closes it.
func MustDatabaseFile(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "kimibot.db")
	s, err := storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// MustDamage overwrites the file's pages after the two meta pages.
func MustDamage(tb testing.TB, path string, from int64) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	junk := make([]byte, st.Size()-from)
	for i := range junk {
		junk[i] = byte(0xA5 ^ i)
	}
	if _, err := f.WriteAt(junk, from); err != nil {
		tb.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	t.Run("healthy", func(t *testing.T) {
		if err := storage.Check(ctx, MustDatabaseFile(t)); err != nil {
			t.Fatalf("Check = %v, want nil", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		err := storage.Check(ctx, filepath.Join(t.TempDir(), "none.db"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Check = %v, want a not-exist error", err)
		}
	})
	t.Run("locked", func(t *testing.T) {
		path := MustDatabaseFile(t)
		s, err := storage.Open(path, storage.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := storage.Check(ctx, path); !errors.Is(err, storage.ErrLocked) {
			t.Fatalf("Check = %v, want ErrLocked", err)
		}
	})
	for _, tc := range []struct {
		name string
		from int64
	}{
		{"meta pages", 0},
		{"data pages", 2 * int64(os.Getpagesize())},
	} {
		t.Run("damaged "+tc.name, func(t *testing.T) {
			path := MustDatabaseFile(t)
			MustDamage(t, path, tc.from)
			if err := storage.Check(ctx, path); !errors.Is(err, storage.ErrDamaged) {
				t.Fatalf("Check = %v, want ErrDamaged", err)
			}
		})
	}
	t.Run("not a database", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "notes.txt")
		if err := os.WriteFile(path, []byte("hello"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := storage.Check(ctx, path); !errors.Is(err, storage.ErrDamaged) {
			t.Fatalf("Check = %v, want ErrDamaged", err)
		}
	})
}
