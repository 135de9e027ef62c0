package storage

import (
	"context"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CheckTimeout is how long Check waits for the file lock.
const CheckTimeout = 500 * time.Millisecond

// Check verifies the database file at path without creating or changing
// it: it runs the checks Open runs before it opens a file for writing
// (every page read from the file, then bbolt's consistency check), and
// checks the schema. It returns ErrLocked (matched with errors.Is) when
// another process holds the file, a *DamagedError (ErrDamaged) for a
// damaged file, never a panic, and an error matching os.ErrNotExist for a
// missing one.
func Check(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("check database %s: %w", path, err)
	}
	db, err := boltOpen(path, Options{Timeout: CheckTimeout}, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := verify(db, path, true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error { return checkSchema(tx, path) })
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
	if v >= 3 {
		want = append(want, bucketInbox, bucketInboxIDs, bucketReplies)
	}
	for _, name := range want {
		if tx.Bucket(name) == nil {
			return &DamagedError{Path: path, Problem: fmt.Sprintf("schema version %d lacks bucket %s", v, name)}
		}
	}
	return nil
}
