package slack

import (
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
	"kimibot/conversation"
)

const testSecret = "test-signing-secret"

// MustAdapter returns an adapter pointed at fake, with test pacing: short
// edit intervals and retry waits a little above the fake's penalties.
func MustAdapter(tb testing.TB, fake *slacktest.Server, configure func(*Config)) *Adapter {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.BotToken = fake.Options().BotToken
	cfg.SigningSecret = testSecret
	cfg.APIURL = fake.APIURL()
	cfg.MinEditInterval = 10 * time.Millisecond
	cfg.RetryWait = 1100 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(testLogOut(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if configure != nil {
		configure(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		tb.Fatalf("new adapter: %v", err)
	}
	return a
}

// recorder is a bot.Handler that records every event.
type recorder struct {
	mu     sync.Mutex
	events []bot.Event
	ch     chan bot.Event
	err    error
}

func newRecorder() *recorder { return &recorder{ch: make(chan bot.Event, 1024)} }

func (h *recorder) HandleEvent(_ context.Context, ev bot.Event) error {
	h.mu.Lock()
	if h.err != nil {
		defer h.mu.Unlock()
		return h.err
	}
	h.events = append(h.events, ev)
	h.mu.Unlock()
	h.ch <- ev
	return nil
}

// host runs the adapter with the recorder as its only events handler.
func (h *recorder) host() bot.Host { return bot.Host{Events: h} }

func (h *recorder) setErr(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err = err
}

func (h *recorder) all() []bot.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bot.Event(nil), h.events...)
}

// next waits for the next recorded event.
func (h *recorder) next(tb testing.TB, ctx context.Context) bot.Event {
	tb.Helper()
	select {
	case ev := <-h.ch:
		return ev
	case <-ctx.Done():
		tb.Fatalf("no event: %v", ctx.Err())
	}
	return bot.Event{}
}

// MustRun runs the adapter until the test ends and waits until it is ready.
func MustRun(tb testing.TB, a *Adapter, h bot.Host) {
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
	waitReady(tb, a)
}

// waitReady waits until the adapter reports ready. Readiness has no event
// to wait on, so this polls it, with a deadline.
func waitReady(tb testing.TB, a *Adapter) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !a.Ready() {
		if time.Now().After(deadline) {
			tb.Fatal("adapter never became ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// waitThread waits until the thread's messages satisfy cond.
func waitThread(tb testing.TB, ctx context.Context, fake *slacktest.Server, channel, thread string, cond func([]slacktest.Message) bool) []slacktest.Message {
	tb.Helper()
	var msgs []slacktest.Message
	err := fake.Wait(ctx, func() bool {
		msgs = fake.Thread(channel, thread)
		return cond(msgs)
	})
	if err != nil {
		tb.Fatalf("thread %s/%s never matched; it shows %s", channel, thread, describe(msgs))
	}
	return msgs
}

// shows is a condition: the thread shows exactly these texts.
func shows(texts ...string) func([]slacktest.Message) bool {
	return func(msgs []slacktest.Message) bool {
		if len(msgs) != len(texts) {
			return false
		}
		for i, m := range msgs {
			if m.Shown() != texts[i] {
				return false
			}
		}
		return true
	}
}

func describe(msgs []slacktest.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		s := m.Shown()
		if len(s) > 80 {
			s = s[:40] + "…" + s[len(s)-40:]
		}
		b.WriteString("\n  [" + string(rune('0'+i)) + "] " + strings.ReplaceAll(s, "\n", "⏎"))
	}
	return b.String()
}

func shownTexts(msgs []slacktest.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Shown()
	}
	return out
}

func statusTexts(changes []slacktest.StatusChange) []string {
	out := make([]string, len(changes))
	for i, c := range changes {
		out[i] = c.Status
	}
	return out
}

var fenceOnly = regexp.MustCompile("^\n?(`{3,}|~{3,})$")

// isFenceLine reports whether line starts with a run of three backticks or tildes.
func isFenceLine(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")
}

// matchParts checks that messages show answer split without loss: with the
// fence lines the split adds removed (a reopening line at the start of a
// message, a closing marker at its end), the messages concatenate to
// answer exactly.
func matchParts(tb testing.TB, answer string, parts []string) {
	tb.Helper()
	cur := 0
	for i, p := range parts {
		if i > 0 {
			if line, rest, ok := strings.Cut(p, "\n"); ok && isFenceLine(line) &&
				!strings.HasPrefix(answer[cur:], line+"\n") {
				p = rest
			}
		}
		n := 0
		for n < len(p) && cur+n < len(answer) && p[n] == answer[cur+n] {
			n++
		}
		if tail := p[n:]; tail != "" && (i == len(parts)-1 || !fenceOnly.MatchString(tail)) {
			tb.Fatalf("message %d differs from the answer at offset %d: shows %q, answer has %q",
				i, cur+n, clip(tail), clip(answer[cur+n:]))
		}
		cur += n
	}
	if cur != len(answer) {
		tb.Fatalf("messages end at offset %d of %d; missing %q", cur, len(answer), clip(answer[cur:]))
	}
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// testLogOut is where test adapters and stacks log: nowhere, unless
// KIMIBOT_TEST_LOG is set.
func testLogOut() io.Writer {
	if os.Getenv("KIMIBOT_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// fakeEngine is a recorder that also runs commands and takes review
// decisions, as bot.Engine does, recording them.
type fakeEngine struct {
	*recorder
	mu        sync.Mutex
	commands  []bot.Command
	actions   []bot.Action
	approvers map[string]bool
	drafts    map[string]conversation.Draft
	changed   chan struct{}
}

var (
	_ bot.Commands = (*fakeEngine)(nil)
	_ bot.Desk     = (*fakeEngine)(nil)
)

// host runs the adapter with the fake as events handler, commands and desk.
func (e *fakeEngine) host() bot.Host { return bot.Host{Events: e, Commands: e, Desk: e} }

// ModelChoices offers no models.
func (e *fakeEngine) ModelChoices(context.Context, string, int) []string { return nil }

func newFakeEngine(approvers ...string) *fakeEngine {
	e := &fakeEngine{recorder: newRecorder(), approvers: map[string]bool{}, drafts: map[string]conversation.Draft{},
		changed: make(chan struct{}, 1024)}
	for _, a := range approvers {
		e.approvers[a] = true
	}
	return e
}

func (e *fakeEngine) Command(_ context.Context, c bot.Command) bot.CommandReply {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.commands = append(e.commands, c)
	e.changed <- struct{}{}
	return bot.CommandReply{Text: "ran `" + c.Name + "`", Public: c.Name == "support"}
}

func (e *fakeEngine) HandleAction(_ context.Context, a bot.Action) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.approvers[a.User.ID] {
		return bot.ErrNotAllowed
	}
	if _, ok := e.drafts[a.DraftID]; !ok {
		return bot.ErrUnknownDraft
	}
	e.actions = append(e.actions, a)
	e.changed <- struct{}{}
	return nil
}

func (e *fakeEngine) CanApprove(_ context.Context, _ string, u bot.User) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.approvers[u.ID]
}

func (e *fakeEngine) Draft(_ context.Context, id string) (conversation.Draft, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.drafts[id]
	if !ok {
		return d, bot.ErrUnknownDraft
	}
	return d, nil
}

func (e *fakeEngine) addDraft(d conversation.Draft) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.drafts[d.ID] = d
}

// waitCommands waits until n commands ran and returns them.
func (e *fakeEngine) waitCommands(tb testing.TB, ctx context.Context, n int) []bot.Command {
	tb.Helper()
	for {
		e.mu.Lock()
		got := append([]bot.Command(nil), e.commands...)
		e.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-e.changed:
		case <-ctx.Done():
			tb.Fatalf("%d of %d commands ran", len(got), n)
		}
	}
}

// waitActions waits until n actions were taken and returns them.
func (e *fakeEngine) waitActions(tb testing.TB, ctx context.Context, n int) []bot.Action {
	tb.Helper()
	for {
		e.mu.Lock()
		got := append([]bot.Action(nil), e.actions...)
		e.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-e.changed:
		case <-ctx.Done():
			tb.Fatalf("%d of %d actions taken", len(got), n)
		}
	}
}
