package slack

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/internal/chattext"
)

var testFooter = bot.Footer{Model: "kimi-k2.6", Usage: conversation.Usage{TotalTokens: 42}, Elapsed: time.Second}

const testFooterLine = "kimi-k2.6 · 42 tokens · 1.0s"

func threadTarget(channel, thread string) bot.ReplyTarget {
	return bot.ReplyTarget{
		Thread: bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: channel, Thread: thread, DM: strings.HasPrefix(channel, "D")},
		User:   "U1", Message: thread,
	}
}

func MustReply(tb testing.TB, a *Adapter, to bot.ReplyTarget) bot.Reply {
	tb.Helper()
	r, err := a.Reply(context.Background(), to)
	if err != nil {
		tb.Fatalf("reply: %v", err)
	}
	return r
}

// appendAndWait appends each chunk and waits until the thread shows the
// text so far (prior and the chunks), so that every chunk becomes a
// visible state.
func appendAndWait(tb testing.TB, ctx context.Context, fake *slacktest.Server, r bot.Reply, to bot.ReplyTarget, prior string, chunks ...string) {
	tb.Helper()
	text := prior
	for _, c := range chunks {
		if err := r.Append(ctx, c); err != nil {
			tb.Fatalf("append: %v", err)
		}
		text += c
		waitThread(tb, ctx, fake, to.Thread.Channel, to.Thread.Thread, shows(text))
	}
}

func TestReplyStreamsNatively(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, func(c *Config) { c.Footer = true })
	ctx, to := testContext(t), threadTarget("C1", "1700000000.000100")
	r := MustReply(t, a, to)

	// The status shows before any text.
	if err := fake.Wait(ctx, func() bool { return len(fake.Statuses("C1", to.Thread.Thread)) == 1 }); err != nil {
		t.Fatal(err)
	}
	appendAndWait(t, ctx, fake, r, to, "", "Hello", ", wor", "ld!")
	refs, err := r.Finish(ctx, testFooter)
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Thread("C1", to.Thread.Thread)
	if len(msgs) != 1 || !msgs[0].Streamed || msgs[0].Streaming {
		t.Fatalf("messages = %+v", msgs)
	}
	m := msgs[0]
	wantStates := []string{"Hello", "Hello, wor", "Hello, world!"}
	if got := stateTexts(m); !reflect.DeepEqual(got, wantStates) || m.Footer != testFooterLine {
		t.Fatalf("states = %q, footer = %q", got, m.Footer)
	}
	if want := []bot.MsgRef{{Platform: "slack", Channel: "C1", ID: m.TS}}; !reflect.DeepEqual(refs, want) {
		t.Fatalf("refs = %+v, want %+v", refs, want)
	}
	if got := statusTexts(fake.Statuses("C1", to.Thread.Thread)); !reflect.DeepEqual(got, []string{"thinking…", ""}) {
		t.Fatalf("statuses = %q", got)
	}
	if n := len(fake.Calls("chat.postMessage", "chat.update")); n != 0 {
		t.Fatalf("%d post/update calls while streaming", n)
	}
}

func stateTexts(m slacktest.Message) []string {
	out := make([]string, len(m.States))
	for i, s := range m.States {
		out[i] = s.Text
	}
	return out
}

