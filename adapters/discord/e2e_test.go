package discord

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/internal/testkit"
)

// e2eWindow is the fake's bucket window in end-to-end tests: Discord's 5
// writes per 5 s, compressed so that tests stay fast. The adapter learns
// it from the headers.
const e2eWindow = 500 * time.Millisecond

// e2e is the whole bot (engine, storage, Kimi client) on the Discord
// adapter, against fake Discord and fake Kimi.
type e2e struct {
	fake  *discordtest.Server
	a     *Adapter
	stack *testkit.Stack
	user  discordtest.User
	dm    string
}

func mustE2E(tb testing.TB) *e2e {
	tb.Helper()
	return mustE2EWith(tb, discordtest.Options{}, nil)
}

// mustE2EWith starts the whole bot with fake options; setup, if set, may
// add guilds and users to the fake and returns the stack's options.
func mustE2EWith(tb testing.TB, opts discordtest.Options, setup func(e *e2e) testkit.Options) *e2e {
	tb.Helper()
	opts.MessageLimit, opts.MessageWindow = 5, e2eWindow
	fake := MustFake(tb, opts)
	e := &e2e{fake: fake, a: MustAdapter(tb, fake, nil), user: fake.AddUser("ada", false)}
	e.dm = fake.DMChannel(e.user.ID)
	var so testkit.Options
	if setup != nil {
		so = setup(e)
	}
	e.stack = testkit.Start(tb, e.a, so)
	e.waitReady(tb)
	tb.Cleanup(func() { e.checkLimits(tb) })
	return e
}

// waitReady waits until the adapter's gateway session is up.
func (e *e2e) waitReady(tb testing.TB) {
	tb.Helper()
	e.fake.WaitConnected(tb, 1)
	e.fake.WaitFor(tb, "adapter ready", e.a.Ready)
}

// restart stops the bot and starts it again on the same database with a
// (new) adapter, as a process restart would; a nil adapter makes one.
func (e *e2e) restart(tb testing.TB, a *Adapter) {
	tb.Helper()
	if a == nil {
		a = MustAdapter(tb, e.fake, nil)
	}
	e.a = a
	e.stack = e.stack.Restart(tb, a)
	e.waitReady(tb)
}

// checkLimits asserts that no rate limit was ever hit or exceeded.
func (e *e2e) checkLimits(tb testing.TB) {
	tb.Helper()
	if n := e.fake.Stats().RateLimited; n != 0 {
		tb.Errorf("got %d 429s, want none", n)
	}
	if n, ch := e.fake.MaxWrites(e2eWindow); n > 5 {
		tb.Errorf("%d message writes to channel %s within %v; the bucket allows 5", n, ch, e2eWindow)
	}
}

// waitAnswer waits until the bot's messages in a channel read want.
func (e *e2e) waitAnswer(tb testing.TB, channel, want string) {
	tb.Helper()
	waitContent(tb, e.fake, channel, want)
	e.stack.WaitIdle(tb)
}

// waitMessage waits until one of the bot's messages in a channel reads
// want, and for the engine to settle.
func (e *e2e) waitMessage(tb testing.TB, channel, want string) discordtest.Message {
	tb.Helper()
	var found discordtest.Message
	e.fake.WaitFor(tb, "message "+want, func() bool {
		for _, m := range e.fake.BotMessages(channel) {
			if m.Content == want {
				found = m
				return true
			}
		}
		return false
	})
	e.stack.WaitIdle(tb)
	return found
}

// streamingAnswer is a reply long enough to be streamed in many deltas.
var streamingAnswer = strings.Repeat("Streaming is shown by editing one message. ", 12)

// holdMidway pauses a scripted answer in the middle of its content until
// release is called or the test ends, so that a partial answer shows.
func holdMidway(tb testing.TB, r *kimitest.Response) (release func()) {
	hold := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	tb.Cleanup(release)
	mid := len(r.Content) / r.ChunkSize / 2
	r.OnWrite = func(i int, _ time.Time) {
		if i == mid {
			<-hold
		}
	}
	return release
}

// waitPartial waits until a proper, non-empty prefix of want is shown in
// channel: the answer is visible while the model is still writing.
func (e *e2e) waitPartial(tb testing.TB, channel, want string) {
	tb.Helper()
	e.fake.WaitFor(tb, "partial answer", func() bool {
		msgs := e.fake.BotMessages(channel)
		return len(msgs) == 1 && msgs[0].Content != "" && msgs[0].Content != want && strings.HasPrefix(want, msgs[0].Content)
	})
}

