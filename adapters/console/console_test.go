package console_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"kimibot/adapters/console"
	"kimibot/bot"
)

// answerer is a Handler that answers each event through the console's Reply.
type answerer struct {
	c      *console.Console
	events []bot.Event
	fail   bool
}

func (a *answerer) HandleEvent(ctx context.Context, ev bot.Event) error {
	a.events = append(a.events, ev)
	r, err := a.c.Reply(ctx, bot.ReplyTarget{Thread: ev.Thread})
	if err != nil {
		return err
	}
	go func() {
		_ = r.Status(ctx, "thinking…")
		if a.fail {
			_ = r.Fail(ctx, "Kimi is busy (ref abc)")
			return
		}
		_ = r.Append(ctx, "echo: ")
		_ = r.Append(ctx, ev.Text)
		_, _ = r.Finish(ctx, bot.Footer{Model: "kimi-k2.6"})
	}()
	return nil
}

func TestConsoleTurnsCommandsAndEnd(t *testing.T) {
	var out, errOut bytes.Buffer
	c := console.New(console.Options{In: strings.NewReader("hello\n\n/new\nsecond\n/quit\nnever\n"), Out: &out,
		Err: &errOut, Footer: true})
	h := &answerer{c: c}
	if err := c.Run(context.Background(), bot.Host{Events: h}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "echo: hello\necho: /new\necho: second\n" {
		t.Fatalf("stdout = %q", got)
	}
	kinds := []bot.EventKind{bot.EventMessage, bot.EventReset, bot.EventMessage}
	if len(h.events) != len(kinds) {
		t.Fatalf("events = %d, want %d (empty lines skipped, nothing after /quit)", len(h.events), len(kinds))
	}
	for i, k := range kinds {
		if h.events[i].Kind != k || !h.events[i].Addressed || h.events[i].Thread != c.Thread() {
			t.Fatalf("event %d = %+v", i, h.events[i])
		}
	}
	if !strings.Contains(errOut.String(), "… thinking…") || !strings.Contains(errOut.String(), "— kimi-k2.6") {
		t.Fatalf("stderr = %q", errOut.String())
	}
}

func TestConsoleShowsFailures(t *testing.T) {
	var out, errOut bytes.Buffer
	c := console.New(console.Options{In: strings.NewReader("hi\n"), Out: &out, Err: &errOut})
	if err := c.Run(context.Background(), bot.Host{Events: &answerer{c: c, fail: true}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut.String(), "error: Kimi is busy (ref abc)") {
		t.Fatalf("stderr = %q", errOut.String())
	}
}

type refusing struct{}

func (refusing) HandleEvent(context.Context, bot.Event) error { return errors.New("queue full") }

func TestConsoleKeepsReadingAfterRefusedEvent(t *testing.T) {
	var out bytes.Buffer
	c := console.New(console.Options{In: strings.NewReader("a\nb\n"), Out: &out})
	if err := c.Run(context.Background(), bot.Host{Events: refusing{}}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "error: queue full") != 2 {
		t.Fatalf("output = %q", out.String())
	}
}
