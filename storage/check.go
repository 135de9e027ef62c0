package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// CheckTimeout is how long Check waits for the file lock.
const CheckTimeout = 500 * time.Millisecond

// ErrDamaged matches (with errors.Is) the error Check returns for a file
// that bbolt cannot open or whose pages are inconsistent.
var ErrDamaged = errors.New("database damaged")

// Check opens the database at path read-only, without creating it, and
// verifies its page structure and schema. It returns ErrLocked (matched
// with errors.Is) when another process holds the file, an error matching
// ErrDamaged for a corrupt file, and os.ErrNotExist for a missing one.
// A panic of bbolt on a damaged file is returned as an error.
func Check(ctx context.Context, path string) (err error) {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("check database %s: %w", path, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("check database %s: %w: %v", path, ErrDamaged, r)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: CheckTimeout, ReadOnly: true})
	if errors.Is(err, berrors.ErrTimeout) {
		return &lockedError{path: path, timeout: CheckTimeout}
	}
	if err != nil {
		return fmt.Errorf("check database %s: %w: %w", path, ErrDamaged, err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		var first error
		for cerr := range tx.Check() {
			// Drain every report: the checker runs until it has sent them all.
			if first == nil {
				first = cerr
			}
		}
		if first != nil {
			return fmt.Errorf("check database %s: %w: %w", path, ErrDamaged, first)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return checkSchema(tx, path)
	})
}

// checkSchema verifies that the schema is one this binary knows and that
// the buckets of its version exist.
func checkSchema(tx *bolt.Tx, path string) error {
	v := schemaVersion(tx)
	if v > latestSchema {
		return fmt.Errorf("check database %s: %w: file has version %d, this binary knows up to %d",
			path, ErrSchemaTooNew, v, latestSchema)
	}
	want := [][]byte{}
	if v >= 1 {
		want = append(want, bucketMeta, bucketThreads, bucketMessages, bucketRefs, bucketEvents, bucketEventTime,
			bucketSettings, bucketUsage)
	}
	if v >= 2 {
		want = append(want, bucketDrafts, bucketDraftsThread, bucketAudit)
	}
	for _, name := range want {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("check database %s: %w: schema version %d lacks bucket %s", path, ErrDamaged, v, name)
		}
	}
	return nil
}
