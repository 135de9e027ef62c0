package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

// DefaultExpiryInterval is how often RunExpiry runs when given no interval.
const DefaultExpiryInterval = conversation.DefaultExpiryInterval

// MarkProcessed records ids as processed at now, in one transaction, and
// reports whether any of them was already recorded no longer than the event
// TTL ago. Records older than the TTL count as new and are renewed; fresh
// ones keep their first time. Empty and repeated ids are ignored. A zero now
// means the store's clock.
func (s *Store) MarkProcessed(ctx context.Context, now time.Time, ids ...string) (dup bool, err error) {
	if now.IsZero() {
		now = s.now()
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		dup, err = s.markProcessed(tx, now, ids)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("mark %d events processed: %w", len(ids), err)
	}
	return dup, nil
}

// markProcessed is MarkProcessed inside tx: it records ids at now and
// reports whether any was already recorded within the TTL.
func (s *Store) markProcessed(tx *bolt.Tx, now time.Time, ids []string) (dup bool, err error) {
	events, byTime := tx.Bucket(bucketEvents), tx.Bucket(bucketEventTime)
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		if v := events.Get([]byte(id)); len(v) == 8 {
			at := decodeNano(v)
			if now.Sub(at) <= s.ttl {
				dup = true
				continue
			}
			if err := byTime.Delete(eventTimeKey(at, id)); err != nil {
				return false, err
			}
		}
		if err := events.Put([]byte(id), encodeNano(now)); err != nil {
			return false, err
		}
		if err := byTime.Put(eventTimeKey(now, id), nil); err != nil {
			return false, err
		}
	}
	return dup, nil
}

// processed reports whether any of ids was recorded no longer than the
// event TTL before now; it writes nothing.
func (s *Store) processed(tx *bolt.Tx, now time.Time, ids []string) bool {
	events := tx.Bucket(bucketEvents)
	for _, id := range ids {
		if v := events.Get([]byte(id)); id != "" && len(v) == 8 && now.Sub(decodeNano(v)) <= s.ttl {
			return true
		}
	}
	return false
}

// ExpireProcessed forgets the events recorded before before and returns how
// many it removed. It reads only the expired part of the time index.
func (s *Store) ExpireProcessed(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		events, byTime := tx.Bucket(bucketEvents), tx.Bucket(bucketEventTime)
		var expired [][]byte
		c := byTime.Cursor()
		for k, _ := c.First(); len(k) >= 8 && decodeNano(k[:8]).Before(before); k, _ = c.Next() {
			expired = append(expired, append([]byte(nil), k...))
		}
		for _, k := range expired {
			id := k[8:]
			if v := events.Get(id); len(v) == 8 && decodeNano(v).Equal(decodeNano(k[:8])) {
				if err := events.Delete(id); err != nil {
					return err
				}
			}
			if err := byTime.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("expire events before %s: %w", before.Format(time.RFC3339), err)
	}
	return n, nil
}

// RunExpiry expires processed events older than the event TTL at once and
// then every interval (DefaultExpiryInterval when every <= 0) until ctx ends.
// Failures are logged and retried at the next interval.
func (s *Store) RunExpiry(ctx context.Context, every time.Duration) {
	conversation.RunExpiry(ctx, s, s.ttl, every, s.now, s.logger)
}

// eventTimeKey orders the time index: big-endian nanoseconds, then the id.
func eventTimeKey(at time.Time, id string) []byte {
	k := make([]byte, 0, 8+len(id))
	k = append(k, encodeNano(at)...)
	return append(k, id...)
}

// encodeNano encodes a time as big-endian Unix nanoseconds.
func encodeNano(t time.Time) []byte {
	return u64(uint64(t.UnixNano()))
}

// decodeNano decodes encodeNano.
func decodeNano(b []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(b)))
}
