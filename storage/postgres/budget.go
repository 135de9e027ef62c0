package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Budgets are rate limits shared by the replicas: each rate-limited
// platform request is recorded under its key, and a replica sends it only
// when the replicas together stay within the limit. Times come from the
// database's clock. Get them from Store.Budgets.
type Budgets struct{ s *Store }

// Budgets returns the shared request budgets.
func (s *Store) Budgets() *Budgets { return &Budgets{s: s} }

// Take records one request under key when fewer than limit were recorded
// in the last window, and returns zero. Otherwise it records nothing and
// returns how long to wait before asking again. Replicas asking for one
// key at once are served one at a time.
func (b *Budgets) Take(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error) {
	var wait time.Duration
	err := b.s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 11))`, key); err != nil {
			return err
		}
		var (
			n      int
			waitUS *int64
		)
		err := tx.QueryRow(ctx, `WITH gone AS (
				DELETE FROM kimibot_budget WHERE key = $1 AND at <= clock_timestamp() - $2 * interval '1 microsecond')
			SELECT count(*), (extract(epoch FROM min(at) + $2 * interval '1 microsecond' - clock_timestamp()) * 1e6)::bigint
			FROM kimibot_budget WHERE key = $1 AND at > clock_timestamp() - $2 * interval '1 microsecond'`,
			key, window.Microseconds()).Scan(&n, &waitUS)
		if err != nil {
			return err
		}
		if n >= limit {
			if waitUS != nil {
				wait = max(time.Duration(*waitUS)*time.Microsecond, time.Millisecond)
			} else {
				wait = time.Millisecond
			}
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO kimibot_budget (key, at) VALUES ($1, clock_timestamp())`, key)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("take request budget %s: %w", key, err)
	}
	return wait, nil
}