func TestE2EDirectMessageStreamsByEdits(t *testing.T) {
	t.Parallel()
	e := mustE2E(t)
	resp := kimitest.Response{Reasoning: "Let me think about it.", Content: streamingAnswer, ChunkSize: 5}
	release := holdMidway(t, &resp)
	// The model thinks until the typing indicator is up, however slow the
	// machine, so that the test sees what a thinking model shows.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hold := resp.OnWrite
	resp.OnWrite = func(i int, at time.Time) {
		if i == 0 {
			_ = e.fake.Wait(ctx, func() bool { return typed(e.fake, e.dm) })
		}
		hold(i, at)
	}
	e.stack.Kimi.Enqueue(resp)
	e.fake.SendMessage(discordtest.Incoming{Channel: e.dm, Author: e.user, Content: "tell me about streaming"})
	// The model pauses in the middle of its answer: what is shown so far was streamed.
	e.waitPartial(t, e.dm, streamingAnswer)
	release()
	e.waitAnswer(t, e.dm, streamingAnswer)
	msgs := e.fake.BotMessages(e.dm)
	if len(msgs) != 1 || msgs[0].Content != streamingAnswer || msgs[0].Edits < 1 {
		t.Fatalf("bot messages = %q (edits %d), want one message edited to the exact answer", contents(e.fake, e.dm), msgs[0].Edits)
	}
	// The typing indicator showed while the model was thinking.
	var typing, created time.Time
	for _, c := range e.fake.Calls() {
		if c.Route == discordtest.RouteTyping && c.Channel == e.dm && typing.IsZero() {
			typing = c.Time
		}
		if c.Route == discordtest.RouteCreateMessage && c.Channel == e.dm && created.IsZero() {
			created = c.Time
		}
	}
	if typing.IsZero() || typing.After(created) {
		t.Fatalf("typing at %v, first message at %v: want typing first", typing, created)
	}
	if got := e.stack.Kimi.ChatRequests(); len(got) != 1 || got[0].Messages[len(got[0].Messages)-1].Text() != "tell me about streaming" {
		t.Fatalf("the model got %d requests, want 1 with the user's text", len(got))
	}
}

// typed reports whether the bot sent a typing indicator in channel.
func typed(fake *discordtest.Server, channel string) bool {
	for _, c := range fake.Calls() {
		if c.Route == discordtest.RouteTyping && c.Channel == channel {
			return true
		}
	}
	return false
}

func TestE2EMentionStartsThreadAndFollowUpContinues(t *testing.T) {
	t.Parallel()
	e := mustE2E(t)
	guild := e.fake.AddGuild()
	ch := e.fake.AddTextChannel(guild, "general")
	m := mention(e.fake, ch, e.user, "what is Go?")
	e.waitAnswer(t, m.ID, "You said: what is Go?")
	th, ok := e.fake.Channel(m.ID)
	if !ok || th.ParentID != ch || th.Name != "what is Go?" {
		t.Fatalf("thread = %+v (exists %v), want one started from the mention", th, ok)
	}
	if got := contents(e.fake, ch); len(got) != 0 {
		t.Fatalf("the bot also wrote in the channel: %q", got)
	}
	// A follow-up in the thread, without a mention, continues the conversation.
	e.fake.SendMessage(discordtest.Incoming{Channel: m.ID, Author: e.user, Content: "and channels?"})
	e.waitAnswer(t, m.ID, "You said: what is Go?You said: and channels?")
	reqs := e.stack.Kimi.ChatRequests()
	if len(reqs) != 2 {
		t.Fatalf("the model got %d requests, want 2", len(reqs))
	}
	var history []string
	for _, msg := range reqs[1].Messages {
		if msg.Role != "system" {
			history = append(history, msg.Role+": "+msg.Text())
		}
	}
	want := []string{"user: what is Go?", "assistant: You said: what is Go?", "user: and channels?"}
	if strings.Join(history, "\n") != strings.Join(want, "\n") {
		t.Fatalf("second request history:\n%s\nwant\n%s", strings.Join(history, "\n"), strings.Join(want, "\n"))
	}
}