func TestReplyPostsAndUpdatesWithoutStreaming(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, func(c *Config) { c.NativeStreaming, c.Footer = false, true })
	ctx, to := testContext(t), threadTarget("C1", "1700000000.000100")
	r := MustReply(t, a, to)

	waitThread(t, ctx, fake, "C1", to.Thread.Thread, shows("_thinking…_"))
	appendAndWait(t, ctx, fake, r, to, "", "Let me check.")
	if err := r.Status(ctx, "looking up order A1001"); err != nil {
		t.Fatal(err)
	}
	if err := fake.Wait(ctx, func() bool {
		st := fake.Statuses("C1", to.Thread.Thread)
		return len(st) > 0 && st[len(st)-1].Status == "looking up order A1001"
	}); err != nil {
		t.Fatal(err)
	}
	appendAndWait(t, ctx, fake, r, to, "Let me check.", " It shipped.")
	if _, err := r.Finish(ctx, testFooter); err != nil {
		t.Fatal(err)
	}
	m := fake.Thread("C1", to.Thread.Thread)[0]
	if m.Streamed || m.Shown() != "Let me check. It shipped." || m.Footer != testFooterLine {
		t.Fatalf("message = %+v", m)
	}
	if st := fake.Statuses("C1", to.Thread.Thread); st[len(st)-1].Status != "" {
		t.Fatalf("status left at %q", st[len(st)-1].Status)
	}
	if n := len(fake.Calls("chat.startStream")); n != 0 {
		t.Fatalf("%d startStream calls with native streaming off", n)
	}
}

func TestReplyInDMShowsStatusInMessage(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, nil)
	ctx, to := testContext(t), threadTarget("D1", "")
	r := MustReply(t, a, to)

	waitThread(t, ctx, fake, "D1", "", shows("_thinking…_"))
	appendAndWait(t, ctx, fake, r, to, "", "Checking.")
	if err := r.Status(ctx, "looking up order A1001"); err != nil {
		t.Fatal(err)
	}
	waitThread(t, ctx, fake, "D1", "", shows("Checking.\n\n_looking up order A1001…_"))
	appendAndWait(t, ctx, fake, r, to, "Checking.", " Shipped.")
	if _, err := r.Finish(ctx, testFooter); err != nil {
		t.Fatal(err)
	}
	if got := shownTexts(fake.Thread("D1", "")); !reflect.DeepEqual(got, []string{"Checking. Shipped."}) {
		t.Fatalf("DM shows %q", got)
	}
	if n := len(fake.Calls("assistant.threads.setStatus", "chat.startStream")); n != 0 {
		t.Fatalf("%d status/stream calls outside a thread", n)
	}
}

func TestReplyFallsBackWhenStreamingRefused(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	fake.DisableStreaming("method_not_supported_for_channel_type")
	a := MustAdapter(t, fake, nil)
	ctx := testContext(t)
	for i, thread := range []string{"1700000000.000100", "1700000000.000200"} {
		to := threadTarget("C1", thread)
		r := MustReply(t, a, to)
		appendAndWait(t, ctx, fake, r, to, "", "answer ", fmt.Sprint(i))
		if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.Calls("chat.startStream")); n != 1 {
		t.Fatalf("startStream called %d times; the refusal should be remembered for the channel", n)
	}
	for i, thread := range []string{"1700000000.000100", "1700000000.000200"} {
		if got := shownTexts(fake.Thread("C1", thread)); !reflect.DeepEqual(got, []string{fmt.Sprint("answer ", i)}) {
			t.Fatalf("thread %d shows %q", i, got)
		}
	}
}

func TestReplyFail(t *testing.T) {
	tests := []struct {
		name, text string
		native     bool
		want       string
	}{
		{"OKNoTextPosted", "", false, "_⚠️ The model is unavailable._"},
		{"OKNoTextStreamed", "", true, "_⚠️ The model is unavailable._"},
		{"OKAfterText", "Partial answer", true, "Partial answer\n\n_⚠️ The model is unavailable._"},
		{"OKClosesOpenFence", "```go\nfmt.Println(", false, "```go\nfmt.Println(\n```\n\n_⚠️ The model is unavailable._"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slacktest.Start(t, slacktest.Options{})
			a := MustAdapter(t, fake, func(c *Config) { c.NativeStreaming = tt.native })
			ctx, to := testContext(t), threadTarget("C1", "1700000000.000100")
			r := MustReply(t, a, to)
			if tt.text != "" {
				appendAndWait(t, ctx, fake, r, to, "", tt.text)
			}
			if err := r.Fail(ctx, "The model is unavailable."); err != nil {
				t.Fatal(err)
			}
			if got := shownTexts(fake.Thread("C1", to.Thread.Thread)); !reflect.DeepEqual(got, []string{tt.want}) {
				t.Fatalf("thread shows %q, want %q", got, tt.want)
			}
			if st := fake.Statuses("C1", to.Thread.Thread); len(st) > 0 && st[len(st)-1].Status != "" {
				t.Fatalf("status left at %q", st[len(st)-1].Status)
			}
			if err := r.Append(ctx, "more"); err == nil {
				t.Fatal("append after Fail succeeded")
			}
		})
	}
}

