package storage

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// keySchemaVersion holds the schema version in the meta bucket as a
// big-endian uint64. A file without it is version 0 (new or empty).
var keySchemaVersion = []byte("schema_version")

// ErrSchemaTooNew matches the error Open returns for a file written by a
// newer kimibot than this binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this kimibot")

// migration brings the schema from version-1 to version.
type migration struct {
	version uint64
	fn      func(tx *bolt.Tx) error
}

// migrations lists every schema change in order; versions count up from 1.
var migrations = []migration{
	{version: 1, fn: createBuckets},
	{version: 2, fn: createDraftBuckets},
	{version: 3, fn: createDurableBuckets},
}

// latestSchema is the schema version this binary writes.
var latestSchema = migrations[len(migrations)-1].version

// createBuckets is version 1: the top-level buckets of threads, events,
// settings and usage.
func createBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{
		bucketMeta, bucketThreads, bucketMessages, bucketRefs,
		bucketEvents, bucketEventTime, bucketSettings, bucketUsage,
	} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// createDraftBuckets is version 2: the drafts, their thread index and the
// audit trail.
func createDraftBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketDrafts, bucketDraftsThread, bucketAudit} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// createDurableBuckets is version 3: the durable inbox, its ID index and
// the open replies.
func createDurableBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketInbox, bucketInboxIDs, bucketReplies} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// migrate runs the pending migrations in one transaction and returns the
// versions before and after.
func (s *Store) migrate() (from, to uint64, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		from = schemaVersion(tx)
		to = from
		if from > latestSchema {
			return fmt.Errorf("%w: file has version %d, this binary knows up to %d",
				ErrSchemaTooNew, from, latestSchema)
		}
		for _, m := range migrations {
			if m.version <= from {
				continue
			}
			if err := m.fn(tx); err != nil {
				return fmt.Errorf("migrate to version %d: %w", m.version, err)
			}
			to = m.version
		}
		if to == from {
			return nil
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return fmt.Errorf("create bucket %s: %w", bucketMeta, err)
		}
		return meta.Put(keySchemaVersion, u64(to))
	})
	return from, to, err
}

// schemaVersion reads the stored version, 0 when there is none.
func schemaVersion(tx *bolt.Tx) uint64 {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0
	}
	v := meta.Get(keySchemaVersion)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// u64 encodes v as an 8-byte big-endian key.
func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}
