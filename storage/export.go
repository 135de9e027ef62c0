package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

// Sink receives the whole content of a store from Export, for copying it
// into another store. Messages come with their generation, so that the
// history before a reset is copied too.
type Sink interface {
	Thread(ctx context.Context, th conversation.Thread) error
	Message(ctx context.Context, key conversation.ThreadKey, generation int, m conversation.Message) error
	// Ref records the thread of a message ref, keyed "platform/channel/id".
	Ref(ctx context.Context, ref string, key conversation.ThreadKey) error
	Event(ctx context.Context, id string, at time.Time) error
	// Setting is keyed "kind/platform/id/name".
	Setting(ctx context.Context, key, value string) error
	Usage(ctx context.Context, rec conversation.UsageRecord) error
	Draft(ctx context.Context, d conversation.Draft) error
	Audit(ctx context.Context, rec conversation.AuditRecord) error
	// Inbox receives the pending items in arrival order, with their attempts.
	Inbox(ctx context.Context, it conversation.InboxItem) error
	Reply(ctx context.Context, r conversation.ReplyRecord) error
}

// Export hands every record of the store to sink, in one read transaction.
func (s *Store) Export(ctx context.Context, sink Sink) error {
	err := s.view(ctx, func(tx *bolt.Tx) error {
		for _, step := range []func(context.Context, *bolt.Tx, Sink) error{
			exportThreads, exportKV, exportRecords, exportDurable,
		} {
			if err := step(ctx, tx, sink); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export database %s: %w", s.path, err)
	}
	return nil
}

// exportThreads hands over the threads with every generation's messages.
func exportThreads(ctx context.Context, tx *bolt.Tx, sink Sink) error {
	msgs := tx.Bucket(bucketMessages)
	return tx.Bucket(bucketThreads).ForEach(func(k, v []byte) error {
		var th conversation.Thread
		if err := json.Unmarshal(v, &th); err != nil {
			return fmt.Errorf("decode thread %s: %w", k, err)
		}
		if err := sink.Thread(ctx, th); err != nil {
			return err
		}
		mb := msgs.Bucket(k)
		if mb == nil {
			return nil
		}
		return mb.ForEach(func(mk, mv []byte) error {
			var m conversation.Message
			if err := json.Unmarshal(mv, &m); err != nil || len(mk) != 16 {
				return fmt.Errorf("decode message %x of thread %s: %v", mk, k, err)
			}
			return sink.Message(ctx, th.Key, int(decodeU64(mk[:8])), m)
		})
	})
}

// exportKV hands over refs, processed events and settings.
func exportKV(ctx context.Context, tx *bolt.Tx, sink Sink) error {
	err := tx.Bucket(bucketRefs).ForEach(func(k, v []byte) error {
		return sink.Ref(ctx, string(k), conversation.ThreadKey(v))
	})
	if err != nil {
		return err
	}
	err = tx.Bucket(bucketEvents).ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return nil
		}
		return sink.Event(ctx, string(k), decodeNano(v))
	})
	if err != nil {
		return err
	}
	return tx.Bucket(bucketSettings).ForEach(func(k, v []byte) error {
		return sink.Setting(ctx, string(k), string(v))
	})
}

// exportRecords hands over usage, drafts and the audit trail.
func exportRecords(ctx context.Context, tx *bolt.Tx, sink Sink) error {
	err := eachJSON(tx.Bucket(bucketUsage), func(rec conversation.UsageRecord) error { return sink.Usage(ctx, rec) })
	if err != nil {
		return err
	}
	if err := eachJSON(tx.Bucket(bucketDrafts), func(d conversation.Draft) error { return sink.Draft(ctx, d) }); err != nil {
		return err
	}
	return eachJSON(tx.Bucket(bucketAudit), func(rec conversation.AuditRecord) error { return sink.Audit(ctx, rec) })
}

// exportDurable hands over the inbox and the open replies.
func exportDurable(ctx context.Context, tx *bolt.Tx, sink Sink) error {
	err := eachJSON(tx.Bucket(bucketInbox), func(it conversation.InboxItem) error { return sink.Inbox(ctx, it) })
	if err != nil {
		return err
	}
	return eachJSON(tx.Bucket(bucketReplies), func(r conversation.ReplyRecord) error { return sink.Reply(ctx, r) })
}

// eachJSON decodes every value of b, in key order, and calls fn with it.
func eachJSON[T any](b *bolt.Bucket, fn func(T) error) error {
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("decode %T %x: %w", x, k, err)
		}
		return fn(x)
	})
}

// decodeU64 decodes an 8-byte big-endian key.
func decodeU64(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}
