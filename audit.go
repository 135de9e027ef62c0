package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// runAudit writes the support desk's audit trail as JSON lines:
//
//	kimibot audit --since 2026-11-01 [--db kimibot.db]
//
// The database is locked while the bot runs; audit a copy of the file, or
// stop the bot first.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", envOr("KIMIBOT_DB", "kimibot.db"), "bbolt database file or postgres:// URL")
	since := fs.String("since", "", "first moment to export: RFC 3339 time, a date (2006-01-02) or a duration back from now (24h)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	from, err := parseSince(*since, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "kimibot audit: %v\n", err)
		return 2
	}
	store, _, err := openStore(ctx, *db, "audit", slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stderr, "kimibot audit: %v\n", err)
		return 1
	}
	defer store.Close()
	if err := store.ExportAudit(ctx, from, stdout); err != nil {
		fmt.Fprintf(stderr, "kimibot audit: %v\n", err)
		return 1
	}
	return 0
}

// parseSince reads --since; empty means everything.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, errors.New("--since wants an RFC 3339 time, a date like 2026-11-01 or a duration like 24h")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