func TestE2EReplyContinuesWhereThreadsAreNotAllowed(t *testing.T) {
	t.Parallel()
	e := mustE2E(t)
	guild := e.fake.AddGuild()
	ch := e.fake.AddTextChannel(guild, "no-threads")
	e.fake.ForbidThreads(ch)
	m := mention(e.fake, ch, e.user, "first question")
	e.waitAnswer(t, ch, "You said: first question")
	answer := e.fake.BotMessages(ch)[0]
	if answer.MessageReference == nil || answer.MessageReference.MessageID != m.ID {
		t.Fatalf("answer %+v should reply to the mention", answer)
	}
	// Replying to the bot's message, without a mention, continues.
	e.fake.SendMessage(discordtest.Incoming{Channel: ch, Author: e.user, Content: "second question", ReplyTo: answer.ID})
	e.waitAnswer(t, ch, "You said: first questionYou said: second question")
	reqs := e.stack.Kimi.ChatRequests()
	if len(reqs) != 2 || len(reqs[1].Messages) < 3 || reqs[1].Messages[len(reqs[1].Messages)-3].Text() != "first question" {
		t.Fatalf("the second request should carry the first exchange")
	}
}

func TestE2ELongAnswerIsSplit(t *testing.T) {
	t.Parallel()
	e := mustE2E(t)
	text := longAnswer()
	e.stack.Kimi.Enqueue(kimitest.Response{Content: text, ChunkSize: 40})
	e.fake.SendMessage(discordtest.Incoming{Channel: e.dm, Author: e.user, Content: "write a program"})
	e.fake.WaitFor(t, "whole answer", func() bool { return covers(text, 0, contents(e.fake, e.dm)) })
	e.stack.WaitIdle(t)
	msgs := contents(e.fake, e.dm)
	if len(msgs) < 3 {
		t.Fatalf("%d messages for %d characters", len(msgs), len(text))
	}
	checkMessages(t, text, msgs)
}

func TestE2EGatewayDropMidStreamResumes(t *testing.T) {
	t.Parallel()
	e := mustE2E(t)
	resp := kimitest.Response{Content: streamingAnswer, ChunkSize: 5}
	release := holdMidway(t, &resp)
	e.stack.Kimi.Enqueue(resp)
	e.fake.SendMessage(discordtest.Incoming{Channel: e.dm, Author: e.user, Content: "first"})
	e.waitPartial(t, e.dm, streamingAnswer)
	if e.fake.DropConnection() != 1 {
		t.Fatal("no gateway connection to drop")
	}
	release()
	e.waitAnswer(t, e.dm, streamingAnswer)
	e.fake.WaitFor(t, "resume", func() bool {
		rs := e.fake.Resumes()
		return len(rs) == 1 && rs[0].Accepted
	})
	e.fake.SendMessage(discordtest.Incoming{Channel: e.dm, Author: e.user, Content: "after the drop"})
	e.waitAnswer(t, e.dm, streamingAnswer+"You said: after the drop")
	if n := len(e.fake.Identifies()); n != 1 {
		t.Fatalf("%d identifies, want 1: the session must resume", n)
	}
}

func TestE2EReplayedMessageGetsNoSecondReply(t *testing.T) {
	t.Parallel()
	e := mustE2E(t)
	m := e.fake.SendMessage(discordtest.Incoming{Channel: e.dm, Author: e.user, Content: "hello"})
	e.waitAnswer(t, e.dm, "You said: hello")
	e.fake.ReplayMessage(m.ID)
	// A replay after a reconnect, too.
	e.fake.DropConnection()
	e.fake.ReplayMessage(m.ID)
	e.fake.WaitFor(t, "resume", func() bool { return len(e.fake.Resumes()) == 1 })
	e.fake.SendMessage(discordtest.Incoming{Channel: e.dm, Author: e.user, Content: "next"})
	e.waitAnswer(t, e.dm, "You said: helloYou said: next")
	if n := len(e.stack.Kimi.ChatRequests()); n != 2 {
		t.Fatalf("the model was called %d times, want 2", n)
	}
}

func TestE2EImageReachesModel(t *testing.T) {
	t.Parallel()
	e := mustE2E(t)
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDRsmall image")
	at := e.fake.AddAttachment("cat.png", "image/png", png)
	e.fake.SendMessage(discordtest.Incoming{Channel: e.dm, Author: e.user, Content: "what is this?", Attachments: []discordtest.Attachment{at}})
	e.waitAnswer(t, e.dm, "You said: what is this?")
	reqs := e.stack.Kimi.ChatRequests()
	last := reqs[0].Messages[len(reqs[0].Messages)-1]
	want := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	if !strings.Contains(string(last.Content), want) {
		t.Fatalf("the model's user message %s does not carry the image", last.Content)
	}
}
