package slack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
	"kimibot/internal/chattext"
	"kimibot/internal/testkit"
)

// e2e is the whole stack: fake Slack, the adapter in Socket Mode (or HTTP
// mode), the real engine and bbolt storage, and the fake Kimi.
type e2e struct {
	fake      *slacktest.Server
	a         *Adapter
	stack     *testkit.Stack
	ctx       context.Context
	configure func(*Config)
}

func MustE2E(tb testing.TB, configure func(*Config), opts testkit.Options) *e2e {
	tb.Helper()
	return MustE2EWith(tb, slacktest.Options{AckTimeout: time.Second}, configure, opts)
}

// MustE2EWith is MustE2E with a fake Slack configured by fakeOpts.
func MustE2EWith(tb testing.TB, fakeOpts slacktest.Options, configure func(*Config), opts testkit.Options) *e2e {
	tb.Helper()
	fake := slacktest.Start(tb, fakeOpts)
	e := &e2e{fake: fake, ctx: testContext(tb), configure: configure}
	e.a = e.newAdapter(tb)
	e.stack = testkit.Start(tb, e.a, opts)
	waitReady(tb, e.a)
	return e
}

// newAdapter returns a Socket Mode adapter for the fake.
func (e *e2e) newAdapter(tb testing.TB) *Adapter {
	tb.Helper()
	return MustAdapter(tb, e.fake, func(c *Config) {
		c.AppToken, c.Footer = e.fake.Options().AppToken, true
		if e.configure != nil {
			e.configure(c)
		}
	})
}

// restart stops the engine and starts a new one, with a new adapter, on
// the same storage and fakes, as a process restart does.
func (e *e2e) restart(tb testing.TB) {
	tb.Helper()
	e.a = e.newAdapter(tb)
	e.stack = e.stack.Restart(tb, e.a)
	waitReady(tb, e.a)
}

// mention pushes a channel message that mentions the bot, as app_mention
// and as message, and returns it.
func (e *e2e) mention(channel, threadTS, text string) slacktest.UserMessage {
	m := slacktest.UserMessage{User: "U1", Channel: channel, Text: "<@UKIMIBOT> " + text, TS: e.fake.NewTS(), ThreadTS: threadTS}
	e.fake.PushEvent(e.fake.Callback(m.Mention()).Body)
	e.fake.PushEvent(e.fake.Callback(m.Message()).Body)
	return m
}

// answered waits until the thread shows n finished answers (messages with
// footers) and the engine has finished the turn, indexing its messages.
func (e *e2e) answered(tb testing.TB, channel, thread string, n int) []slacktest.Message {
	tb.Helper()
	msgs := waitThread(tb, e.ctx, e.fake, channel, thread, func(msgs []slacktest.Message) bool {
		footers := 0
		for _, m := range msgs {
			if m.Footer != "" {
				footers++
			}
		}
		return footers == n
	})
	e.stack.WaitIdle(tb)
	return msgs
}

func chatUserTexts(req *kimitest.ChatRequest) []string {
	var out []string
	for _, m := range req.Messages {
		if m.Role == "user" || m.Role == "assistant" {
			out = append(out, m.Role+": "+m.Text())
		}
	}
	return out
}

