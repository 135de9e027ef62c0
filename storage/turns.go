package storage

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

var _ conversation.TurnStore = (*Store)(nil)

// EndTurn stores the end of a turn in one transaction: it appends the
// messages, indexes the refs, records the usage (a zero Time becomes the
// store's clock), closes the reply record and removes the inbox item.
func (s *Store) EndTurn(ctx context.Context, end conversation.TurnEnd) ([]conversation.Message, error) {
	now := s.now()
	usage := make([]conversation.UsageRecord, len(end.Usage))
	for i, rec := range end.Usage {
		if rec.Time.IsZero() {
			rec.Time = now
		}
		usage[i] = rec
	}
	out := make([]conversation.Message, len(end.Messages))
	appended := false
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		appended = len(end.Messages) > 0 && current(tx, end.Thread, end.AnswerTo)
		if appended {
			if err := appendTx(tx, end.Thread, now, end.Messages, out); err != nil {
				return err
			}
		}
		if err := indexRefsTx(tx, end.Thread, end.Refs); err != nil {
			return err
		}
		for _, rec := range usage {
			if err := putUsage(tx, rec); err != nil {
				return err
			}
		}
		if end.Reply != "" {
			if err := tx.Bucket(bucketReplies).Delete([]byte(end.Reply)); err != nil {
				return err
			}
		}
		if end.Item != "" {
			return doneTx(tx, end.Item)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("end turn in thread %s: %w", end.Thread, err)
	}
	if !appended {
		return nil, nil
	}
	return out, nil
}

// current reports whether message seq of thread key is in the thread's
// current generation; seq 0 always is.
func current(tx *bolt.Tx, key conversation.ThreadKey, seq uint64) bool {
	if seq == 0 {
		return true
	}
	th, err := loadThread(tx, key)
	mb := tx.Bucket(bucketMessages).Bucket([]byte(key))
	return err == nil && mb != nil && mb.Get(messageKey(th.Generation, seq)) != nil
}