func TestReplyWaitsOutRateLimits(t *testing.T) {
	tests := []struct {
		name   string
		native bool
		fault  slacktest.Fault
	}{
		{"UpdateRetryAfter", false, slacktest.Fault{Method: "chat.update", Status: 429, RetryAfter: "1", After: 1}},
		{"UpdateNoHeader", false, slacktest.Fault{Method: "chat.update", Status: 429, After: 1}},
		{"UpdateFractionalHeader", false, slacktest.Fault{Method: "chat.update", Status: 429, RetryAfter: "0.5", After: 1}},
		{"UpdateServerError", false, slacktest.Fault{Method: "chat.update", Status: 503, After: 1, Times: 2}},
		{"AppendRetryAfter", true, slacktest.Fault{Method: "chat.appendStream", Status: 429, RetryAfter: "1"}},
		{"StopNoHeader", true, slacktest.Fault{Method: "chat.stopStream", Status: 429}},
		{"PostRetryAfter", false, slacktest.Fault{Method: "chat.postMessage", Status: 429, RetryAfter: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := slacktest.Start(t, slacktest.Options{})
			fake.Inject(tt.fault)
			a := MustAdapter(t, fake, func(c *Config) { c.NativeStreaming = tt.native })
			ctx, to := testContext(t), threadTarget("C1", "1700000000.000100")
			r := MustReply(t, a, to)
			chunks := []string{"one ", "two ", "three ", "four"}
			for _, c := range chunks {
				if err := r.Append(ctx, c); err != nil {
					t.Fatal(err)
				}
				// Each chunk gets its own call, so the fault hits mid-answer.
				waitThread(t, ctx, fake, "C1", to.Thread.Thread, func([]slacktest.Message) bool {
					return strings.HasSuffix(lastShown(fake, to), c)
				})
			}
			if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
				t.Fatal(err)
			}
			if got := shownTexts(fake.Thread("C1", to.Thread.Thread)); !reflect.DeepEqual(got, []string{strings.Join(chunks, "")}) {
				t.Fatalf("thread shows %q", got)
			}
			if n := fake.PendingFaults(); n != 0 {
				t.Fatalf("%d injected faults never hit", n)
			}
			if v := fake.Violations(); len(v) != 0 {
				t.Fatalf("violations: %+v", v)
			}
		})
	}
}

func lastShown(fake *slacktest.Server, to bot.ReplyTarget) string {
	msgs := fake.Thread(to.Thread.Channel, to.Thread.Thread)
	if len(msgs) == 0 {
		return ""
	}
	return msgs[len(msgs)-1].Shown()
}

// longAnswer is a Markdown answer of about n characters: paragraphs, lists
// and code fences, with a paragraph break at least every 1,500 characters.
func longAnswer(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, "## Section %d\n\n", i)
		case 1:
			b.WriteString(strings.Repeat(fmt.Sprintf("Sentence %d about Kimi and Slack limits. ", i), 12) + "\n\n")
		case 2:
			b.WriteString("```go\n")
			for j := range 25 {
				fmt.Fprintf(&b, "fmt.Println(%d, %q)\n", j, "value")
			}
			b.WriteString("```\n\n")
		case 3:
			for j := range 8 {
				fmt.Fprintf(&b, "- item %d of list %d\n", j, i)
			}
			b.WriteString("\n")
		default:
			b.WriteString("Short paragraph with **bold** and `code`.\n\n")
		}
	}
	return b.String()
}

