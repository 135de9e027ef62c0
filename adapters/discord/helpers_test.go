package discord

import (
	"context"
	"encoding/json"
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
	go func() { done <- a.Run(ctx, bot.Host{Events: h}) }()
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

// fenceOpenAtEnd is an independent check of code fences: it reports whether
// a ``` block is still open at the end of s.
func fenceOpenAtEnd(s string) bool {
	open := false
	for _, l := range strings.Split(s, "\n") {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "```") {
			continue
		}
		if !open && len(t) > 6 && strings.HasSuffix(t, "```") {
			continue
		}
		if !open || strings.Trim(t, "`") == "" {
			open = !open
		}
	}
	return open
}

// checkMessages asserts that messages show text: each fits Discord's
// limit, none ends inside a code block it opened (unless text does), and
// removing the fence lines added at the cuts gives back text exactly, so
// nothing is lost or doubled.
func checkMessages(tb testing.TB, text string, msgs []string) {
	tb.Helper()
	for i, m := range msgs {
		if n := discordText.Len(m); n > discordText.Limit {
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

// member is a user acting in a channel with guild roles.
func member(channel string, u discordtest.User, roles ...string) discordtest.Member {
	return discordtest.Member{Channel: channel, User: u, Roles: roles}
}

// MustCommand runs a slash command as m.
func MustCommand(tb testing.TB, fake *discordtest.Server, m discordtest.Member, name string, opts ...discordtest.Option) discordtest.Interaction {
	tb.Helper()
	it, err := fake.SendCommand(m, name, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return it
}

// MustClick clicks a message's button as m.
func MustClick(tb testing.TB, fake *discordtest.Server, m discordtest.Member, message, customID string) discordtest.Interaction {
	tb.Helper()
	it, err := fake.ClickButton(m, message, customID)
	if err != nil {
		tb.Fatal(err)
	}
	return it
}

// MustSubmit submits the modal opened in answer to interaction opened.
func MustSubmit(tb testing.TB, fake *discordtest.Server, opened string, fields map[string]string) discordtest.Interaction {
	tb.Helper()
	it, err := fake.SubmitModal(opened, fields)
	if err != nil {
		tb.Fatal(err)
	}
	return it
}

// commandAnswer waits for the answer to a slash command and returns its
// text and whether only the user sees it. It checks that the command was
// acknowledged with a deferred response before the answer came.
func commandAnswer(tb testing.TB, fake *discordtest.Server, id string) (text string, private bool) {
	tb.Helper()
	fake.WaitFor(tb, "command answer", func() bool {
		st := fake.InteractionState(id)
		return len(st.Edits) > 0 || len(st.Followups) > 0
	})
	st := fake.InteractionState(id)
	if st.CallbackType != discordtest.CallbackDeferredMessage {
		tb.Fatalf("command acknowledged with callback type %d, want a deferred message (5)", st.CallbackType)
	}
	var at time.Time
	if len(st.Edits) > 0 {
		m, _ := fake.Message(st.Original)
		text, private, at = st.Edits[0].Content, m.Flags&ephemeralFlag != 0, st.Edits[0].At
	} else {
		m, _ := fake.Message(st.Followups[0])
		text, private, at = m.Content, m.Flags&ephemeralFlag != 0, m.Timestamp
	}
	if !st.CallbackAt.Before(at) {
		tb.Fatalf("the answer (%v) did not come after the acknowledgement (%v)", at, st.CallbackAt)
	}
	return text, private
}

// ephemeralFlag is Discord's message flag for answers only the user sees.
const ephemeralFlag = 64

// waitCallback waits for an interaction's initial response.
func waitCallback(tb testing.TB, fake *discordtest.Server, id string) discordtest.Interaction {
	tb.Helper()
	fake.WaitFor(tb, "interaction callback", func() bool { return fake.InteractionState(id).CallbackType != 0 })
	return fake.InteractionState(id)
}

// callbackData is the data of an interaction's initial response.
type callbackData struct {
	Content    string          `json:"content"`
	Flags      int             `json:"flags"`
	CustomID   string          `json:"custom_id"`
	Title      string          `json:"title"`
	Choices    []Choice        `json:"choices"`
	Components json.RawMessage `json:"components"`
}

func decodeCallback(tb testing.TB, it discordtest.Interaction) callbackData {
	tb.Helper()
	var d callbackData
	if err := json.Unmarshal(it.Callback, &d); err != nil {
		tb.Fatalf("decode callback %s: %v", it.Callback, err)
	}
	return d
}
