package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrSchemaTooNew matches the error Open returns for a database written by
// a newer kimibot than this binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this kimibot")

// migrationLock is the advisory lock key that serializes migrations of
// replicas starting together.
const migrationLock = 0x6b696d69626f74

// migrations lists every schema change in order; version i+1 is migrations[i].
var migrations = []string{
	// Version 1: every table of the conversation stores.
	`CREATE TABLE kimibot_threads (
		key text PRIMARY KEY,
		active boolean NOT NULL,
		generation integer NOT NULL DEFAULT 0,
		created bigint NOT NULL,
		updated bigint NOT NULL,
		next_seq bigint NOT NULL DEFAULT 0
	);
	CREATE TABLE kimibot_messages (
		thread text NOT NULL,
		generation integer NOT NULL,
		seq bigint NOT NULL,
		data bytea NOT NULL,
		PRIMARY KEY (thread, generation, seq)
	);
	CREATE TABLE kimibot_refs (ref text PRIMARY KEY, thread text NOT NULL);
	CREATE TABLE kimibot_events (id text PRIMARY KEY, at bigint NOT NULL);
	CREATE INDEX kimibot_events_at ON kimibot_events (at);
	CREATE TABLE kimibot_settings (key text PRIMARY KEY, value text NOT NULL);
	CREATE TABLE kimibot_usage (
		id bigserial PRIMARY KEY,
		at bigint NOT NULL,
		platform text NOT NULL,
		usr text NOT NULL,
		channel text NOT NULL,
		thread text NOT NULL,
		data bytea NOT NULL
	);
	CREATE INDEX kimibot_usage_at ON kimibot_usage (at);
	CREATE TABLE kimibot_drafts (
		id text PRIMARY KEY,
		thread text NOT NULL,
		kind text NOT NULL,
		state text NOT NULL,
		created bigint NOT NULL,
		data bytea NOT NULL
	);
	CREATE INDEX kimibot_drafts_thread ON kimibot_drafts (thread, kind, state);
	CREATE INDEX kimibot_drafts_state ON kimibot_drafts (state, created);
	CREATE TABLE kimibot_audit (id bigserial PRIMARY KEY, at bigint NOT NULL, data bytea NOT NULL);
	CREATE INDEX kimibot_audit_at ON kimibot_audit (at, id);
	CREATE TABLE kimibot_inbox (
		seq bigserial PRIMARY KEY,
		id text NOT NULL UNIQUE,
		thread text NOT NULL,
		attempts integer NOT NULL DEFAULT 0,
		data bytea NOT NULL
	);
	CREATE TABLE kimibot_replies (id text PRIMARY KEY, thread text NOT NULL, started bigint NOT NULL, data bytea NOT NULL);
	CREATE TABLE kimibot_leases (name text PRIMARY KEY, holder text NOT NULL, expires timestamptz NOT NULL);`,
	// Version 2: the platform request budgets the replicas share.
	`CREATE TABLE kimibot_budget (key text NOT NULL, at timestamptz NOT NULL);
	CREATE INDEX kimibot_budget_key_at ON kimibot_budget (key, at);`,
}

// latestSchema is the schema version this binary writes.
var latestSchema = len(migrations)

// migrate runs the pending migrations in one transaction, holding an
// advisory lock, and returns the versions before and after.
func (s *Store) migrate(ctx context.Context) (from, to int, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("lock schema: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS kimibot_schema (version integer NOT NULL)`); err != nil {
			return fmt.Errorf("create schema table: %w", err)
		}
		err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM kimibot_schema`).Scan(&from)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if from > latestSchema {
			return fmt.Errorf("%w: database has version %d, this binary knows up to %d",
				ErrSchemaTooNew, from, latestSchema)
		}
		for v := from + 1; v <= latestSchema; v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migrate to version %d: %w", v, err)
			}
		}
		to = latestSchema
		if to == from {
			return nil
		}
		_, err = tx.Exec(ctx, `DELETE FROM kimibot_schema; INSERT INTO kimibot_schema (version) VALUES (`+
			fmt.Sprint(to)+`)`)
		return err
	})
	return from, to, err
}
