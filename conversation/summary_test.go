package conversation_test

import (
	"fmt"
	"strings"
	"testing"

	"kimibot/conversation"
)

// thread returns n user/answer pairs with sequence numbers, a tool-call
// group in the middle.
func thread(n int) []conversation.Message {
	var msgs []conversation.Message
	seq := uint64(0)
	add := func(m conversation.Message) {
		seq++
		m.Seq = seq
		msgs = append(msgs, m)
	}
	for i := range n {
		add(conversation.Message{Role: conversation.RoleUser, Text: fmt.Sprintf("question %d %s", i, strings.Repeat("word ", 40))})
		if i == n/2 {
			add(conversation.Message{Role: conversation.RoleAssistant, ToolCalls: []conversation.ToolCall{{ID: "c1", Name: "lookup_order", Arguments: "{}"}}})
			add(conversation.Message{Role: conversation.RoleTool, ToolCallID: "c1", ToolName: "lookup_order", Text: "shipped"})
		}
		add(conversation.Message{Role: conversation.RoleAssistant, Text: fmt.Sprintf("answer %d %s", i, strings.Repeat("word ", 40))})
	}
	return msgs
}

func TestOverflowTakesWholeGroupsOldestFirst(t *testing.T) {
	msgs := thread(20)
	system := conversation.Message{Role: conversation.RoleSystem, Text: "be brief"}
	est := &conversation.Estimator{}
	budget := conversation.Budget{ContextTokens: 1200, ReserveOutput: 200}
	old, covers := conversation.Overflow(system, msgs, budget, est)
	if len(old) == 0 || old[0].Seq != 1 || covers != old[len(old)-1].Seq {
		t.Fatalf("overflow = %d messages covering %d, want the oldest ones", len(old), covers)
	}
	for i, m := range old {
		if len(m.ToolCalls) > 0 && (i+1 >= len(old) || old[i+1].ToolCallID != "c1") {
			t.Fatal("a tool call was taken without its result")
		}
	}
	sum := conversation.Message{Seq: 100, Role: conversation.RoleSystem, Text: conversation.SummaryPrefix + "s", Covers: covers}
	applied := conversation.ApplySummary(append(msgs, sum))
	if !applied[0].IsSummary() || applied[1].Seq != covers+1 {
		t.Fatalf("applied starts %+v, %+v; want the summary, then the first message it does not cover", applied[0], applied[1])
	}
	if rest := est.Estimate(applied) + est.EstimateMessage(system); rest > budget.PromptLimit() {
		t.Fatalf("after the summary %d tokens, want at most %d", rest, budget.PromptLimit())
	}
	if old, _ := conversation.Overflow(system, msgs[:4], budget, est); old != nil {
		t.Fatal("a history within budget was summarized")
	}
}

// BenchmarkHistoryPerCall measures what summaries add to every model call
// of a long thread that fits its budget: ApplySummary and Overflow.
func BenchmarkHistoryPerCall(b *testing.B) {
	msgs := thread(200)
	system := conversation.Message{Role: conversation.RoleSystem, Text: conversation.DefaultSystemPrompt}
	est := &conversation.Estimator{}
	budget := conversation.Budget{ContextTokens: 262144}
	b.ReportAllocs()
	for b.Loop() {
		applied := conversation.ApplySummary(msgs)
		if old, _ := conversation.Overflow(system, applied, budget, est); old != nil {
			b.Fatal("unexpected overflow")
		}
	}
	b.ReportMetric(float64(len(msgs)), "messages")
}
