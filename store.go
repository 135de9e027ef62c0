package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"kimibot/adapters/discord"
	"kimibot/adapters/slack"
	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/postgres"
)

// appStore is every store the program uses: bbolt (one process) or
// PostgreSQL (several replicas).
type appStore interface {
	conversation.ThreadStore
	conversation.EventStore
	conversation.SettingsStore
	conversation.UsageStore
	conversation.DraftStore
	conversation.InboxStore
	conversation.ReplyStore
	conversation.TurnStore
	// RunExpiry forgets old processed events until ctx ends.
	RunExpiry(ctx context.Context, every time.Duration)
	// ExportAudit writes the audit trail since since as JSON lines.
	ExportAudit(ctx context.Context, since time.Time, w io.Writer) error
	Close() error
}

var (
	_ appStore       = (*storage.Store)(nil)
	_ appStore       = (*postgres.Store)(nil)
	_ bot.Leaser     = (*postgres.Leases)(nil)
	_ slack.Budget   = (*postgres.Budgets)(nil)
	_ discord.Budget = (*postgres.Budgets)(nil)
)

// shared is what replicas on one PostgreSQL database share besides the
// stores: the conversation leases and the platforms' request budgets. It
// is empty with bbolt.
type shared struct {
	leaser  bot.Leaser
	budgets *postgres.Budgets
}

// openStore opens the database db names: a postgres:// URL or a bbolt
// file. With PostgreSQL it also returns the leases and budgets that let
// replicas share it; leases are taken in the name of replica (the host
// name when empty) and a random suffix, so that a restarted replica is a
// new holder.
func openStore(ctx context.Context, db, replica string, log *slog.Logger) (appStore, shared, error) {
	if !postgres.IsURL(db) {
		s, err := storage.Open(db, storage.Options{Timeout: 2 * time.Second, Logger: log})
		if err != nil {
			return nil, shared{}, err
		}
		return s, shared{}, nil
	}
	s, err := postgres.Open(ctx, db, postgres.Options{Logger: log})
	if err != nil {
		return nil, shared{}, err
	}
	holder := replicaName(replica)
	log.Info("replica", "name", holder)
	return s, shared{leaser: s.Leases(holder), budgets: s.Budgets()}, nil
}

// replicaName is name (or the host name) with a random suffix.
func replicaName(name string) string {
	if name == "" {
		name, _ = os.Hostname()
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%s", name, hex.EncodeToString(b))
}

// runMigrateStore copies a bbolt database into an empty PostgreSQL database:
//
//	kimibot migrate-store --from kimibot.db --to postgres://…
func runMigrateStore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", envOr("KIMIBOT_DB", "kimibot.db"), "bbolt database file to copy (stop the bot first)")
	to := fs.String("to", "", "postgres:// URL of an empty database")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if !postgres.IsURL(*to) || postgres.IsURL(*from) {
		fmt.Fprintln(stderr, "kimibot migrate-store: --from must be a bbolt file and --to a postgres:// URL")
		return 2
	}
	if err := migrateStore(ctx, *from, *to); err != nil {
		fmt.Fprintf(stderr, "kimibot migrate-store: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "copied %s into the PostgreSQL database\n", *from)
	return 0
}

// migrateStore copies the bbolt file from into the PostgreSQL database at to.
func migrateStore(ctx context.Context, from, to string) error {
	src, err := storage.Open(from, storage.Options{Timeout: 2 * time.Second})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, to, postgres.Options{})
	if err != nil {
		return err
	}
	defer dst.Close()
	return dst.Import(ctx, src.Export)
}
