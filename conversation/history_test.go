package conversation_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"kimibot/conversation"
)

var system = conversation.Message{Role: conversation.RoleSystem, Text: "sys"}

func user(label string) conversation.Message {
	return conversation.Message{Role: conversation.RoleUser, Text: label, UserID: "U1"}
}

func answer(label string) conversation.Message {
	return conversation.Message{Role: conversation.RoleAssistant, Text: label, Reasoning: "thought about " + label,
		ReasoningDetails: json.RawMessage(`[{"type":"reasoning.text","text":"t"}]`)}
}

func call(label string, ids ...string) conversation.Message {
	m := conversation.Message{Role: conversation.RoleAssistant, Text: label, Reasoning: "need " + label}
	for _, id := range ids {
		m.ToolCalls = append(m.ToolCalls, conversation.ToolCall{ID: id, Name: "lookup_order", Arguments: `{"id":"A1001"}`})
	}
	return m
}

func result(label, id string) conversation.Message {
	return conversation.Message{Role: conversation.RoleTool, Text: label, ToolCallID: id, ToolName: "lookup_order"}
}

// padded returns m with its text lengthened to cost about extra more tokens.
func padded(m conversation.Message, extra int) conversation.Message {
	m.Text += " " + strings.Repeat("x", extra*7/2)
	return m
}

// labels names each message by the first word of its text.
func labels(msgs []conversation.Message) []string {
	out := []string{}
	for _, m := range msgs {
		first, _, _ := strings.Cut(m.Text, " ")
		out = append(out, first)
	}
	return out
}

// budgetFor returns a budget whose prompt room is exactly the cost of system,
// msgs as sent (plain answers without reasoning) and slack tokens.
func budgetFor(est *conversation.Estimator, slack int, msgs ...conversation.Message) conversation.Budget {
	sent := []conversation.Message{system}
	for _, m := range msgs {
		if m.Role == conversation.RoleAssistant && len(m.ToolCalls) == 0 {
			m.Reasoning = ""
		}
		sent = append(sent, m)
	}
	return conversation.Budget{ContextTokens: est.Estimate(sent) + slack + 1, ReserveOutput: 1}
}

func TestBudgetPromptLimit(t *testing.T) {
	tests := []struct {
		budget conversation.Budget
		want   int
	}{
		{conversation.Budget{}, 131072 - 4096},
		{conversation.Budget{ContextTokens: 262144}, 262144 - 4096},
		{conversation.Budget{ContextTokens: 8192, ReserveOutput: 1000}, 7192},
		{conversation.Budget{ReserveOutput: 72}, 131000},
		{conversation.Budget{ContextTokens: 1000}, 0},
	}
	for _, tt := range tests {
		if got := tt.budget.PromptLimit(); got != tt.want {
			t.Errorf("%+v.PromptLimit() = %d, want %d", tt.budget, got, tt.want)
		}
	}
}

