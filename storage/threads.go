package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

// errInvalidRef rejects message refs that cannot be indexed.
var errInvalidRef = errors.New("message ref needs a platform and an id")

// Append stores msgs at the end of the thread in one transaction, creating
// the thread (active) if it does not exist, and returns them with Seq set.
// Messages without a Time get the store's clock.
func (s *Store) Append(ctx context.Context, key conversation.ThreadKey, msgs ...conversation.Message) ([]conversation.Message, error) {
	now := s.now()
	out := make([]conversation.Message, len(msgs))
	err := s.batch(ctx, func(tx *bolt.Tx) error { return appendTx(tx, key, now, msgs, out) })
	if err != nil {
		return nil, fmt.Errorf("append to thread %s: %w", key, err)
	}
	return out, nil
}

// appendTx is Append inside tx: it stores msgs, with Seq and Time set, in
// out.
func appendTx(tx *bolt.Tx, key conversation.ThreadKey, now time.Time, msgs, out []conversation.Message) error {
	th, err := loadThread(tx, key)
	if errors.Is(err, conversation.ErrNotFound) {
		th = conversation.Thread{Key: key, Active: true, Created: now}
	} else if err != nil {
		return err
	}
	th.Updated = now
	mb, err := tx.Bucket(bucketMessages).CreateBucketIfNotExists([]byte(key))
	if err != nil {
		return err
	}
	for i, m := range msgs {
		if m.Seq, err = mb.NextSequence(); err != nil {
			return err
		}
		if m.Time.IsZero() {
			m.Time = now
		}
		if err := putJSON(mb, messageKey(th.Generation, m.Seq), m); err != nil {
			return err
		}
		out[i] = m
	}
	return putThread(tx, th)
}

// Messages returns the messages of the thread's current generation, oldest
// first; a thread that does not exist has none.
func (s *Store) Messages(ctx context.Context, key conversation.ThreadKey) ([]conversation.Message, error) {
	var out []conversation.Message
	err := s.view(ctx, func(tx *bolt.Tx) error {
		th, err := loadThread(tx, key)
		if errors.Is(err, conversation.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		mb := tx.Bucket(bucketMessages).Bucket([]byte(key))
		if mb == nil {
			return nil
		}
		prefix := u64(uint64(th.Generation))
		c := mb.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var m conversation.Message
			if err := json.Unmarshal(v, &m); err != nil {
				return fmt.Errorf("decode message %x: %w", k, err)
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load thread %s: %w", key, err)
	}
	return out, nil
}

// Thread returns the thread's state, or conversation.ErrNotFound.
func (s *Store) Thread(ctx context.Context, key conversation.ThreadKey) (conversation.Thread, error) {
	var th conversation.Thread
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		th, err = loadThread(tx, key)
		return err
	})
	if err != nil {
		return conversation.Thread{}, fmt.Errorf("load thread %s: %w", key, err)
	}
	return th, nil
}

// SetActive makes the bot follow (true) or leave (false) the thread,
// creating the thread record if it does not exist yet.
func (s *Store) SetActive(ctx context.Context, key conversation.ThreadKey, active bool) error {
	now := s.now()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		th, err := loadThread(tx, key)
		if errors.Is(err, conversation.ErrNotFound) {
			th = conversation.Thread{Key: key, Created: now}
		} else if err != nil {
			return err
		}
		th.Active = active
		th.Updated = now
		return putThread(tx, th)
	})
	if err != nil {
		return fmt.Errorf("set thread %s active=%t: %w", key, active, err)
	}
	return nil
}

// Reset starts a new generation of the thread, so Messages no longer returns
// what came before. The older messages stay in the file. Resetting a thread
// that does not exist does nothing.
func (s *Store) Reset(ctx context.Context, key conversation.ThreadKey) error {
	now := s.now()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		th, err := loadThread(tx, key)
		if errors.Is(err, conversation.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		th.Generation++
		th.Updated = now
		return putThread(tx, th)
	})
	if err != nil {
		return fmt.Errorf("reset thread %s: %w", key, err)
	}
	return nil
}

// IndexRefs records that the platform messages refs belong to the thread.
// A ref indexed again moves to the new thread.
func (s *Store) IndexRefs(ctx context.Context, key conversation.ThreadKey, refs ...conversation.MsgRef) error {
	err := s.batch(ctx, func(tx *bolt.Tx) error { return indexRefsTx(tx, key, refs) })
	if err != nil {
		return fmt.Errorf("index refs of thread %s: %w", key, err)
	}
	return nil
}

// indexRefsTx is IndexRefs inside tx.
func indexRefsTx(tx *bolt.Tx, key conversation.ThreadKey, refs []conversation.MsgRef) error {
	b := tx.Bucket(bucketRefs)
	for _, ref := range refs {
		k, err := refKey(ref)
		if err != nil {
			return err
		}
		if err := b.Put(k, []byte(key)); err != nil {
			return err
		}
	}
	return nil
}

// ThreadByRef returns the thread a platform message belongs to, matching
// platform, channel and id exactly, or conversation.ErrNotFound.
func (s *Store) ThreadByRef(ctx context.Context, ref conversation.MsgRef) (conversation.ThreadKey, error) {
	var key conversation.ThreadKey
	err := s.view(ctx, func(tx *bolt.Tx) error {
		k, err := refKey(ref)
		if err != nil {
			return err
		}
		v := tx.Bucket(bucketRefs).Get(k)
		if v == nil {
			return conversation.ErrNotFound
		}
		key = conversation.ThreadKey(v)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("find thread of message %s/%s/%s: %w", ref.Platform, ref.Channel, ref.ID, err)
	}
	return key, nil
}

// loadThread reads a thread record, or returns conversation.ErrNotFound.
func loadThread(tx *bolt.Tx, key conversation.ThreadKey) (conversation.Thread, error) {
	var th conversation.Thread
	v := tx.Bucket(bucketThreads).Get([]byte(key))
	if v == nil {
		return th, conversation.ErrNotFound
	}
	if err := json.Unmarshal(v, &th); err != nil {
		return th, fmt.Errorf("decode thread record: %w", err)
	}
	return th, nil
}

// putThread writes a thread record.
func putThread(tx *bolt.Tx, th conversation.Thread) error {
	return putJSON(tx.Bucket(bucketThreads), []byte(th.Key), th)
}

// putJSON stores v encoded as JSON under k.
func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	return b.Put(k, data)
}

// messageKey orders messages by generation, then sequence.
func messageKey(generation int, seq uint64) []byte {
	k := make([]byte, 0, 16)
	k = append(k, u64(uint64(generation))...)
	return append(k, u64(seq)...)
}

// refKey is "platform/channel/id".
func refKey(ref conversation.MsgRef) ([]byte, error) {
	if ref.Platform == "" || ref.ID == "" {
		return nil, errInvalidRef
	}
	return []byte(ref.Platform + "/" + ref.Channel + "/" + ref.ID), nil
}
