package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kimibot/storage"
	"kimibot/storage/postgres"
)

// exitDamagedDB is the exit code when the database file is damaged.
const exitDamagedDB = 3

// The database socket protocol: the client sends one request line. To
// backupRequest the bot answers backupOK and the database bytes until it
// closes the connection; to checkRequest it answers backupOK once the
// database checks out. Failures are one line starting with backupFailed.
const (
	backupRequest = "backup\n"
	checkRequest  = "check\n"
	backupOK      = "ok\n"
	backupFailed  = "error "
)

// backupTimeout bounds one backup over the socket.
const backupTimeout = 10 * time.Minute

// startExitCode is the exit code for an error that stopped the start.
func startExitCode(err error) int {
	if errors.Is(err, storage.ErrDamaged) {
		return exitDamagedDB
	}
	return 1
}

// socketPath is where a running bot serves backups of database db.
func socketPath(db string) string { return db + ".sock" }

// serveBackups listens on the backup socket next to the database until
// stop is called, which removes it. Only the file's owner may connect
// (mode 0600).
func (a *app) serveBackups(ctx context.Context) (stop func(), err error) {
	store, ok := a.store.(*storage.Store)
	if !ok {
		// PostgreSQL is backed up with its own tools (pg_dump).
		return func() {}, nil
	}
	path := socketPath(a.cfg.DB)
	// This process holds the database lock, so a socket file left behind
	// by a killed bot is stale.
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen for backups on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict backup socket %s: %w", path, err)
	}
	log := a.log.With("component", "backup")
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSocket(ctx, store, conn, log)
		}
	}()
	log.Info("serving backups", "socket", path)
	return func() { ln.Close() }, nil // closing removes the socket file
}

// serveSocket answers one client on the database socket.
func serveSocket(ctx context.Context, store *storage.Store, conn net.Conn, log *slog.Logger) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(backupTimeout))
	line, err := bufio.NewReader(io.LimitReader(conn, 64)).ReadString('\n')
	switch {
	case err == nil && line == backupRequest:
		serveBackup(ctx, store, conn, log)
	case err == nil && line == checkRequest:
		serveCheck(ctx, store, conn, log)
	default:
		_, _ = io.WriteString(conn, backupFailed+"unknown request\n")
	}
}

// serveBackup streams a copy of the database to conn.
func serveBackup(ctx context.Context, store *storage.Store, conn net.Conn, log *slog.Logger) {
	if _, err := io.WriteString(conn, backupOK); err != nil {
		return
	}
	n, err := store.Backup(ctx, conn)
	if err != nil {
		log.Warn("backup failed", "err", err)
		return
	}
	log.Info("backup sent", "bytes", n)
}

// runBackup writes a consistent copy of the database to FILE:
//
//	kimibot backup FILE [--db kimibot.db]
//
// While the bot runs it asks the bot for the copy over the backup socket;
// otherwise it reads the file itself. The copy is written beside FILE,
// checked, and renamed into place.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", envOr("KIMIBOT_DB", "kimibot.db"), "bbolt database file")
	if err := fs.Parse(reorder(args)); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "kimibot backup: name one file to write, as in: kimibot backup kimibot-2026-12-04.db")
		return 2
	}
	if postgres.IsURL(*db) {
		fmt.Fprintf(stderr, "kimibot backup: %s is a PostgreSQL database; back it up with pg_dump\n", postgres.Redact(*db))
		return 2
	}
	n, via, err := backup(ctx, *db, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "kimibot backup: %v\n", err)
		return startExitCode(err)
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes, %s)\n", *db, fs.Arg(0), n, via)
	return 0
}

// reorder puts flags before the file name, so both orders work.
func reorder(args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			flags = append(flags, args[i])
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, args[i])
	}
	return append(flags, rest...)
}

// backup copies database db to dst through a temporary file, and says
// whether the running bot or the file served the copy.
func backup(ctx context.Context, db, dst string) (n int64, via string, err error) {
	if same(db, dst) {
		return 0, "", errors.New("the backup would overwrite the database; name another file")
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return 0, "", fmt.Errorf("create backup file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return 0, "", fmt.Errorf("restrict backup file: %w", err)
	}
	n, via, err = copyDatabase(ctx, db, tmp)
	if err != nil {
		return 0, "", err
	}
	if err := tmp.Sync(); err != nil {
		return 0, "", fmt.Errorf("write backup file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return 0, "", fmt.Errorf("write backup file: %w", err)
	}
	if err := storage.Check(ctx, tmp.Name()); err != nil {
		return 0, "", fmt.Errorf("the copy does not check out: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return 0, "", fmt.Errorf("move backup into place: %w", err)
	}
	return n, via, nil
}

// same reports whether two paths name the same file.
func same(a, b string) bool {
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(ia, ib)
	}
	absA, _ := filepath.Abs(a)
	absB, _ := filepath.Abs(b)
	return absA == absB
}

// copyDatabase writes database db to w, from the running bot when one
// answers on the backup socket, else from the file.
func copyDatabase(ctx context.Context, db string, w io.Writer) (int64, string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath(db))
	if err == nil {
		defer conn.Close()
		n, err := fromSocket(conn, w)
		return n, "from the running bot", err
	}
	store, err := storage.Open(db, storage.Options{Timeout: time.Second})
	if errors.Is(err, storage.ErrLocked) {
		return 0, "", fmt.Errorf("%w, and it does not answer on %s", err, socketPath(db))
	}
	if err != nil {
		return 0, "", err
	}
	defer store.Close()
	n, err := store.Backup(ctx, w)
	return n, "from the file", err
}

// fromSocket asks the bot on conn for a backup and copies it to w.
func fromSocket(conn net.Conn, w io.Writer) (int64, error) {
	_ = conn.SetDeadline(time.Now().Add(backupTimeout))
	if _, err := io.WriteString(conn, backupRequest); err != nil {
		return 0, fmt.Errorf("ask the running bot for a backup: %w", err)
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("ask the running bot for a backup: %w", err)
	}
	if line != backupOK {
		return 0, fmt.Errorf("the running bot refused the backup: %s", strings.TrimSpace(strings.TrimPrefix(line, backupFailed)))
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return n, fmt.Errorf("receive backup: %w", err)
	}
	return n, nil
}
