package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

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
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		dup, err = s.markProcessed(ctx, tx, now, ids)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("mark %d events processed: %w", len(ids), err)
	}
	return dup, nil
}

// markProcessed is MarkProcessed inside tx. The ids are written in sorted
// order so that concurrent transactions lock them in the same order; a
// concurrent writer of the same id waits for this one and then sees it.
func (s *Store) markProcessed(ctx context.Context, tx pgx.Tx, now time.Time, ids []string) (bool, error) {
	keys := uniqueKeys(ids)
	if len(keys) == 0 {
		return false, nil
	}
	rows, err := tx.Query(ctx, `INSERT INTO kimibot_events AS e (id, at) SELECT unnest($1::text[]), $2
		ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at WHERE e.at < $3
		RETURNING id`, keys, nano(now), nano(now.Add(-s.ttl)))
	if err != nil {
		return false, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	return n < len(keys), nil
}

// uniqueKeys returns the non-empty ids, sorted and without repeats.
func uniqueKeys(ids []string) []string {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			keys = append(keys, id)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// ExpireProcessed forgets the events recorded before before and returns how
// many it removed.
func (s *Store) ExpireProcessed(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM kimibot_events WHERE at < $1`, nano(before))
	if err != nil {
		return 0, fmt.Errorf("expire events before %s: %w", before.Format(time.RFC3339), err)
	}
	return int(tag.RowsAffected()), nil
}

// RunExpiry expires processed events older than the event TTL at once and
// then every interval (DefaultExpiryInterval when every <= 0) until ctx ends.
// Failures are logged and retried at the next interval.
func (s *Store) RunExpiry(ctx context.Context, every time.Duration) {
	conversation.RunExpiry(ctx, s, s.ttl, every, s.now, s.logger)
}