func TestE2EMentionAndFollowUp(t *testing.T) {
	e := MustE2E(t, nil, testkit.Options{})
	answer := strings.Repeat("Kimi streams this answer in small pieces. ", 8)
	e.stack.Kimi.Enqueue(kimitest.Response{Content: answer, ChunkSize: 5, Delay: 3 * time.Millisecond})

	q := e.mention("C1", "", "what is streaming?")
	msgs := e.answered(t, "C1", q.TS, 1)
	m := msgs[0]
	if m.Shown() != answer || !strings.HasPrefix(m.Footer, "kimi-k2.6 · ") {
		t.Fatalf("answer shows %q with footer %q", m.Shown(), m.Footer)
	}
	var intermediate int
	for _, s := range m.States[:len(m.States)-1] {
		if s.Text != "" && strings.HasPrefix(answer, s.Text) && s.Text != answer {
			intermediate++
		}
	}
	if intermediate < 2 {
		t.Fatalf("%d intermediate states, want at least 2: %q", intermediate, stateTexts(m))
	}
	if st := e.fake.Statuses("C1", q.TS); len(st) == 0 || st[len(st)-1].Status != "" {
		t.Fatalf("statuses = %q; want the last one cleared", statusTexts(st))
	}

	// A follow-up in the thread needs no mention and continues the conversation;
	// a channel message that does not mention the bot is ignored.
	follow := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "and then?", TS: e.fake.NewTS(), ThreadTS: q.TS}
	e.fake.PushEvent(e.fake.Callback(follow.Message()).Body)
	other := slacktest.UserMessage{User: "U2", Channel: "C1", Text: "lunch anyone?", TS: e.fake.NewTS()}
	e.fake.PushEvent(e.fake.Callback(other.Message()).Body)
	msgs = e.answered(t, "C1", q.TS, 2)
	if got := msgs[1].Shown(); got != "You said: and then?" {
		t.Fatalf("follow-up answer = %q", got)
	}
	reqs := e.stack.Kimi.ChatRequests()
	if len(reqs) != 2 {
		t.Fatalf("%d model calls, want 2", len(reqs))
	}
	want := []string{"user: what is streaming?", "assistant: " + answer, "user: and then?"}
	if got := chatUserTexts(reqs[1]); !reflect.DeepEqual(got, want) {
		t.Fatalf("follow-up history = %q, want %q", got, want)
	}
	if n := len(e.fake.Thread("C1", "")); n != 0 {
		t.Fatalf("bot posted %d messages outside threads", n)
	}
}

func TestE2EDuplicatesGiveOneReply(t *testing.T) {
	e := MustE2E(t, nil, testkit.Options{})
	m := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> once please", TS: e.fake.NewTS()}
	mention := e.fake.Callback(m.Mention())
	e.fake.PushEvent(mention.Body)
	e.fake.PushEvent(e.fake.Callback(m.Message()).Body)
	// Slack retries the app_mention: same event_id, new envelope.
	e.fake.PushEvent(mention.Body)
	e.answered(t, "C1", m.TS, 1)
	e.stack.WaitIdle(t)
	if n := len(e.stack.Kimi.ChatRequests()); n != 1 {
		t.Fatalf("%d model calls, want 1", n)
	}
	if got := shownTexts(e.fake.Thread("C1", m.TS)); !reflect.DeepEqual(got, []string{"You said: once please"}) {
		t.Fatalf("thread shows %q", got)
	}
	for _, env := range e.fake.Envelopes() {
		if env.Acks == 0 {
			t.Fatalf("envelope %s never acknowledged", env.ID)
		}
	}
}

func TestE2ERateLimitedUpdates(t *testing.T) {
	e := MustE2E(t, func(c *Config) { c.NativeStreaming = false }, testkit.Options{})
	// The second update is refused twice: with a Retry-After, then without one.
	e.fake.Inject(slacktest.Fault{Method: "chat.update", Status: 429, RetryAfter: "1", After: 1})
	e.fake.Inject(slacktest.Fault{Method: "chat.update", Status: 429})
	answer := strings.Repeat("Every word must arrive. ", 20)
	e.stack.Kimi.Enqueue(kimitest.Response{Content: answer, ChunkSize: 6, Delay: 10 * time.Millisecond})
	q := e.mention("C1", "", "stream under pressure")
	msgs := e.answered(t, "C1", q.TS, 1)
	if msgs[0].Shown() != answer {
		t.Fatalf("answer shows %q", msgs[0].Shown())
	}
	if n := e.fake.PendingFaults(); n != 0 {
		t.Fatalf("%d injected 429s never hit", n)
	}
	if v := e.fake.Violations(); len(v) != 0 {
		t.Fatalf("violations: %+v", v)
	}
}

