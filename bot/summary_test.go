package bot_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/internal/testkit"
)

const summaryText = "ana asked about order A1001, which shipped with DHL."

func TestHistorySummarizedWhenBudgetReached(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) {
		c.HistoryTokens, c.Tokens = 400, c.Model.(bot.TokenCounter)
	}})
	var mu sync.Mutex
	var summaries []*kimitest.ChatRequest
	made := func() []*kimitest.ChatRequest {
		mu.Lock()
		defer mu.Unlock()
		return summaries
	}
	h.Kimi.SetHandler(func(r *kimitest.Request) kimitest.Response {
		if strings.Contains(r.Chat.Messages[0].Text(), "You condense chat conversations") {
			mu.Lock()
			summaries = append(summaries, r.Chat)
			mu.Unlock()
			return kimitest.Response{Content: summaryText}
		}
		return kimitest.Response{Content: "Noted: " + strings.Repeat("details ", 30)}
	})
	h.Kimi.Enqueue(
		kimitest.Response{Reasoning: "Look it up.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
		kimitest.Response{Reasoning: "Shipped.", Content: "A1001 shipped with DHL."},
	)
	long := strings.Repeat("Here is more context about our shipping process. ", 12)
	n := 0
	ask := func(text string) {
		n++
		if r := h.ask(t, message("TSUM", text), n); r.Failure() != "" {
			t.Fatalf("turn %d failed: %q", n, r.Failure())
		}
	}
	ask("where is order A1001?")
	for i := 0; i < 4 && len(made()) == 0; i++ {
		ask(long)
	}
	got := made()
	if len(got) == 0 {
		t.Fatal("no summary was made although the history outgrew the budget")
	}
	transcript := got[0].Messages[1].Text()
	if !strings.Contains(transcript, "assistant called lookup_order") || !strings.Contains(transcript, "result of lookup_order") {
		t.Fatalf("transcript = %q, want the tool call and its result summarized together", transcript)
	}
	if len(got[0].Tools) != 0 {
		t.Fatal("the summary call declares tools")
	}
	if !counted(h.Kimi) {
		t.Fatal("the tokenizer was not asked before summarizing")
	}
	h.WaitIdle(t)
	msgs, err := h.Store.Messages(testCtx(t), threadRef("TSUM").Key())
	if err != nil {
		t.Fatal(err)
	}
	var stored bool
	for _, m := range msgs {
		stored = stored || (m.IsSummary() && strings.Contains(m.Text, summaryText))
	}
	if !stored {
		t.Fatal("summary not stored with the thread")
	}
	ask("so what happened with my order?")
	reqs := h.Kimi.ChatRequests()
	last := reqs[len(reqs)-1]
	if !strings.Contains(last.Messages[1].Text(), summaryText) {
		t.Fatalf("second message = %q, want the summary right after the system prompt", last.Messages[1].Text())
	}
	for _, m := range last.Messages {
		if m.Role == "tool" || len(m.ToolCalls) > 0 {
			t.Fatalf("summarized tool step still sent: %+v", m)
		}
	}
	r := h.Engine.Commands().Command(testCtx(t), bot.Command{Thread: threadRef("TSUM"), User: bot.User{ID: "U1"}, Name: "usage"})
	if !strings.Contains(r.Text, "summarized") || !strings.Contains(r.Text, summaryText) {
		t.Fatalf("usage = %s, want the summary shown", r.Text)
	}
}

// counted reports whether the fake's tokenizer endpoint was called.
func counted(k *kimitest.Server) bool {
	for _, r := range k.Requests() {
		if r.Path == "/v1/tokenizers/estimate-token-count" {
			return true
		}
	}
	return false
}

// shrinkingCounter reports a tenth of the provider's exact count, as if
// the local estimate were far too high.
type shrinkingCounter struct{ bot.TokenCounter }

func (s shrinkingCounter) CountTokens(ctx context.Context, req bot.ChatRequest) (int, error) {
	n, err := s.TokenCounter.CountTokens(ctx, req)
	return n / 10, err
}

func TestNoSummaryWhenExactCountFits(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) {
		c.HistoryTokens, c.Tokens = 400, shrinkingCounter{c.Model.(bot.TokenCounter)}
	}})
	long := strings.Repeat("Here is more context about our shipping process. ", 12)
	for i := 1; i <= 4; i++ {
		if r := h.ask(t, message("TNOSUM", long), i); r.Failure() != "" {
			t.Fatalf("turn %d: %q", i, r.Failure())
		}
	}
	if !counted(h.Kimi) {
		t.Fatal("the tokenizer was never asked although the estimate overflowed")
	}
	for _, r := range h.Kimi.ChatRequests() {
		if strings.Contains(r.Messages[0].Text(), "You condense chat conversations") {
			t.Fatal("a summary was made although the exact count fits")
		}
	}
}
