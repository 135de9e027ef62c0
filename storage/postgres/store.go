// Package postgres keeps kimibot's conversations, processed events,
// settings, usage records, drafts, the audit trail, the durable inbox, open
// replies and thread leases in a PostgreSQL database, behind the
// conversation store interfaces, so that several replicas can share them.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kimibot/conversation"
)

// DefaultEventTTL is how long a processed event counts as a duplicate.
const DefaultEventTTL = 24 * time.Hour

// Options tune a Store. The zero value is ready for production use.
type Options struct {
	// EventTTL is how long a processed event counts as a duplicate;
	// DefaultEventTTL when zero.
	EventTTL time.Duration
	// Now is the clock for stored times; time.Now when nil. Leases use the
	// database's clock so that replicas agree on expiry.
	Now func() time.Time
	// Logger receives the store's logs; nothing is logged when nil.
	Logger *slog.Logger
	// MaxConns caps the connection pool; the pgx default when zero.
	MaxConns int32
}

// Store is the PostgreSQL implementation of the conversation stores. It
// is safe for concurrent use by many goroutines and many processes.
type Store struct {
	pool   *pgxpool.Pool
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger
	where  string
}

var (
	_ conversation.ThreadStore   = (*Store)(nil)
	_ conversation.EventStore    = (*Store)(nil)
	_ conversation.SettingsStore = (*Store)(nil)
	_ conversation.UsageStore    = (*Store)(nil)
	_ conversation.DraftStore    = (*Store)(nil)
	_ conversation.InboxStore    = (*Store)(nil)
	_ conversation.ReplyStore    = (*Store)(nil)
)

// IsURL reports whether dsn names a PostgreSQL database rather than a file.
func IsURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database at dsn (a postgres:// URL) and brings its
// schema up to date. Replicas starting together migrate one at a time.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	where := redact(dsn)
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: invalid url", where)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", where, err)
	}
	s := &Store{pool: pool, ttl: opts.EventTTL, now: opts.Now,
		logger: opts.Logger.With("component", "storage"), where: where}
	from, to, err := s.migrate(ctx)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database %s: %w", where, err)
	}
	s.logger.Info("database open", "url", where, "schema", to, "migrated_from", from)
	return s, nil
}

func (o Options) withDefaults() Options {
	if o.EventTTL <= 0 {
		o.EventTTL = DefaultEventTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// redact returns dsn without its password, for logs and errors.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	u.RawQuery = ""
	return u.String()
}

// Close releases the connections; closing twice is harmless.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Where returns the database URL without its password.
func (s *Store) Where() string { return s.where }

// inTx runs fn in a transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// nano encodes a time as Unix nanoseconds, the stored form of every time
// column, so that times round-trip exactly.
func nano(t time.Time) int64 { return t.UnixNano() }

// noRows reports whether err means that a query matched nothing.
func noRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
