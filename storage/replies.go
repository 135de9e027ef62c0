package storage

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

var _ conversation.ReplyStore = (*Store)(nil)

// OpenReply records r, which needs an ID and a thread. A zero State becomes
// conversation.ReplyStreaming and a zero Started the store's clock. Opening
// an ID again replaces its record.
func (s *Store) OpenReply(ctx context.Context, r conversation.ReplyRecord) error {
	r, err := r.Opening(s.now())
	if err != nil {
		return err
	}
	err = s.batch(ctx, func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketReplies), []byte(r.ID), r)
	})
	if err != nil {
		return fmt.Errorf("open reply %s: %w", r.ID, err)
	}
	return nil
}

// UpdateReply loads the record id (or fails with conversation.ErrNotFound),
// lets fn change it and stores it with Updated set to the store's clock, in
// one transaction. If fn returns an error nothing is written and the error
// is returned as is.
func (s *Store) UpdateReply(ctx context.Context, id string, fn func(r *conversation.ReplyRecord) error) (conversation.ReplyRecord, error) {
	var (
		r     conversation.ReplyRecord
		fnErr error
	)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketReplies)
		v := b.Get([]byte(id))
		if v == nil {
			return conversation.ErrNotFound
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode reply record: %w", err)
		}
		if fnErr = fn(&r); fnErr != nil {
			return fnErr
		}
		if r.ID != id {
			return conversation.ErrIdentity
		}
		r.Updated = s.now()
		return putJSON(b, []byte(id), r)
	})
	if fnErr != nil {
		return conversation.ReplyRecord{}, fnErr
	}
	if err != nil {
		return conversation.ReplyRecord{}, fmt.Errorf("update reply %s: %w", id, err)
	}
	return r, nil
}

// CloseReply forgets the record id; a record that is gone is not an error.
func (s *Store) CloseReply(ctx context.Context, id string) error {
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReplies).Delete([]byte(id))
	})
	if err != nil {
		return fmt.Errorf("close reply %s: %w", id, err)
	}
	return nil
}

// OpenReplies returns every recorded reply, oldest Started first (ties by ID).
func (s *Store) OpenReplies(ctx context.Context) ([]conversation.ReplyRecord, error) {
	var out []conversation.ReplyRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketReplies).ForEach(func(_, v []byte) error {
			var r conversation.ReplyRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode reply record: %w", err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list open replies: %w", err)
	}
	slices.SortFunc(out, func(a, b conversation.ReplyRecord) int {
		return cmp.Or(a.Started.Compare(b.Started), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}