func TestBuildHistory(t *testing.T) {
	est := &conversation.Estimator{}
	big := conversation.Budget{}
	u1, u2, u3 := user("u1"), user("u2"), user("u3")
	a1, a2 := answer("a1"), answer("a2")
	tests := []struct {
		name   string
		msgs   []conversation.Message
		budget conversation.Budget
		want   []string
	}{
		{"Empty", nil, big, []string{"sys"}},
		{"AllFit", []conversation.Message{u1, a1, u2}, big, []string{"sys", "u1", "a1", "u2"}},
		{"ToolGroupKept", []conversation.Message{u1, call("c", "1", "2"), result("r1", "1"), result("r2", "2"), a1, u2},
			big, []string{"sys", "u1", "c", "r1", "r2", "a1", "u2"}},
		{"ResultsInCallOrder", []conversation.Message{u1, call("c", "1", "2"), result("r2", "2"), result("r1", "1"), a1},
			big, []string{"sys", "u1", "c", "r1", "r2", "a1"}},
		{"OrphanResultDropped", []conversation.Message{u1, result("orphan", "9"), a1, u2},
			big, []string{"sys", "u1", "a1", "u2"}},
		{"ResultOfOtherCallDropped", []conversation.Message{u1, call("c", "1"), result("r1", "1"), result("stray", "2"), a1},
			big, []string{"sys", "u1", "c", "r1", "a1"}},
		{"DuplicateResultDropped", []conversation.Message{u1, call("c", "1"), result("r1", "1"), result("again", "1"), a1},
			big, []string{"sys", "u1", "c", "r1", "a1"}},
		{"InterruptedCallDropped", []conversation.Message{u1, call("c", "1", "2"), result("r1", "1"), u2},
			big, []string{"sys", "u1", "u2"}},
		{"TrailingCallDropped", []conversation.Message{u1, call("c", "1")}, big, []string{"sys", "u1"}},
		{"ResultAfterOtherMessage", []conversation.Message{u1, call("c", "1"), u2, result("r1", "1")},
			big, []string{"sys", "u1", "u2"}},
		{"CallWithoutIDDropped", []conversation.Message{u1, call("c", ""), result("r", ""), a1},
			big, []string{"sys", "u1", "a1"}},
		{"EmptyAnswerDropped", []conversation.Message{u1, answer(""), u2}, big, []string{"sys", "u1", "u2"}},
		{"DropsOldestFirst", []conversation.Message{u1, a1, u2, a2, u3},
			budgetFor(est, 0, u2, a2, u3), []string{"sys", "u2", "a2", "u3"}},
		{"OneTokenShort", []conversation.Message{u1, a1, u2, a2, u3},
			budgetFor(est, -1, u2, a2, u3), []string{"sys", "a2", "u3"}},
		{"StopsAtFirstMisfit", []conversation.Message{u1, padded(a1, 500), u2},
			budgetFor(est, est.EstimateMessage(u1), u2), []string{"sys", "u2"}},
		{"PairNeverSplit", []conversation.Message{u1, call("c", "1"), padded(result("r1", "1"), 300), u2, a2},
			budgetFor(est, 0, padded(result("r1", "1"), 300), u2, a2), []string{"sys", "u2", "a2"}},
		{"PairKeptWhole", []conversation.Message{u1, call("c", "1"), result("r1", "1"), u2, a2},
			budgetFor(est, 0, call("c", "1"), result("r1", "1"), u2, a2), []string{"sys", "c", "r1", "u2", "a2"}},
		{"LastUserAlwaysKept", []conversation.Message{u1, a1, padded(u2, 5000)},
			conversation.Budget{ContextTokens: 1000, ReserveOutput: 100}, []string{"sys", "u2"}},
		{"LastUserKeptBeforeTurnTools", []conversation.Message{u1, a1, u2, call("c", "1"), padded(result("r1", "1"), 500)},
			budgetFor(est, 0, u1, a1, u2), []string{"sys", "u2"}},
		{"NewestTurnToolsFirst", []conversation.Message{u1, u2, call("c", "1"), padded(result("r1", "1"), 300), call("d", "2"), result("r2", "2")},
			budgetFor(est, 0, u2, call("d", "2"), result("r2", "2")), []string{"sys", "u2", "d", "r2"}},
		{"ZeroRoom", []conversation.Message{u1, a1, u2}, conversation.Budget{ContextTokens: 10, ReserveOutput: 10}, []string{"sys", "u2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := clone(tt.msgs)
			got := conversation.BuildHistory(system, tt.msgs, tt.budget, est)
			if l := labels(got); !reflect.DeepEqual(l, tt.want) {
				t.Errorf("history = %v, want %v", l, tt.want)
			}
			if !reflect.DeepEqual(tt.msgs, before) {
				t.Error("BuildHistory modified its input")
			}
			checkHistory(t, system, tt.msgs, got, tt.budget, est)
		})
	}
}

func TestBuildHistory_Reasoning(t *testing.T) {
	msgs := []conversation.Message{user("u1"), call("c", "1"), result("r1", "1"), answer("a1"), user("u2")}
	before := clone(msgs)
	got := conversation.BuildHistory(system, msgs, conversation.Budget{}, nil)
	if got[2].Reasoning != "need c" {
		t.Errorf("tool-call reasoning = %q, want it kept", got[2].Reasoning)
	}
	if got[4].Reasoning != "" || string(got[4].ReasoningDetails) != string(msgs[3].ReasoningDetails) {
		t.Errorf("answer reasoning = %q / %s, want the text cleared and reasoning_details kept unchanged",
			got[4].Reasoning, got[4].ReasoningDetails)
	}
	if got[4].Text != "a1" {
		t.Errorf("answer text = %q, want a1", got[4].Text)
	}
	if !reflect.DeepEqual(msgs, before) {
		t.Error("BuildHistory cleared reasoning in its input")
	}
}

