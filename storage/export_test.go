package storage

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

// LatestSchema exposes the schema version this binary writes.
var LatestSchema = latestSchema

// WriteSchemaVersion stamps a closed database file with schema version v,
// creating the file and the meta bucket if needed, and nothing else.
func WriteSchemaVersion(tb testing.TB, path string, v uint64) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		tb.Fatalf("open raw database: %v", err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return meta.Put(keySchemaVersion, u64(v))
	})
	if err != nil {
		tb.Fatalf("write schema version: %v", err)
	}
}

// FileSchemaVersion reads the schema version of a closed database file.
func FileSchemaVersion(tb testing.TB, path string) uint64 {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		tb.Fatalf("open raw database: %v", err)
	}
	defer db.Close()
	var v uint64
	_ = db.View(func(tx *bolt.Tx) error {
		v = schemaVersion(tx)
		return nil
	})
	return v
}

// BucketLen counts the keys of each named top-level bucket, -1 for a
// missing bucket.
func (s *Store) BucketLen(tb testing.TB, names ...string) []int {
	tb.Helper()
	out := make([]int, len(names))
	err := s.db.View(func(tx *bolt.Tx) error {
		for i, name := range names {
			b := tx.Bucket([]byte(name))
			if b == nil {
				out[i] = -1
				continue
			}
			out[i] = b.Stats().KeyN
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("count bucket keys: %v", err)
	}
	return out
}

// DropDurableBuckets turns a closed current database file into a version 2
// file: it deletes the version 3 buckets and stamps version 2.
func DropDurableBuckets(tb testing.TB, path string) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		tb.Fatalf("open raw database: %v", err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketInbox, bucketInboxIDs, bucketReplies} {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, u64(2))
	})
	if err != nil {
		tb.Fatalf("drop version 3 buckets: %v", err)
	}
}
