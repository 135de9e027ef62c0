package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"kimibot/conversation"
)

// Errors for inbox items that cannot be stored.
var (
	errInboxID     = errors.New("inbox item needs an id")
	errInboxThread = errors.New("inbox item needs a thread")
	// errDuplicate rolls back an Accept whose event was already processed.
	errDuplicate = errors.New("duplicate event")
)

// Accept stores item in the durable inbox and records its dedupe keys as
// processed (as MarkProcessed does, at the store's clock), in one
// transaction. If a key was processed within the event TTL, or an item with
// the same ID is pending, nothing is written and dup is true. Replicas
// accepting the same event at once are serialized by the unique keys: one
// stores it, the others see a duplicate.
func (s *Store) Accept(ctx context.Context, item conversation.InboxItem) (dup bool, err error) {
	if item.ID == "" {
		return false, fmt.Errorf("accept event: %w", errInboxID)
	}
	if item.Thread == "" {
		return false, fmt.Errorf("accept event %s: %w", item.ID, errInboxThread)
	}
	now := s.now()
	if item.Accepted.IsZero() {
		item.Accepted = now
	}
	item.Seq, item.Attempts = 0, 0
	data, err := json.Marshal(item)
	if err != nil {
		return false, fmt.Errorf("accept event %s: %w", item.ID, err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO kimibot_inbox (id, thread, data) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO NOTHING`, item.ID, string(item.Thread), data)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errDuplicate
		}
		d, err := s.markProcessed(ctx, tx, now, item.DedupeKeys)
		if err == nil && d {
			err = errDuplicate
		}
		return err
	})
	if errors.Is(err, errDuplicate) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("accept event %s: %w", item.ID, err)
	}
	return false, nil
}

// Pending returns the accepted items not yet done, in arrival order.
func (s *Store) Pending(ctx context.Context) ([]conversation.InboxItem, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, attempts, data FROM kimibot_inbox ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("list pending events: %w", err)
	}
	defer rows.Close()
	var out []conversation.InboxItem
	for rows.Next() {
		var (
			it   conversation.InboxItem
			seq  int64
			data []byte
		)
		if err := rows.Scan(&seq, &it.Attempts, &data); err != nil {
			return nil, fmt.Errorf("list pending events: %w", err)
		}
		attempts := it.Attempts
		if err := json.Unmarshal(data, &it); err != nil {
			return nil, fmt.Errorf("list pending events: decode inbox item: %w", err)
		}
		it.Seq, it.Attempts = uint64(seq), attempts
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pending events: %w", err)
	}
	return out, nil
}

// Begin counts one more attempt at the pending item id and returns the new
// count, 1 on the first start; an item that is not pending gives
// conversation.ErrNotFound.
func (s *Store) Begin(ctx context.Context, id string) (attempt int, err error) {
	err = s.pool.QueryRow(ctx, `UPDATE kimibot_inbox SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts`,
		id).Scan(&attempt)
	if noRows(err) {
		err = conversation.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("begin event %s: %w", id, err)
	}
	return attempt, nil
}

// Done removes the item id from the inbox; an item that is not pending is
// not an error. Its dedupe keys stay recorded until they expire.
func (s *Store) Done(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM kimibot_inbox WHERE id = $1`, id); err != nil {
		return fmt.Errorf("finish event %s: %w", id, err)
	}
	return nil
}
