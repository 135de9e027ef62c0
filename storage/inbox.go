package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

// Errors for inbox items that cannot be stored.
var (
	errInboxID     = errors.New("inbox item needs an id")
	errInboxThread = errors.New("inbox item needs a thread")
)

var _ conversation.InboxStore = (*Store)(nil)

// Accept stores item in the durable inbox and records its dedupe keys as
// processed (as MarkProcessed does, at the store's clock), in one
// transaction. If a key was processed within the event TTL, or an item with
// the same ID is pending, nothing is written and dup is true. The item's
// Seq comes from the store's arrival sequence, Attempts starts at zero and
// a zero Accepted becomes the store's clock.
func (s *Store) Accept(ctx context.Context, item conversation.InboxItem) (dup bool, err error) {
	if item.ID == "" {
		return false, fmt.Errorf("accept event: %w", errInboxID)
	}
	if item.Thread == "" {
		return false, fmt.Errorf("accept event %s: %w", item.ID, errInboxThread)
	}
	now := s.now()
	err = s.batch(ctx, func(tx *bolt.Tx) error {
		dup = tx.Bucket(bucketInboxIDs).Get([]byte(item.ID)) != nil || s.processed(tx, now, item.DedupeKeys)
		if dup {
			return nil
		}
		if _, err := s.markProcessed(tx, now, item.DedupeKeys); err != nil {
			return err
		}
		return putInbox(tx, &item, now)
	})
	if err != nil {
		return false, fmt.Errorf("accept event %s: %w", item.ID, err)
	}
	return dup, nil
}

// putInbox assigns the item's sequence and writes it with its ID index.
func putInbox(tx *bolt.Tx, item *conversation.InboxItem, now time.Time) error {
	inbox := tx.Bucket(bucketInbox)
	seq, err := inbox.NextSequence()
	if err != nil {
		return err
	}
	item.Seq, item.Attempts = seq, 0
	if item.Accepted.IsZero() {
		item.Accepted = now
	}
	if err := tx.Bucket(bucketInboxIDs).Put([]byte(item.ID), u64(seq)); err != nil {
		return err
	}
	return putJSON(inbox, u64(seq), item)
}

// Pending returns the accepted items not yet done, in arrival order.
func (s *Store) Pending(ctx context.Context) ([]conversation.InboxItem, error) {
	var out []conversation.InboxItem
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInbox).ForEach(func(_, v []byte) error {
			var it conversation.InboxItem
			if err := json.Unmarshal(v, &it); err != nil {
				return fmt.Errorf("decode inbox item: %w", err)
			}
			out = append(out, it)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list pending events: %w", err)
	}
	return out, nil
}

// Begin counts one more attempt at the pending item id and returns the new
// count, 1 on the first start; an item that is not pending gives
// conversation.ErrNotFound.
func (s *Store) Begin(ctx context.Context, id string) (attempt int, err error) {
	err = s.batch(ctx, func(tx *bolt.Tx) error {
		key, it, err := loadInbox(tx, id)
		if err != nil {
			return err
		}
		it.Attempts++
		attempt = it.Attempts
		return putJSON(tx.Bucket(bucketInbox), key, it)
	})
	if err != nil {
		return 0, fmt.Errorf("begin event %s: %w", id, err)
	}
	return attempt, nil
}

// Done removes the item id from the inbox; an item that is not pending is
// not an error. Its dedupe keys stay recorded until they expire.
func (s *Store) Done(ctx context.Context, id string) error {
	err := s.batch(ctx, func(tx *bolt.Tx) error { return doneTx(tx, id) })
	if err != nil {
		return fmt.Errorf("finish event %s: %w", id, err)
	}
	return nil
}

// doneTx is Done inside tx.
func doneTx(tx *bolt.Tx, id string) error {
	ids := tx.Bucket(bucketInboxIDs)
	key := ids.Get([]byte(id))
	if key == nil {
		return nil
	}
	if err := tx.Bucket(bucketInbox).Delete(key); err != nil {
		return err
	}
	return ids.Delete([]byte(id))
}

// loadInbox returns the key and the record of the pending item id.
func loadInbox(tx *bolt.Tx, id string) ([]byte, conversation.InboxItem, error) {
	var it conversation.InboxItem
	key := tx.Bucket(bucketInboxIDs).Get([]byte(id))
	if key == nil {
		return nil, it, conversation.ErrNotFound
	}
	v := tx.Bucket(bucketInbox).Get(key)
	if v == nil {
		return nil, it, conversation.ErrNotFound
	}
	if err := json.Unmarshal(v, &it); err != nil {
		return nil, it, fmt.Errorf("decode inbox item: %w", err)
	}
	return append([]byte(nil), key...), it, nil
}
