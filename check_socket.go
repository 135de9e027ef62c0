package main

import (
	"bufio"
	"context"
	"errors"
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
	err := store.Verify(ctx)
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

// errNoBot means no running bot answers on the database socket.
var errNoBot = errors.New("no running kimibot answers on the database socket")

// checkThroughBot asks the bot running on database db to check the file
// it has open. It returns errNoBot when no bot answers, and a
// *storage.DamagedError when the bot finds the database damaged.
func checkThroughBot(ctx context.Context, db string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socketPath(db))
	if err != nil {
		return errNoBot
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(backupTimeout))
	if _, err := io.WriteString(conn, checkRequest); err != nil {
		return fmt.Errorf("ask the running bot for a check: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	switch {
	case err != nil:
		return fmt.Errorf("ask the running bot for a check: %w", err)
	case strings.HasPrefix(line, checkDamaged):
		return &storage.DamagedError{Path: db, Problem: strings.TrimSpace(strings.TrimPrefix(line, checkDamaged))}
	case line != backupOK:
		return fmt.Errorf("the running bot could not check the database: %s",
			strings.TrimSpace(strings.TrimPrefix(line, backupFailed)))
	}
	return nil
}