func TestE2ESocketRefreshMidStream(t *testing.T) {
	e := MustE2E(t, nil, testkit.Options{})
	hold := make(chan struct{})
	answer := "The first answer, held open across a Socket Mode refresh."
	e.stack.Kimi.Enqueue(kimitest.Response{Content: answer, ChunkSize: 8, Hold: hold})
	q := e.mention("C1", "", "first")
	waitThread(t, e.ctx, e.fake, "C1", q.TS, func(msgs []slacktest.Message) bool {
		return len(msgs) == 1 && msgs[0].Shown() != ""
	})
	opened, _ := e.fake.Connections()
	e.fake.Disconnect("refresh_requested", 2*time.Second)
	// Arrives while the client reconnects.
	follow := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "second", TS: e.fake.NewTS(), ThreadTS: q.TS}
	id := e.fake.PushEvent(e.fake.Callback(follow.Message()).Body)
	if _, err := e.fake.WaitAcked(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	close(hold)
	msgs := e.answered(t, "C1", q.TS, 2)
	if got := shownTexts(msgs); !reflect.DeepEqual(got, []string{answer, "You said: second"}) {
		t.Fatalf("thread shows %q", got)
	}
	if n, _ := e.fake.Connections(); n <= opened {
		t.Fatal("the client did not reconnect")
	}
	if n := len(e.stack.Kimi.ChatRequests()); n != 2 {
		t.Fatalf("%d model calls, want 2", n)
	}
}

func TestE2ELongAnswer(t *testing.T) {
	e := MustE2E(t, nil, testkit.Options{})
	answer := longAnswer(30_000)
	e.stack.Kimi.Enqueue(kimitest.Response{Content: answer, ChunkSize: 150})
	q := e.mention("C1", "", "write a lot")
	msgs := e.answered(t, "C1", q.TS, 1)
	parts := shownTexts(msgs)
	if len(parts) < 3 {
		t.Fatalf("%d messages for 30,000 characters", len(parts))
	}
	for i, p := range parts {
		if n := slackText.Len(p); n > slackText.Limit {
			t.Fatalf("message %d is %d long", i, n)
		}
		if i < len(parts)-1 && slackText.FenceAt(p+"\n", 0, chattext.Fence{}).Open() {
			t.Fatalf("message %d breaks a code fence", i)
		}
	}
	matchParts(t, answer, parts)
	if want := slackText.Split(answer); !reflect.DeepEqual(parts, want) {
		t.Fatalf("messages are not Split(answer): %d vs %d parts", len(parts), len(want))
	}
}

func TestE2EImage(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake pixels")
	tests := []struct {
		name, model string
		vision      bool
	}{
		{"OKVision", "kimi-k2.6", true},
		{"OKTextOnlyNote", "kimi-k2-turbo-preview", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := MustE2E(t, nil, testkit.Options{Model: tt.model})
			f := e.fake.AddFile("chart.png", "image/png", png)
			m := slacktest.UserMessage{User: "U1", Channel: "D1", ChannelType: "im", Text: "what is in this picture?",
				TS: e.fake.NewTS(), SubType: "file_share", Files: []slacktest.File{f}}
			e.fake.PushEvent(e.fake.Callback(m.Message()).Body)
			e.answered(t, "D1", "", 1)
			reqs := e.stack.Kimi.ChatRequests()
			if len(reqs) != 1 {
				t.Fatalf("%d model calls", len(reqs))
			}
			last := reqs[0].Messages[len(reqs[0].Messages)-1]
			var parts []struct {
				Type     string `json:"type"`
				ImageURL struct {
					URL string `json:"url"`
				} `json:"image_url"`
			}
			_ = json.Unmarshal(last.Content, &parts)
			want := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
			var found bool
			for _, p := range parts {
				found = found || (p.Type == "image_url" && p.ImageURL.URL == want)
			}
			if found != tt.vision {
				t.Fatalf("image part sent = %v, want %v; content %s", found, tt.vision, last.Content)
			}
			if !tt.vision && !strings.Contains(last.Text(), "image") {
				t.Fatalf("text-only model got no note: %q", last.Text())
			}
			if n := len(e.fake.Calls("files.download")); (n == 1) != tt.vision {
				t.Fatalf("%d downloads", n)
			}
		})
	}
}