func TestBuildHistory_LongThread(t *testing.T) {
	var msgs []conversation.Message
	for i := range 400 {
		id := fmt.Sprintf("functions.lookup_order:%d", i)
		msgs = append(msgs,
			user(fmt.Sprintf("u%d where is my order A%d?", i, 1000+i)),
			call(fmt.Sprintf("c%d", i), id),
			result(fmt.Sprintf(`r%d {"status":"shipped","eta":"2026-11-%02d"}`, i, 1+i%28), id),
			answer(fmt.Sprintf("a%d it shipped and should arrive soon.", i)),
		)
	}
	est := &conversation.Estimator{}
	est.Observe(1000, 1200)
	for _, budget := range []conversation.Budget{
		{ContextTokens: 2000, ReserveOutput: 500},
		{ContextTokens: 5000, ReserveOutput: 1000},
		{ContextTokens: 20000},
	} {
		t.Run(fmt.Sprint(budget.ContextTokens), func(t *testing.T) {
			got := conversation.BuildHistory(system, msgs, budget, est)
			checkHistory(t, system, msgs, got, budget, est)
			if len(got) < 5 || len(got) >= len(msgs) {
				t.Fatalf("kept %d of %d messages, want a trimmed but non-trivial history", len(got)-1, len(msgs))
			}
			if last := got[len(got)-1].Text; last != msgs[len(msgs)-1].Text {
				t.Errorf("last message = %q, want the newest", last)
			}
			// The history is as long as the budget allows: the next older
			// message (and its group) would not have fit.
			firstKept := len(msgs) - (len(got) - 1)
			prev := msgs[firstKept-1 : firstKept]
			if msgs[firstKept-1].Role == conversation.RoleTool {
				prev = msgs[firstKept-2 : firstKept]
			}
			if total := est.Estimate(got) + est.Estimate(prev); total <= budget.PromptLimit() {
				t.Errorf("dropped %v although %d tokens fit in %d", labels(prev), total, budget.PromptLimit())
			}
		})
	}
}

// checkHistory asserts the invariants of a built history.
func checkHistory(tb testing.TB, sys conversation.Message, in, out []conversation.Message, b conversation.Budget, est *conversation.Estimator) {
	tb.Helper()
	if len(out) == 0 || !reflect.DeepEqual(out[0], sys) {
		tb.Fatalf("history does not start with the system message: %v", labels(out))
	}
	checkToolPairs(tb, out[1:])

	lastUser := -1
	for i, m := range in {
		if m.Role == conversation.RoleUser {
			lastUser = i
		}
	}
	if lastUser >= 0 && !containsMessage(out[1:], in[lastUser]) {
		tb.Errorf("last user message %q missing from %v", in[lastUser].Text, labels(out))
	}
	onlyLastUser := len(out) == 1 || (len(out) == 2 && lastUser >= 0 && reflect.DeepEqual(out[1], in[lastUser]))
	if total, limit := est.Estimate(out), b.PromptLimit(); total > limit && !onlyLastUser {
		tb.Errorf("history of %d tokens exceeds the limit %d: %v", total, limit, labels(out))
	}
	for _, m := range out[1:] {
		if m.Role == conversation.RoleAssistant && len(m.ToolCalls) == 0 && m.Reasoning != "" {
			tb.Errorf("plain answer %q keeps its reasoning", m.Text)
		}
		if m.Role == conversation.RoleAssistant && len(m.ToolCalls) == 0 && m.Text == "" && len(m.Parts) == 0 {
			tb.Error("history holds an empty answer")
		}
	}
}

// checkToolPairs asserts that every tool message directly follows the
// assistant message that called it, and that every call has its result.
func checkToolPairs(tb testing.TB, msgs []conversation.Message) {
	tb.Helper()
	pending := map[string]bool{}
	for i, m := range msgs {
		if m.Role == conversation.RoleTool {
			if !pending[m.ToolCallID] {
				tb.Fatalf("message %d is a tool result without its call right before it", i)
			}
			delete(pending, m.ToolCallID)
			continue
		}
		if len(pending) > 0 {
			tb.Fatalf("message %d comes before results of calls %v", i, pending)
		}
		for _, c := range m.ToolCalls {
			pending[c.ID] = true
		}
	}
	if len(pending) > 0 {
		tb.Fatalf("history ends before results of calls %v", pending)
	}
}

