// Package console is a terminal Platform: each input line is a turn, and
// answers stream to the output as the model writes. It runs on the same
// engine, database and tools as the chat platforms.
package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"kimibot/bot"
)

// Name is the platform name of the console.
const Name = "console"

// Options configures a Console.
type Options struct {
	In  io.Reader
	Out io.Writer
	// Err receives status lines, footers and errors; defaults to Out.
	Err io.Writer
	// User names the person at the terminal; default "local".
	User string
	// Conversation names the stored conversation; default "default".
	Conversation string
	// Prompt prints "you> " before each line (for interactive terminals).
	Prompt bool
	// Footer prints model, tokens and time after each answer.
	Footer bool
}

// Console is a Platform on a terminal.
type Console struct {
	opts Options
	mu   sync.Mutex
	done chan struct{}
	seq  int
}

var _ bot.Platform = (*Console)(nil)

// New returns a console platform.
func New(opts Options) *Console {
	if opts.Err == nil {
		opts.Err = opts.Out
	}
	if opts.User == "" {
		opts.User = "local"
	}
	if opts.Conversation == "" {
		opts.Conversation = "default"
	}
	return &Console{opts: opts, done: make(chan struct{}, 1)}
}

// Name returns "console".
func (c *Console) Name() string { return Name }

// Thread returns the console's conversation.
func (c *Console) Thread() bot.ThreadRef {
	return bot.ThreadRef{Platform: Name, Channel: c.opts.Conversation, DM: true}
}

// Run reads lines until end of input or ctx ends, waiting for each answer
// before reading the next line. "/new" starts a fresh conversation and
// "/quit" ends the session.
func (c *Console) Run(ctx context.Context, h bot.Host) error {
	sc := bufio.NewScanner(c.opts.In)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for c.prompt(); sc.Scan(); c.prompt() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if line == "/quit" || line == "/exit" {
			return nil
		}
		if err := h.Events.HandleEvent(ctx, c.event(line)); err != nil {
			fmt.Fprintf(c.opts.Err, "error: %v\n", err)
			continue
		}
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil
		}
	}
	return sc.Err()
}

func (c *Console) prompt() {
	if c.opts.Prompt {
		fmt.Fprint(c.opts.Out, "you> ")
	}
}

func (c *Console) event(line string) bot.Event {
	c.mu.Lock()
	c.seq++
	id := fmt.Sprintf("%d-%d", time.Now().UnixNano(), c.seq)
	c.mu.Unlock()
	ev := bot.Event{Kind: bot.EventMessage, Thread: c.Thread(), Text: line, Message: id, Addressed: true,
		User: bot.User{ID: c.opts.User, Name: c.opts.User}, Time: time.Now()}
	if line == "/new" {
		ev.Kind = bot.EventReset
	}
	return ev
}

// Reply opens an answer on the terminal.
func (c *Console) Reply(ctx context.Context, to bot.ReplyTarget) (bot.Reply, error) {
	return &reply{c: c}, nil
}

// reply writes one answer to the terminal.
type reply struct {
	c      *Console
	mu     sync.Mutex
	status string
	wrote  bool
	ended  bool
}

var _ bot.Reply = (*reply)(nil)

func (r *reply) Status(ctx context.Context, s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s == r.status || r.ended {
		return nil
	}
	r.status = s
	if r.wrote {
		return nil
	}
	_, err := fmt.Fprintf(r.c.opts.Err, "… %s\n", s)
	return err
}

func (r *reply) Append(ctx context.Context, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wrote = true
	_, err := io.WriteString(r.c.opts.Out, text)
	return err
}

func (r *reply) Finish(ctx context.Context, f bot.Footer) ([]bot.MsgRef, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.end()
	if _, err := io.WriteString(r.c.opts.Out, "\n"); err != nil {
		return nil, err
	}
	if r.c.opts.Footer && f.Model != "" {
		fmt.Fprintf(r.c.opts.Err, "— %s · %d tokens · %.1fs\n", f.Model, f.Usage.TotalTokens, f.Elapsed.Seconds())
	}
	return nil, nil
}

func (r *reply) Fail(ctx context.Context, userMsg string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.end()
	if r.wrote {
		fmt.Fprintln(r.c.opts.Out)
	}
	_, err := fmt.Fprintf(r.c.opts.Err, "error: %s\n", userMsg)
	return err
}

// end signals the input loop that this answer is complete.
func (r *reply) end() {
	if r.ended {
		return
	}
	r.ended = true
	select {
	case r.c.done <- struct{}{}:
	default:
	}
}
