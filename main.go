// Command kimibot puts Moonshot AI's Kimi models into Slack and Discord.
//
// Usage:
//
//	kimibot          run the bot on the platforms configured in the environment
//	kimibot chat     talk to the bot in the terminal (same engine, database and tools)
//	kimibot audit    export support desk decisions as JSON lines
//	kimibot check    check the configuration against the live services
//	kimibot version  print the version
//	kimibot help     show this help
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"kimibot/internal/buildinfo"
)

const usage = `kimibot puts Moonshot AI's Kimi models into Slack and Discord.

Usage:
  kimibot            run the bot on the platforms configured in the environment
  kimibot serve      the same
  kimibot chat       talk to the bot in the terminal (same engine, database and tools)
  kimibot audit --since 2026-11-01
                     export support desk decisions as JSON lines (stop the bot or use a copy of the database)
  kimibot check      check the configuration against the live services; exit 1 when a check fails
  kimibot version    print the version (also --version)
  kimibot help       show this help

Configuration comes from environment variables; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program; it returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	var mode Mode
	switch cmd {
	case "serve":
		mode = ModeServe
	case "chat":
		mode = ModeChat
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(ctx, stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, buildinfo.Read())
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "kimibot: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	cfg, err := LoadConfig(mode)
	if err != nil {
		fmt.Fprintf(stderr, "kimibot: %v\n", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	b := buildinfo.Read()
	log.Info("starting", "version", b.Version, "revision", b.Revision, "commit_time", b.Time, "mode", cmd)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		log.Error("start", "err", err)
		fmt.Fprintf(stderr, "kimibot: %v\n", err)
		return 1
	}
	defer a.Close()
	if mode == ModeChat {
		err = a.chat(ctx, stdin, stdout, stderr)
	} else {
		err = a.serve(ctx)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