func TestE2ELeaveReaction(t *testing.T) {
	e := MustE2E(t, nil, testkit.Options{})
	q := e.mention("C1", "", "hello")
	msgs := e.answered(t, "C1", q.TS, 1)
	e.fake.PushEvent(e.fake.Callback(slacktest.Reaction("U1", "hand", "C1", msgs[0].TS)).Body)
	e.stack.WaitIdle(t)
	msgs = waitThread(t, e.ctx, e.fake, "C1", q.TS, func(m []slacktest.Message) bool { return len(m) == 2 && !m[1].Streaming })
	if !strings.Contains(msgs[1].Shown(), "stop following") {
		t.Fatalf("leave confirmation = %q", msgs[1].Shown())
	}
	follow := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "still there?", TS: e.fake.NewTS(), ThreadTS: q.TS}
	e.fake.PushEvent(e.fake.Callback(follow.Message()).Body)
	if _, err := e.fake.WaitAcked(e.ctx, e.fake.Envelopes()[len(e.fake.Envelopes())-1].ID); err != nil {
		t.Fatal(err)
	}
	e.stack.WaitIdle(t)
	if n := len(e.stack.Kimi.ChatRequests()); n != 1 {
		t.Fatalf("%d model calls after leaving; want only the first", n)
	}
}

func TestE2EHTTPMode(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, func(c *Config) { c.Footer = true })
	stack := testkit.Start(t, a, testkit.Options{})
	waitReady(t, a)
	srv := httptest.NewServer(a.HTTPHandler())
	t.Cleanup(srv.Close)
	ctx := testContext(t)
	m := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> over http", TS: fake.NewTS()}
	cb := fake.Callback(m.Mention())
	post := func(at time.Time, secret string) int {
		req, err := slacktest.SignedRequest(ctx, srv.URL+"/slack/events", secret, at, "application/json", cb.Body)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := send(t, req)
		return code
	}
	if code := post(time.Now(), "not-the-secret"); code != http.StatusUnauthorized {
		t.Fatalf("bad signature: status %d", code)
	}
	if code := post(time.Now().Add(-10*time.Minute), testSecret); code != http.StatusUnauthorized {
		t.Fatalf("stale timestamp: status %d", code)
	}
	stack.WaitIdle(t)
	if n := len(stack.Kimi.ChatRequests()); n != 0 {
		t.Fatalf("rejected requests reached the model %d times", n)
	}
	if code := post(time.Now(), testSecret); code != http.StatusOK {
		t.Fatalf("good request: status %d", code)
	}
	// Slack's retry of the same event is acknowledged and answered only once.
	if code, err := slacktest.PostEvent(ctx, srv.URL+"/slack/events", testSecret, cb.Body, 1); err != nil || code != http.StatusOK {
		t.Fatalf("retry: status %d, err %v", code, err)
	}
	msgs := waitThread(t, ctx, fake, "C1", m.TS, func(msgs []slacktest.Message) bool { return len(msgs) == 1 && msgs[0].Footer != "" })
	stack.WaitIdle(t)
	if msgs[0].Shown() != "You said: over http" {
		t.Fatalf("answer = %q", msgs[0].Shown())
	}
	if n := len(stack.Kimi.ChatRequests()); n != 1 {
		t.Fatalf("%d model calls, want 1", n)
	}
}
