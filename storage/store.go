// Package storage keeps kimibot's conversations, processed events, settings,
// usage records, drafts and their audit trail in one bbolt file, behind the
// conversation store interfaces.
package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"kimibot/conversation"
)

// Bucket names. The version 1 migration creates the buckets of threads,
// events, settings and usage; version 2 adds drafts and the audit trail;
// version 3 the durable inbox and the open replies.
var (
	bucketMeta      = []byte("meta")
	bucketThreads   = []byte("threads")
	bucketMessages  = []byte("messages")
	bucketRefs      = []byte("refs")
	bucketEvents    = []byte("events")
	bucketEventTime = []byte("events_by_time")
	bucketSettings  = []byte("settings")
	bucketUsage     = []byte("usage")

	bucketDrafts       = []byte("drafts")
	bucketDraftsThread = []byte("drafts_by_thread")
	bucketAudit        = []byte("audit")

	bucketInbox    = []byte("inbox")
	bucketInboxIDs = []byte("inbox_ids")
	bucketReplies  = []byte("replies")
)

// The defaults for zero Options fields.
const (
	// DefaultTimeout is how long Open waits for the file lock.
	DefaultTimeout = 2 * time.Second
	// DefaultEventTTL is how long a processed event counts as a duplicate.
	DefaultEventTTL = 24 * time.Hour
)

// ErrLocked matches (with errors.Is) the error Open returns when another
// process holds the database file.
var ErrLocked = errors.New("database locked by another process")

// lockedError names the locked file and how long Open waited for it.
type lockedError struct {
	path    string
	timeout time.Duration
}

func (e *lockedError) Error() string {
	return fmt.Sprintf("database %s is locked by another kimibot process (waited %s)", e.path, e.timeout)
}

func (e *lockedError) Is(target error) bool { return target == ErrLocked }

func (e *lockedError) Unwrap() error { return berrors.ErrTimeout }

// Options tune a Store. The zero value is ready for production use.
type Options struct {
	// Timeout bounds the wait for the file lock; DefaultTimeout when zero.
	// A second process opening the same file fails with ErrLocked.
	Timeout time.Duration
	// NoSync skips fsync after each commit. Use it only in tests and benchmarks.
	NoSync bool
	// EventTTL is how long a processed event counts as a duplicate;
	// DefaultEventTTL when zero.
	EventTTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives the store's logs; nothing is logged when nil.
	Logger *slog.Logger
}

// Store is the bbolt implementation of the conversation stores.
// It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	path   string
	ttl    time.Duration
	now    func() time.Time
	logger *slog.Logger
	// group commits the writes every turn makes.
	group committer
	// settings holds every setting in memory; the file is this process's alone.
	settings settingMemory
}

var (
	_ conversation.ThreadStore   = (*Store)(nil)
	_ conversation.EventStore    = (*Store)(nil)
	_ conversation.SettingsStore = (*Store)(nil)
)

// Open opens (creating if needed) the database at path, reads it through
// once to make sure it is sound, and brings its schema up to date. It fails
// with ErrLocked when another process holds the file, with ErrDamaged when
// the file is damaged (never with a panic), and with ErrSchemaTooNew when
// it was written by a newer kimibot with a schema this binary does not know.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	db, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{
		db:     db,
		group:  committer{db: db},
		path:   path,
		ttl:    opts.EventTTL,
		now:    opts.Now,
		logger: opts.Logger.With("component", "storage"),
	}
	var from, to uint64
	err = guard(path, func() error {
		var err error
		from, to, err = s.migrate()
		if err != nil {
			return err
		}
		return s.settings.load(db)
	})
	if err != nil {
		_ = db.Close()
		if errors.Is(err, ErrDamaged) {
			return nil, err
		}
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	s.logger.Info("database open", "path", path, "schema", to, "migrated_from", from)
	return s, nil
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
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

// Close releases the file; closing twice is harmless. Other methods fail
// after Close.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close database %s: %w", s.path, err)
	}
	return nil
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }

// view runs fn in a read transaction unless ctx is already done.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// update runs fn in a write transaction unless ctx is already done.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// batch is update for the writes every turn makes, and for accepting
// events: writes that arrive while another commits share the next
// transaction and its fsync (see committer), so that many conversations at
// once do not queue behind each other's commits, while a write alone
// commits at once. fn may run more than once, when another write of its
// transaction fails, so it must only set what it returns.
func (s *Store) batch(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.group.do(fn)
}
