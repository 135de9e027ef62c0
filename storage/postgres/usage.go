package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5/pgconn"

	"kimibot/conversation"
)

// RecordUsage stores one usage record.
func (s *Store) RecordUsage(ctx context.Context, rec conversation.UsageRecord) error {
	if rec.Time.IsZero() {
		rec.Time = s.now()
	}
	if err := insertUsage(ctx, s.pool, rec); err != nil {
		return fmt.Errorf("record usage of thread %s: %w", rec.Thread, err)
	}
	return nil
}

// execer runs a statement: the pool, or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// insertUsage stores rec, whose Time is set.
func insertUsage(ctx context.Context, db execer, rec conversation.UsageRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = db.Exec(ctx, `INSERT INTO kimibot_usage (at, platform, usr, channel, thread, data)
		VALUES ($1, $2, $3, $4, $5, $6)`, nano(rec.Time), rec.Platform, rec.User, rec.Channel, rec.Thread, data)
	return err
}

// UsageSum adds up the usage of the records that match f and returns the
// total and the number of records.
func (s *Store) UsageSum(ctx context.Context, f conversation.UsageFilter) (conversation.Usage, int, error) {
	since, until := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.Since.IsZero() {
		since = nano(f.Since)
	}
	if !f.Until.IsZero() {
		until = nano(f.Until)
	}
	rows, err := s.pool.Query(ctx, `SELECT data FROM kimibot_usage WHERE at >= $1 AND at < $2
		AND ($3 = '' OR platform = $3) AND ($4 = '' OR usr = $4) AND ($5 = '' OR channel = $5)
		AND ($6 = '' OR thread = $6) ORDER BY at, id`, since, until, f.Platform, f.User, f.Channel, f.Thread)
	var recs []conversation.UsageRecord
	if err == nil {
		recs, err = collectJSON[conversation.UsageRecord](rows)
	}
	if err != nil {
		return conversation.Usage{}, 0, fmt.Errorf("sum usage: %w", err)
	}
	var sum conversation.Usage
	for _, r := range recs {
		sum = sum.Add(r.Usage)
	}
	return sum, len(recs), nil
}
