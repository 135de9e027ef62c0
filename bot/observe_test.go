package bot_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/internal/testkit"
)

// recorder is an Observer that keeps what it was told.
type recorder struct {
	mu      sync.Mutex
	turns   []string
	models  []modelCall
	tools   []string
	depths  []int
	waits   int
	streams int
	opened  int
	visible []string
}

type modelCall struct {
	platform, model, channel string
	usage                    conversation.Usage
	first, total             time.Duration
}

var _ bot.Observer = (*recorder)(nil)

func (r *recorder) TurnFinished(platform, outcome string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.turns = append(r.turns, platform+"/"+outcome)
}

func (r *recorder) ModelCall(platform, model, channel string, u conversation.Usage, first, total time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.models = append(r.models, modelCall{platform, model, channel, u, first, total})
}

func (r *recorder) ToolCall(tool, outcome string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tools = append(r.tools, tool+"/"+outcome)
}

func (r *recorder) QueueDepth(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.depths = append(r.depths, n)
}

func (r *recorder) QueueWait(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d >= 0 {
		r.waits++
	}
}

func (r *recorder) Stream(delta int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.streams += delta
	if delta > 0 {
		r.opened++
	}
}

func (r *recorder) FirstVisible(platform string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.visible = append(r.visible, platform)
}

// MustObserved starts a harness whose engine reports to a recorder.
func MustObserved(tb testing.TB) (*harness, *recorder) {
	tb.Helper()
	rec := &recorder{}
	h := MustStart(tb, testkit.Options{Configure: func(c *bot.Config) { c.Observer = rec }})
	return h, rec
}

func TestObserverSeesTurnModelCallsAndTools(t *testing.T) {
	h, rec := MustObserved(t)
	h.Kimi.Enqueue(
		kimitest.Response{Reasoning: "Need the order.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}, {Name: "made_up", Arguments: `{}`}},
			Usage: &kimitest.Usage{PromptTokens: 100, CachedTokens: 40, CompletionTokens: 10}},
		kimitest.Response{Content: "Order A1001 has shipped.", Usage: &kimitest.Usage{PromptTokens: 150, CompletionTokens: 8}},
	)
	r := h.ask(t, message("T1", "where is A1001?"), 1)
	if r.Failure() != "" {
		t.Fatalf("turn failed: %s", r.Failure())
	}
	if err := h.Engine.WaitIdle(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if strings.Join(rec.turns, ",") != "test/answered" {
		t.Errorf("turns = %v, want one answered", rec.turns)
	}
	if len(rec.models) != 2 || rec.models[0].usage.PromptTokens != 100 || rec.models[0].usage.CachedTokens != 40 ||
		rec.models[1].usage.CompletionTokens != 8 || rec.models[0].channel != "C1" || rec.models[0].model != "kimi-k2.6" {
		t.Fatalf("model calls = %+v, want the fake's two usages in channel C1", rec.models)
	}
	for _, m := range rec.models {
		if m.first <= 0 || m.total < m.first {
			t.Errorf("model call timings first %v total %v", m.first, m.total)
		}
	}
	if strings.Join(rec.tools, ",") != "lookup_order/ok,unknown/error" {
		t.Errorf("tools = %v, want lookup_order ok and the invented name as unknown", rec.tools)
	}
	if rec.opened != 1 || rec.streams != 0 || strings.Join(rec.visible, ",") != "test" {
		t.Errorf("streams opened %d, open now %d, first visible %v", rec.opened, rec.streams, rec.visible)
	}
	if len(rec.depths) < 2 || rec.depths[0] != 1 || rec.depths[len(rec.depths)-1] != 0 {
		t.Errorf("queue depths = %v, want 1 then back to 0", rec.depths)
	}
	if rec.waits != 1 {
		t.Errorf("queue waits = %d, want one for the one event", rec.waits)
	}
}

func TestObserverCountsFailedTurnsAndDMsAsOneChannel(t *testing.T) {
	h, rec := MustObserved(t)
	h.Kimi.Enqueue(kimitest.Response{Error: kimitest.Unauthorized()})
	r := h.ask(t, message("T1", "hello"), 1)
	if r.Failure() == "" {
		t.Fatal("turn did not fail")
	}
	h.Kimi.Enqueue(kimitest.Response{Content: "Hi."})
	dm := message("", "hi in private")
	dm.Thread.Channel, dm.Thread.DM = "D42", true
	h.ask(t, dm, 2)
	if err := h.Engine.WaitIdle(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if strings.Join(rec.turns, ",") != "test/failed,test/answered" {
		t.Errorf("turns = %v, want a failed and an answered turn", rec.turns)
	}
	if n := len(rec.models); n == 0 || rec.models[n-1].channel != "dm" {
		t.Errorf("model calls = %+v, want the DM counted as channel dm", rec.models)
	}
	if rec.streams != 0 {
		t.Errorf("open streams = %d after both turns, want 0", rec.streams)
	}
}

var turnField = regexp.MustCompile(`\bturn=(\w+)`)

func TestTurnLogLinesCarryThreadAndTurn(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	h.Kimi.Enqueue(
		kimitest.Response{Reasoning: "Need the order.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
		kimitest.Response{Error: kimitest.Unauthorized()},
	)
	r := h.ask(t, message("T9", "where is A1001?"), 1)
	if r.Failure() == "" {
		t.Fatal("turn did not fail")
	}
	if err := h.Engine.WaitIdle(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	turns := map[string]bool{}
	for _, msg := range []string{`msg="tool call"`, `msg="turn failed"`} {
		line := ""
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, msg) {
				line = l
			}
		}
		m := turnField.FindStringSubmatch(line)
		if !strings.Contains(line, "thread=test/W1/C1/T9") || m == nil {
			t.Fatalf("log line %q lacks the thread or turn id\n%s", line, h.logs.String())
		}
		if strings.Count(line, "thread=") != 1 {
			t.Errorf("log line %q repeats the thread", line)
		}
		turns[m[1]] = true
	}
	if len(turns) != 1 {
		t.Errorf("turn ids = %v, want the same id on every line of the turn", turns)
	}
}

func TestObserverCountsDraftedAndRegeneratedTurns(t *testing.T) {
	rec := &recorder{}
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) { supportConfig(c); c.Observer = rec }})
	h.Kimi.Enqueue(kimitest.Response{Content: "First draft."}, kimitest.Response{Content: "Shorter draft."})
	card := MustDraft(t, h, customer("S9", "tell me about shipping"), 1)
	if err := act(t, h, bot.ActionRegenerate, card.Card.DraftID, approver, "make it shorter"); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if strings.Join(rec.turns, ",") != "test/drafted,test/drafted" {
		t.Errorf("turns = %v, want the draft and its regeneration", rec.turns)
	}
	if rec.opened != 0 || len(rec.visible) != 0 {
		t.Errorf("drafts opened %d streams and showed text %v; a draft reaches nobody", rec.opened, rec.visible)
	}
}
