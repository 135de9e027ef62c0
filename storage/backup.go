package storage

import (
	"context"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the whole database to w while the
// store stays in use (one read transaction), and returns the bytes written.
// The copy is a database file of its own.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("back up database %s: %w", s.path, err)
	}
	return n, nil
}

// Verify checks a database file that no process is using, without changing
// it: it runs the checks Open runs before it opens a file for writing. A
// file that is not sound gives a *DamagedError.
func Verify(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("check database %s: %w", path, err)
	}
	db, err := boltOpen(path, Options{Timeout: DefaultTimeout}, true)
	if err != nil {
		return err
	}
	err = verify(db, path, true)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close database %s: %w", path, cerr)
	}
	return err
}