func TestReplySplitsLongAnswer(t *testing.T) {
	answer := longAnswer(30_000)
	longFence := "Intro.\n\n```python\n" + strings.Repeat("print('kimi')  # a long program line\n", 700) + "```\nDone.\n"
	tests := []struct {
		name   string
		answer string
		native bool
		// exact: the messages are exactly Split(answer).
		exact bool
	}{
		{"PostedExact", answer, false, true},
		{"StreamedExact", answer, true, true},
		{"PostedLongFence", longFence, false, true},
		{"StreamedLongFence", longFence, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := slacktest.Start(t, slacktest.Options{})
			a := MustAdapter(t, fake, func(c *Config) { c.NativeStreaming, c.Footer = tt.native, true })
			ctx, to := testContext(t), threadTarget("C1", "1700000000.000100")
			r := MustReply(t, a, to)
			for i := 0; i < len(tt.answer); i += 97 {
				if err := r.Append(ctx, tt.answer[i:min(i+97, len(tt.answer))]); err != nil {
					t.Fatal(err)
				}
			}
			refs, err := r.Finish(ctx, testFooter)
			if err != nil {
				t.Fatal(err)
			}
			msgs := fake.Thread("C1", to.Thread.Thread)
			parts := shownTexts(msgs)
			if len(refs) != len(msgs) || len(msgs) < 3 {
				t.Fatalf("%d refs for %d messages", len(refs), len(msgs))
			}
			for i, p := range parts {
				if n := slackText.Len(p); n > slackText.Limit {
					t.Fatalf("message %d is %d long", i, n)
				}
				if i < len(parts)-1 && slackText.FenceAt(p+"\n", 0, chattext.Fence{}).Open() {
					t.Fatalf("message %d leaves a code fence open", i)
				}
				if (msgs[i].Footer != "") != (i == len(msgs)-1) {
					t.Fatalf("message %d footer = %q", i, msgs[i].Footer)
				}
			}
			matchParts(t, tt.answer, parts)
			if want := slackText.Split(tt.answer); tt.exact && !reflect.DeepEqual(parts, want) {
				t.Fatalf("messages differ from Split: %d vs %d parts", len(parts), len(want))
			}
			if v := fake.Violations(); len(v) != 0 {
				t.Fatalf("violations: %+v", v)
			}
		})
	}
}