// containsMessage reports whether msgs holds m, ignoring cleared reasoning.
func containsMessage(msgs []conversation.Message, m conversation.Message) bool {
	for _, o := range msgs {
		if o.Seq == m.Seq && o.Role == m.Role && o.Text == m.Text {
			return true
		}
	}
	return false
}

// clone deep-copies msgs so later comparisons catch any change to them.
func clone(msgs []conversation.Message) []conversation.Message {
	if msgs == nil {
		return nil
	}
	out := make([]conversation.Message, len(msgs))
	for i, m := range msgs {
		m.Parts = slices.Clone(m.Parts)
		m.ToolCalls = slices.Clone(m.ToolCalls)
		m.Refs = slices.Clone(m.Refs)
		m.ReasoningDetails = slices.Clone(m.ReasoningDetails)
		out[i] = m
	}
	return out
}

// FuzzBuildHistory decodes a budget and a message sequence from the fuzz
// bytes (users, answers, tool-call groups complete or not, orphan and
// duplicate results) and checks the invariants of the built history.
func FuzzBuildHistory(f *testing.F) {
	f.Add([]byte{10, 1, 0, 2, 3, 2, 0})
	f.Add([]byte{0, 0, 8, 11, 4, 5, 6, 0, 7, 3})
	f.Add([]byte{255, 200, 0, 0x8a, 3, 0x1b, 4, 0x13, 13, 2, 0xf0, 0x80})
	f.Add([]byte{3, 9, 3, 4, 5, 6, 7, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		budget := conversation.Budget{ContextTokens: 50 + int(data[0])*20, ReserveOutput: int(data[1])}
		msgs := decodeHistory(data[2:])
		before := clone(msgs)
		est := &conversation.Estimator{}
		got := conversation.BuildHistory(system, msgs, budget, est)
		checkHistory(t, system, msgs, got, budget, est)
		if !reflect.DeepEqual(msgs, before) {
			t.Fatal("BuildHistory modified its input")
		}
		for i := 2; i < len(got); i++ {
			a, b := got[i-1], got[i]
			if a.Role != conversation.RoleTool && b.Role != conversation.RoleTool && a.Seq >= b.Seq {
				t.Fatalf("messages out of order: seq %d before %d", a.Seq, b.Seq)
			}
		}
	})
}

// decodeHistory turns fuzz bytes into messages: the low 3 bits of each byte
// choose what comes next, the high bits its size or variant.
func decodeHistory(data []byte) []conversation.Message {
	var (
		msgs  []conversation.Message
		calls []string
	)
	add := func(m conversation.Message) {
		m.Seq = uint64(len(msgs) + 1)
		msgs = append(msgs, m)
	}
	text := func(b byte) string {
		word := "word "
		if b&0x80 != 0 {
			word = "漢字"
		}
		return strings.Repeat(word, int(b>>3)*3)
	}
	newCall := func(label string, b byte) conversation.Message {
		n := 1 + int(b>>3)%3
		ids := make([]string, n)
		for i := range ids {
			ids[i] = fmt.Sprintf("call_%d", len(calls))
			calls = append(calls, ids[i])
		}
		return call(label+" "+text(b), ids...)
	}
	for _, b := range data {
		switch b & 7 {
		case 0, 1:
			m := user("u " + text(b))
			if b&0x40 != 0 {
				m.Parts = []conversation.Part{{Type: conversation.PartImage, ImageURL: "data:image/png;base64,AA"}}
			}
			add(m)
		case 2:
			add(answer("a " + text(b)))
		case 3: // a complete tool-call group
			c := newCall("c", b)
			add(c)
			for _, tc := range c.ToolCalls {
				add(result("r "+text(b), tc.ID))
			}
		case 4: // an interrupted group: the last result is missing
			c := newCall("i", b)
			add(c)
			for _, tc := range c.ToolCalls[:len(c.ToolCalls)-1] {
				add(result("r", tc.ID))
			}
		case 5: // an orphan result of an unknown call
			add(result("o", fmt.Sprintf("gone_%d", b)))
		case 6: // a result repeating an earlier call's id
			if len(calls) > 0 {
				add(result("d", calls[int(b>>3)%len(calls)]))
			}
		case 7: // an empty answer, or one with reasoning only
			m := answer("")
			if b&0x80 == 0 {
				m.Reasoning = ""
			}
			add(m)
		}
	}
	return msgs
}
