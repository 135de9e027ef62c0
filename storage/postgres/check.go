package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Redact returns dsn without its password, for what people read.
func Redact(dsn string) string { return redact(dsn) }

// Check connects to the database at dsn and reads its schema version
// without changing anything. It fails when the database cannot be
// reached, or with ErrSchemaTooNew when a newer kimibot wrote it; version
// 0 means kimibot has not created its tables there yet. Errors never hold
// the password.
func Check(ctx context.Context, dsn string) (version int, err error) {
	where := redact(dsn)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return 0, fmt.Errorf("check database %s: invalid url", where)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("check database %s: %w", where, redactErr(err, cfg.Password))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('kimibot_schema') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("check database %s: %w", where, err)
	}
	if !exists {
		return 0, nil
	}
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM kimibot_schema`).Scan(&version); err != nil {
		return 0, fmt.Errorf("check database %s: read schema version: %w", where, err)
	}
	if version > latestSchema {
		return version, fmt.Errorf("check database %s: %w: version %d, this binary knows up to %d",
			where, ErrSchemaTooNew, version, latestSchema)
	}
	return version, nil
}

// redactErr hides password in err's text, should a driver message repeat it.
func redactErr(err error, password string) error {
	if password == "" || err == nil {
		return err
	}
	return redactedError{err: err, password: password}
}

type redactedError struct {
	err      error
	password string
}

func (e redactedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.password, "xxxxx")
}

func (e redactedError) Unwrap() error { return e.err }
