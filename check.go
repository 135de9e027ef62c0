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
	"strings"
	"time"

	"kimibot/storage"
)

// checkDamaged starts the answer to checkRequest for a damaged database;
// the problem follows on the same line.
const checkDamaged = "damaged "

// serveCheck runs the database check for a client of the socket.
func serveCheck(ctx context.Context, store *storage.Store, conn net.Conn, log *slog.Logger) {
	err := store.Check(ctx)
	if err == nil {
		_, _ = io.WriteString(conn, backupOK)
		return
	}
	log.Error("database check failed", "err", err)
	answer := backupFailed + err.Error()
	var de *storage.DamagedError
	if errors.As(err, &de) {
		answer = checkDamaged + de.Problem
	}
	_, _ = io.WriteString(conn, strings.ReplaceAll(answer, "\n", " ")+"\n")
}

// runCheck verifies the database file:
//
//	kimibot check [--db kimibot.db]
//
// While the bot runs, the bot checks the database it has open (bbolt's
// consistency check); otherwise the file is read through as at start. The
// exit code is 0 when the database is sound and 3 when it is damaged.
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", envOr("KIMIBOT_DB", "kimibot.db"), "bbolt database file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	via, err := check(ctx, *db)
	if err != nil {
		fmt.Fprintf(stderr, "kimibot check: %v\n", err)
		return startExitCode(err)
	}
	fmt.Fprintf(stdout, "database %s is sound (%s)\n", *db, via)
	return 0
}

// check verifies database db through the running bot when one answers on
// its socket, else from the file.
func check(ctx context.Context, db string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath(db))
	if err != nil {
		if err := storage.Verify(db); err != nil {
			return "", err
		}
		return "checked the file", nil
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(backupTimeout))
	if _, err := io.WriteString(conn, checkRequest); err != nil {
		return "", fmt.Errorf("ask the running bot for a check: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	switch {
	case err != nil:
		return "", fmt.Errorf("ask the running bot for a check: %w", err)
	case strings.HasPrefix(line, checkDamaged):
		return "", &storage.DamagedError{Path: db, Problem: strings.TrimSpace(strings.TrimPrefix(line, checkDamaged))}
	case line != backupOK:
		return "", fmt.Errorf("the running bot could not check the database: %s",
			strings.TrimSpace(strings.TrimPrefix(line, backupFailed)))
	}
	return "checked by the running bot", nil
}
