package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/bot/bottest"
	"kimibot/conversation"
	"kimibot/internal/testkit"
)

// harness is an engine on the fakes with a recording platform.
type harness struct {
	*testkit.Stack
	p    *bottest.Platform
	logs *syncBuffer
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func MustStart(tb testing.TB, opts testkit.Options) *harness {
	tb.Helper()
	logs := &syncBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := bottest.NewPlatform("test")
	return &harness{Stack: testkit.Start(tb, p, opts), p: p, logs: logs}
}

func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

var seq struct {
	sync.Mutex
	n int
}

// message returns an addressed user message in thread th.
func message(th, text string) bot.Event {
	seq.Lock()
	seq.n++
	id := fmt.Sprintf("msg%d", seq.n)
	seq.Unlock()
	return bot.Event{Kind: bot.EventMessage, Thread: bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "C1", Thread: th},
		User: bot.User{ID: "U1", Name: "ana"}, Text: text, Message: id, DedupeKeys: []string{"test:" + id},
		Addressed: true, Time: time.Now()}
}

// ask sends ev and waits for the n-th finished reply.
func (h *harness) ask(tb testing.TB, ev bot.Event, n int) *bottest.Reply {
	tb.Helper()
	ctx := testCtx(tb)
	if err := h.p.Send(ctx, ev); err != nil {
		tb.Fatalf("send: %v", err)
	}
	done, err := h.p.WaitDone(ctx, n)
	if err != nil {
		tb.Fatal(err)
	}
	return done[n-1]
}

func TestStreamedAnswerArrivesWhole(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	want := "Kimi streams this answer in many small pieces, and all of them must arrive in order."
	h.Kimi.Enqueue(kimitest.Response{Reasoning: "The user greets me.", Content: want, ChunkSize: 4,
		Usage: &kimitest.Usage{PromptTokens: 50, CompletionTokens: 20, CachedTokens: 10}})
	r := h.ask(t, message("T1", "hello"), 1)
	if got := r.Text(); got != want {
		t.Fatalf("text = %q, want %q", got, want)
	}
	if r.Appends() < 2 {
		t.Errorf("appends = %d, want a streamed answer in several pieces", r.Appends())
	}
	f := r.Footer()
	if f == nil || f.Model != "kimi-k2.6" || f.Usage.PromptTokens != 50 || f.Usage.CompletionTokens != 20 {
		t.Errorf("footer = %+v, want model kimi-k2.6 and the reported usage", f)
	}
	if st := r.Statuses(); len(st) == 0 || !strings.Contains(st[0], "thinking") {
		t.Errorf("statuses = %q, want a thinking status first", st)
	}
	h.WaitIdle(t) // the answer is stored once its reply is finished
	msgs, err := h.Store.Messages(testCtx(t), bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "C1", Thread: "T1"}.Key())
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Text != "hello" || msgs[1].Text != want || msgs[1].Reasoning != "The user greets me." {
		t.Fatalf("stored = %+v, want the user message and the answer with its reasoning", msgs)
	}
}

