package postgres

import (
	"context"
	"fmt"
	"time"
)

// Leases are named, expiring claims that let several replicas share the
// database: a replica runs a conversation, or a once-only job such as the
// draft reminders, only while it holds the lease. Expiry uses the
// database's clock. The zero value is not usable; get one from
// Store.Leases.
type Leases struct {
	s      *Store
	holder string
}

// Leases returns the leases taken in the name of holder, which must be
// unique among the replicas (for example the host name and the process
// start time).
func (s *Store) Leases(holder string) *Leases { return &Leases{s: s, holder: holder} }

// Holder returns the name the leases are taken in.
func (l *Leases) Holder() string { return l.holder }

// Acquire takes the lease name for ttl, or renews it when l holds it
// already, and reports whether l holds it now. A lease held by another
// holder is taken only once it has expired.
func (l *Leases) Acquire(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	rows, err := l.s.pool.Query(ctx, `INSERT INTO kimibot_leases AS l (name, holder, expires)
		VALUES ($1, $2, clock_timestamp() + $3 * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires = EXCLUDED.expires
		WHERE l.holder = EXCLUDED.holder OR l.expires < clock_timestamp()
		RETURNING holder`, name, l.holder, ttl.Microseconds())
	if err != nil {
		return false, fmt.Errorf("take lease %s: %w", name, err)
	}
	held := false
	for rows.Next() {
		held = true
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("take lease %s: %w", name, err)
	}
	return held, nil
}

// Release gives up the lease name if l holds it.
func (l *Leases) Release(ctx context.Context, name string) error {
	_, err := l.s.pool.Exec(ctx, `DELETE FROM kimibot_leases WHERE name = $1 AND holder = $2`, name, l.holder)
	if err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// Held returns the names of the leases that have not expired, whoever
// holds them.
func (l *Leases) Held(ctx context.Context) (map[string]bool, error) {
	rows, err := l.s.pool.Query(ctx, `SELECT name FROM kimibot_leases WHERE expires >= clock_timestamp()`)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list leases: %w", err)
		}
		out[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	return out, nil
}
