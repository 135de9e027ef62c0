package storage

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

// UsageRecord is the token accounting of one model call.
type UsageRecord = conversation.UsageRecord

// UsageFilter selects usage records.
type UsageFilter = conversation.UsageFilter

var _ conversation.UsageStore = (*Store)(nil)

// RecordUsage stores one usage record, keyed by time so that ranges are cheap.
func (s *Store) RecordUsage(ctx context.Context, rec UsageRecord) error {
	if rec.Time.IsZero() {
		rec.Time = s.now()
	}
	err := s.batch(ctx, func(tx *bolt.Tx) error { return putUsage(tx, rec) })
	if err != nil {
		return fmt.Errorf("record usage of thread %s: %w", rec.Thread, err)
	}
	return nil
}

// putUsage stores rec, whose Time is set, keyed by time and sequence.
func putUsage(tx *bolt.Tx, rec UsageRecord) error {
	b := tx.Bucket(bucketUsage)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	k := append(encodeNano(rec.Time), u64(seq)...)
	return putJSON(b, k, rec)
}

// UsageSum adds up the usage of the records that match f and returns the
// total and the number of records. Only the requested time range is read.
func (s *Store) UsageSum(ctx context.Context, f UsageFilter) (conversation.Usage, int, error) {
	var (
		sum conversation.Usage
		n   int
	)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketUsage).Cursor()
		k, v := c.First()
		if !f.Since.IsZero() {
			k, v = c.Seek(encodeNano(f.Since))
		}
		for ; len(k) >= 8; k, v = c.Next() {
			if !f.Until.IsZero() && !decodeNano(k[:8]).Before(f.Until) {
				break
			}
			var rec UsageRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode usage record %x: %w", k, err)
			}
			if f.Match(rec) {
				sum = sum.Add(rec.Usage)
				n++
			}
		}
		return nil
	})
	if err != nil {
		return conversation.Usage{}, 0, fmt.Errorf("sum usage: %w", err)
	}
	return sum, n, nil
}