// TestConcurrentRepliesShareTheBudget runs many posted replies in one
// workspace against a fake whose update window is compressed along with
// the adapter's, so the shared chat.update budget is really contended.
func TestConcurrentRepliesShareTheBudget(t *testing.T) {
	const window, updates = 3 * time.Second, 20
	fake := slacktest.Start(t, slacktest.Options{Window: window, UpdatesPerWindow: updates, PostInterval: window / 60})
	a := MustAdapter(t, fake, func(c *Config) {
		c.NativeStreaming, c.LimitWindow, c.UpdatesPerMinute = false, window, updates
	})
	ctx := testContext(t)
	var wg sync.WaitGroup
	const n = 6
	for i := range n {
		wg.Go(func() {
			to := threadTarget(fmt.Sprintf("C%d", i%3), fmt.Sprintf("1700000000.%06d", i))
			r := MustReply(t, a, to)
			for j := range 30 {
				_ = r.Append(ctx, fmt.Sprintf("%d-%d ", i, j))
				if j%10 == 9 {
					_ = fake.Wait(ctx, func() bool { return strings.Contains(lastShown(fake, to), fmt.Sprintf("%d-%d ", i, j-5)) })
				}
			}
			if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		var want strings.Builder
		for j := range 30 {
			fmt.Fprintf(&want, "%d-%d ", i, j)
		}
		got := shownTexts(fake.Thread(fmt.Sprintf("C%d", i%3), fmt.Sprintf("1700000000.%06d", i)))
		if len(got) != 1 || got[0] != want.String() {
			t.Fatalf("reply %d shows %q", i, got)
		}
	}
	if v := fake.Violations(); len(v) != 0 {
		t.Fatalf("violations: %+v", v)
	}
}

// TestReplyFinishRightAfterAppend ends many replies at once while their
// text is still on its way, in both modes: every one must end complete.
func TestReplyFinishRightAfterAppend(t *testing.T) {
	for _, native := range []bool{true, false} {
		t.Run(fmt.Sprint("native=", native), func(t *testing.T) {
			fake := slacktest.Start(t, slacktest.Options{})
			a := MustAdapter(t, fake, func(c *Config) { c.NativeStreaming, c.Footer = native, true })
			ctx := testContext(t)
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					to := threadTarget(fmt.Sprintf("C%d", i), "1700000000.000100")
					r := MustReply(t, a, to)
					for j := range 3 {
						_ = r.Append(ctx, fmt.Sprint(j))
						_ = r.Status(ctx, "working")
					}
					if _, err := r.Finish(ctx, testFooter); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			for i := range 40 {
				msgs := fake.Thread(fmt.Sprintf("C%d", i), "1700000000.000100")
				if len(msgs) != 1 || msgs[0].Shown() != "012" || msgs[0].Footer != testFooterLine {
					t.Fatalf("reply %d shows %+v", i, msgs)
				}
			}
		})
	}
}

// TestReplyContinuesAfterLosingAMessage checks that when Slack stops
// accepting changes to the message being written (a stream that is no
// longer streaming, a message someone deleted), the rest of the answer
// goes on in a new message and nothing is lost.
func TestReplyContinuesAfterLosingAMessage(t *testing.T) {
	tests := []struct {
		name   string
		native bool
		fault  *slacktest.Fault
		delete bool
	}{
		{"AppendRefused", true, &slacktest.Fault{Method: "chat.appendStream", Error: "message_not_in_streaming_state"}, false},
		{"StopRefused", true, &slacktest.Fault{Method: "chat.stopStream", Error: "message_not_in_streaming_state"}, false},
		{"PostedMessageDeleted", false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slacktest.Start(t, slacktest.Options{})
			if tt.fault != nil {
				fake.Inject(*tt.fault)
			}
			a := MustAdapter(t, fake, func(c *Config) { c.NativeStreaming, c.Footer = tt.native, true })
			ctx, to := testContext(t), threadTarget("C1", "1700000000.000100")
			r := MustReply(t, a, to)
			appendAndWait(t, ctx, fake, r, to, "", "First words. ")
			if tt.delete {
				fake.DeleteMessage("C1", fake.Thread("C1", to.Thread.Thread)[0].TS)
			}
			if err := r.Append(ctx, "More words. "); err != nil {
				t.Fatal(err)
			}
			if tt.fault != nil && tt.fault.Method == "chat.appendStream" {
				// Let the refused append happen before the answer ends.
				if err := fake.Wait(ctx, func() bool { return fake.PendingFaults() == 0 }); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.Append(ctx, "Last words."); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Finish(ctx, testFooter); err != nil {
				t.Fatal(err)
			}
			if n := fake.PendingFaults(); n != 0 {
				t.Fatal("the injected refusal never happened")
			}
			msgs := fake.Thread("C1", to.Thread.Thread)
			answer := "First words. More words. Last words."
			if tt.delete {
				// The deleted message is gone; its part is posted again in full.
				if got := shownTexts(msgs); !reflect.DeepEqual(got, []string{answer}) {
					t.Fatalf("thread shows %q", got)
				}
			} else {
				if len(msgs) != 2 {
					t.Fatalf("thread shows %q; want the answer to go on in a second message", shownTexts(msgs))
				}
				matchParts(t, answer, shownTexts(msgs))
			}
			if last := msgs[len(msgs)-1]; last.Footer != testFooterLine {
				t.Fatalf("last message footer = %q", last.Footer)
			}
		})
	}
}
