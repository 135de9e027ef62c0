package discord

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/bot"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// MustFake starts a fake Discord with a short heartbeat.
func MustFake(tb testing.TB, opts discordtest.Options) *discordtest.Server {
	tb.Helper()
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = 200 * time.Millisecond
	}
	return discordtest.NewServer(tb, opts)
}

// MustAdapter makes an adapter that talks to the fake.
func MustAdapter(tb testing.TB, fake *discordtest.Server, edit func(*Config)) *Adapter {
	tb.Helper()
	cfg := Config{Token: fake.Token(), APIURL: fake.APIURL(), Logger: discardLogger()}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		tb.Fatalf("new adapter: %v", err)
	}
	return a
}

// MustRun runs the adapter until the test ends and waits until it is
// ready. (discordgo heartbeats right after handling READY, and every frame
// wakes the fake's waiters.)
func MustRun(tb testing.TB, a *Adapter, fake *discordtest.Server, h bot.Handler) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, h) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("run: %v", err)
		}
	})
	fake.WaitConnected(tb, 1)
	fake.WaitFor(tb, "adapter ready", a.Ready)
}

// recorder is a bot.Handler that keeps the events it gets.
type recorder struct {
	mu      sync.Mutex
	events  []bot.Event
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) HandleEvent(ctx context.Context, ev bot.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// waitFor waits until an event satisfies match and returns it.
func (r *recorder) waitFor(tb testing.TB, what string, match func(bot.Event) bool) bot.Event {
	tb.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ch := r.changed
		for _, ev := range r.events {
			if match(ev) {
				r.mu.Unlock()
				return ev
			}
		}
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("timed out waiting for event: %s", what)
		}
	}
}

func (r *recorder) all() []bot.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Event(nil), r.events...)
}

// byMessage matches the event of a message ID.
func byMessage(id string) func(bot.Event) bool {
	return func(ev bot.Event) bool { return ev.Message == id }
}

// dmTarget is the reply target of a DM with a new user.
func dmTarget(fake *discordtest.Server) (bot.ReplyTarget, string) {
	u := fake.AddUser("ada", false)
	ch := fake.DMChannel(u.ID)
	return bot.ReplyTarget{Thread: bot.ThreadRef{Platform: "discord", Channel: ch, DM: true}, User: u.ID}, ch
}

// waitContent waits until the bot's messages in a channel, joined, read want.
func waitContent(tb testing.TB, fake *discordtest.Server, channel, want string) {
	tb.Helper()
	fake.WaitFor(tb, "content "+want, func() bool {
		var b strings.Builder
		for _, m := range fake.BotMessages(channel) {
			b.WriteString(m.Content)
		}
		return b.String() == want
	})
}

// contents returns the content of the bot's messages in a channel.
func contents(fake *discordtest.Server, channel string) []string {
	var out []string
	for _, m := range fake.BotMessages(channel) {
		out = append(out, m.Content)
	}
	return out
}

// checkMessages asserts that messages show text: each fits Discord's
// limit, none ends inside a code block it opened (unless text does), and
// removing the fence lines added at the cuts gives back text exactly, so
// nothing is lost or doubled.
func checkMessages(tb testing.TB, text string, msgs []string) {
	tb.Helper()
	for i, m := range msgs {
		if n := textLen(m); n > MaxMessageLen {
			tb.Fatalf("message %d has %d characters", i, n)
		}
		if i < len(msgs)-1 && fenceOpenAtEnd(m) {
			tb.Fatalf("message %d ends inside a code block: ...%q", i, m[max(0, len(m)-40):])
		}
	}
	if !covers(text, 0, msgs) {
		tb.Fatalf("messages do not give back the text exactly:\n%q\nwant %q", msgs, text)
	}
}

// covers reports whether msgs show text from pos to its end, trying each
// reading of a message's end (a closing fence line may be the text's own or
// one added at a cut).
func covers(text string, pos int, msgs []string) bool {
	if len(msgs) == 0 {
		return pos == len(text)
	}
	m := msgs[0]
	if fenceOpenAtEnd(text[:pos]) {
		nl := strings.IndexByte(m, '\n')
		if !strings.HasPrefix(m, "```") || nl < 0 {
			return false
		}
		m = m[nl+1:]
	}
	for _, cut := range []string{"", "\n```", "```"} {
		body, found := strings.CutSuffix(m, cut)
		if !found || body == "" || !strings.HasPrefix(text[pos:], body) {
			continue
		}
		if (cut == "" || fenceOpenAtEnd(text[:pos+len(body)])) && covers(text, pos+len(body), msgs[1:]) {
			return true
		}
	}
	return false
}