func TestToolCallRoundTrip(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	h.Kimi.Enqueue(
		kimitest.Response{Reasoning: "Need the order.", ToolCalls: []kimitest.ToolCall{
			{ID: "lookup_order:0", Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
		kimitest.Response{Reasoning: "It shipped.", Content: "Order A1001 has shipped with DHL."},
	)
	r := h.ask(t, message("T2", "where is my order A1001?"), 1)
	if r.Text() != "Order A1001 has shipped with DHL." {
		t.Fatalf("text = %q (failure %q)", r.Text(), r.Failure())
	}
	if !containsStatus(r.Statuses(), "looking up order A1001") {
		t.Errorf("statuses = %q, want the tool's status", r.Statuses())
	}
	reqs := h.Kimi.ChatRequests()
	if len(reqs) != 2 {
		t.Fatalf("chat requests = %d, want 2", len(reqs))
	}
	msgs := reqs[1].Messages
	last := msgs[len(msgs)-1]
	call := msgs[len(msgs)-2]
	if last.Role != "tool" || last.ToolCallID != "lookup_order:0" || !strings.Contains(last.Text(), "JD0146000034") {
		t.Fatalf("tool message = %+v %q, want the order for call lookup_order:0", last, last.Text())
	}
	if call.Role != "assistant" || len(call.ToolCalls) != 1 || call.ToolCalls[0].ID != "lookup_order:0" {
		t.Fatalf("assistant message = %+v, want the tool call", call)
	}
	if got := h.Orders.Requests(); len(got) != 1 || got[0].Path != "/orders/A1001" {
		t.Fatalf("orders backend requests = %+v", got)
	}
}

func containsStatus(st []string, want string) bool {
	for _, s := range st {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

func TestThinkingToolLoopKeepsReasoning(t *testing.T) {
	h := MustStart(t, testkit.Options{Model: "kimi-k2.6"})
	h.Kimi.Enqueue(
		kimitest.Response{Reasoning: "First order.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
		kimitest.Response{Reasoning: "Now the second.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"B2002"}`}}},
		kimitest.Response{Reasoning: "Both known.", Content: "A1001 shipped; B2002 does not exist."},
	)
	r := h.ask(t, message("T3", "check A1001 and B2002"), 1)
	if r.Failure() != "" || r.Text() != "A1001 shipped; B2002 does not exist." {
		t.Fatalf("text %q failure %q; the fake rejects tool turns without reasoning_content", r.Text(), r.Failure())
	}
	reqs := h.Kimi.ChatRequests()
	if len(reqs) != 3 {
		t.Fatalf("requests = %d, want 3", len(reqs))
	}
	var reasons []string
	for _, m := range reqs[2].Messages {
		if m.Role == "assistant" && len(m.ToolCalls) > 0 && m.ReasoningContent != nil {
			reasons = append(reasons, *m.ReasoningContent)
		}
	}
	if strings.Join(reasons, "|") != "First order.|Now the second." {
		t.Fatalf("reasoning sent back = %q", reasons)
	}
}

func TestOpenRouterCommentsReasoningDetailsAndMidStreamError(t *testing.T) {
	h := MustStart(t, testkit.Options{Flavor: kimitest.OpenRouter})
	h.Kimi.Enqueue(
		kimitest.Response{Comments: 350, CommentsBetween: 2, Reasoning: "Look it up.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
		kimitest.Response{Comments: 5, Content: "Shipped."},
	)
	r := h.ask(t, message("T4", "order A1001?"), 1)
	if r.Text() != "Shipped." {
		t.Fatalf("text = %q failure %q", r.Text(), r.Failure())
	}
	reqs := h.Kimi.ChatRequests()
	var details json.RawMessage
	for _, m := range reqs[1].Messages {
		if m.Role == "assistant" && len(m.ToolCalls) > 0 {
			details = m.ReasoningDetails
		}
	}
	var items []map[string]any
	if err := json.Unmarshal(details, &items); err != nil || len(items) == 0 || items[0]["text"] != "Look it up." ||
		items[0]["type"] != "reasoning.text" || items[0]["format"] != "unknown" {
		t.Fatalf("reasoning_details sent back = %s (%v)", details, err)
	}

	h.Kimi.Enqueue(kimitest.Response{Content: "Partial answer that will be interrupted", ChunkSize: 5,
		MidStreamAfter: 3, MidStreamError: kimitest.ORError(502, "provider_unavailable", "Provider disconnected")})
	r = h.ask(t, message("T5", "tell me more"), 2)
	if r.Failure() == "" {
		t.Fatalf("mid-stream error did not reach the user; text %q", r.Text())
	}
	assertRefLogged(t, h, r.Failure())
}

// assertRefLogged checks that the user-visible message carries a reference
// ID that also appears in the log.
func assertRefLogged(tb testing.TB, h *harness, msg string) {
	tb.Helper()
	m := regexp.MustCompile(`\(ref ([a-z0-9]+)\)`).FindStringSubmatch(msg)
	if m == nil {
		tb.Fatalf("failure %q has no reference ID", msg)
	}
	if !strings.Contains(h.logs.String(), "ref="+m[1]) {
		tb.Fatalf("reference %s is not in the log:\n%s", m[1], h.logs.String())
	}
}

func TestRateLimitRetriedQuotaNot(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	limited := kimitest.RateLimited()
	limited.RetryAfter = "0"
	h.Kimi.Enqueue(kimitest.Response{Error: limited}, kimitest.Response{Content: "after the retry"})
	r := h.ask(t, message("T6", "hi"), 1)
	if r.Text() != "after the retry" || len(h.Kimi.ChatRequests()) != 2 {
		t.Fatalf("text %q after %d requests, want a retried success", r.Text(), len(h.Kimi.ChatRequests()))
	}

	h.Kimi.Enqueue(kimitest.Response{Error: kimitest.QuotaExceeded()})
	r = h.ask(t, message("T7", "hi again"), 2)
	if n := len(h.Kimi.ChatRequests()); n != 3 {
		t.Fatalf("requests = %d, want the quota error not retried", n)
	}
	if !strings.Contains(r.Failure(), "quota") {
		t.Fatalf("failure = %q, want the quota explained", r.Failure())
	}
	assertRefLogged(t, h, r.Failure())
	if strings.Contains(h.logs.String(), "test-key") {
		t.Fatal("the API key appears in the log")
	}
}

func TestStreamCutWithoutFinishReason(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	h.Kimi.Enqueue(kimitest.Response{Content: "This answer is cut short by the connection", ChunkSize: 4, CutAfter: 4})
	r := h.ask(t, message("T8", "hi"), 1)
	if r.Failure() == "" {
		t.Fatalf("cut stream reported as success with text %q", r.Text())
	}
	assertRefLogged(t, h, r.Failure())
}

func TestRestartKeepsHistory(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	h.Kimi.Enqueue(kimitest.Response{Content: "Nice to meet you, Ana."})
	h.ask(t, message("T9", "my name is Ana"), 1)

	p2 := bottest.NewPlatform("test")
	s2 := h.Restart(t, p2)
	h2 := &harness{Stack: s2, p: p2, logs: h.logs}
	h2.Kimi.Enqueue(kimitest.Response{Content: "Your name is Ana."})
	h2.ask(t, message("T9", "what is my name?"), 1)
	reqs := h2.Kimi.ChatRequests()
	var texts []string
	for _, m := range reqs[len(reqs)-1].Messages {
		if m.Role != "system" {
			texts = append(texts, m.Role+":"+m.Text())
		}
	}
	want := "user:my name is Ana|assistant:Nice to meet you, Ana.|user:what is my name?"
	if strings.Join(texts, "|") != want {
		t.Fatalf("history after restart = %q, want %q", texts, want)
	}
}

func TestDuplicateDeliveriesGiveOneReply(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	ev := message("T10", "once please")
	ctx := testCtx(t)
	dup := ev
	dup.DedupeKeys = []string{"other-event-id", ev.DedupeKeys[0]}
	for _, e := range []bot.Event{ev, dup, ev} {
		if err := h.p.Send(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	h.WaitIdle(t)
	if n := len(h.Kimi.ChatRequests()); n != 1 {
		t.Fatalf("model calls = %d, want 1", n)
	}
	if n := len(h.p.Replies()); n != 1 {
		t.Fatalf("replies = %d, want 1", n)
	}
}

func TestFollowLeaveAndReturn(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	ctx := testCtx(t)
	quiet := message("T11", "not for the bot")
	quiet.Addressed = false
	if err := h.p.Send(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	h.WaitIdle(t)
	if n := len(h.p.Replies()); n != 0 {
		t.Fatalf("answered an unaddressed message in a thread it does not follow (%d replies)", n)
	}
	h.ask(t, message("T11", "hello bot"), 1)
	follow := message("T11", "and a follow-up without mention")
	follow.Addressed = false
	if r := h.ask(t, follow, 2); r.Text() != "You said: and a follow-up without mention" {
		t.Fatalf("follow-up answer = %q", r.Text())
	}
	leave := message("T11", "")
	leave.Kind = bot.EventLeave
	if r := h.ask(t, leave, 3); !strings.Contains(r.Text(), "stop following") {
		t.Fatalf("leave confirmation = %q", r.Text())
	}
	after := message("T11", "ignored now")
	after.Addressed = false
	if err := h.p.Send(ctx, after); err != nil {
		t.Fatal(err)
	}
	h.WaitIdle(t)
	if n := len(h.Kimi.ChatRequests()); n != 2 {
		t.Fatalf("model calls = %d after leaving, want 2", n)
	}
	if r := h.ask(t, message("T11", "back again"), 4); r.Text() != "You said: back again" {
		t.Fatalf("answer after a new mention = %q", r.Text())
	}
}

func TestResetStartsFreshConversation(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	h.ask(t, message("T12", "remember the word apple"), 1)
	reset := message("T12", "")
	reset.Kind = bot.EventReset
	h.ask(t, reset, 2)
	h.ask(t, message("T12", "what word?"), 3)
	reqs := h.Kimi.ChatRequests()
	for _, m := range reqs[len(reqs)-1].Messages {
		if strings.Contains(m.Text(), "apple") {
			t.Fatalf("history after reset still holds %q", m.Text())
		}
	}
}

func TestRepeatedIdenticalCallsStop(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	call := kimitest.Response{Reasoning: "again", ToolCalls: []kimitest.ToolCall{
		{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}}
	h.Kimi.Enqueue(call, call, call, call)
	r := h.ask(t, message("T13", "loop"), 1)
	if !strings.Contains(r.Failure(), "repeating") {
		t.Fatalf("failure = %q, want the repeated call explained", r.Failure())
	}
	if n := len(h.Orders.Requests()); n != 1 {
		t.Fatalf("orders backend called %d times, want 1", n)
	}
	if n := len(h.Kimi.ChatRequests()); n != 3 {
		t.Fatalf("model calls = %d, want 3 (call, repeat, repeat)", n)
	}
}

func TestImagesReachVisionModelOnly(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n fake image bytes")
	cases := []struct {
		name, model string
		wantImage   bool
	}{
		{"Vision", "kimi-k2.6", true},
		{"TextOnly", "kimi-k2-turbo-preview", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := MustStart(t, testkit.Options{Model: tc.model})
			h.p.AddFile("https://files.example/cat.png", png)
			ev := message("T15", "what is in this picture?")
			ev.Attachments = []bot.Attachment{{Name: "cat.png", MIME: "image/png", URL: "https://files.example/cat.png"}}
			h.ask(t, ev, 1)
			user := lastUser(h.Kimi.ChatRequests()[0])
			raw := string(user.Content)
			hasImage := strings.Contains(raw, `"image_url"`) && strings.Contains(raw, "data:image/png;base64,")
			if hasImage != tc.wantImage {
				t.Fatalf("image part sent = %v, want %v; content %s", hasImage, tc.wantImage, raw)
			}
			if !tc.wantImage && !strings.Contains(user.Text(), "cannot see images") {
				t.Fatalf("text-only model got no note: %q", user.Text())
			}
		})
	}
}

func lastUser(r *kimitest.ChatRequest) kimitest.ChatMessage {
	var u kimitest.ChatMessage
	for _, m := range r.Messages {
		if m.Role == "user" {
			u = m
		}
	}
	return u
}

func TestModelPrecedence(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	ctx := testCtx(t)
	ref := bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "C1", Thread: "T16"}
	set := func(kind conversation.ScopeKind, id, model string) {
		t.Helper()
		if err := h.Store.SetSetting(ctx, conversation.Scope{Kind: kind, Platform: "test", ID: id}, bot.SettingModel, model); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		kind   conversation.ScopeKind
		id     string
		model  string
		source bot.ModelSource
	}{
		{"", "", "kimi-k2.6", bot.SourceDefault},
		{conversation.ScopeChannel, "C1", "moonshot-v1-8k", bot.SourceChannel},
		{conversation.ScopeUser, "U1", "kimi-k2-turbo-preview", bot.SourceUser},
		{conversation.ScopeThread, string(ref.Key()), "kimi-k3", bot.SourceThread},
	}
	for i, s := range steps {
		if s.kind != "" {
			set(s.kind, s.id, s.model)
		}
		model, source := h.Engine.ResolveModel(ctx, ref, "U1")
		if model != s.model || source != s.source {
			t.Fatalf("step %d: model %s from %s, want %s from %s", i, model, source, s.model, s.source)
		}
		h.ask(t, message("T16", "which model?"), i+1)
		reqs := h.Kimi.ChatRequests()
		if got := reqs[len(reqs)-1].Model; got != s.model {
			t.Fatalf("step %d: request model %s, want %s", i, got, s.model)
		}
	}
}

func TestReplyToBotMessageContinuesItsThread(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	first := h.ask(t, message("T17", "start here"), 1)
	h.WaitIdle(t) // the engine indexes the reply's messages right after Finish
	ev := message("", "continuing by reply")
	ev.InReplyTo = first.ID()
	r := h.ask(t, ev, 2)
	if r.Target.Thread.Thread != "T17" {
		t.Fatalf("reply went to thread %q, want T17", r.Target.Thread.Thread)
	}
	reqs := h.Kimi.ChatRequests()
	if n := len(reqs[1].Messages); n != 4 {
		t.Fatalf("second request has %d messages, want system + 3 of the same thread", n)
	}
}
