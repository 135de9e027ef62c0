package kimitest

import (
	"encoding/json"
	"strings"
	"testing"
)

// scripted is a full answer: reasoning, content and two tool calls.

var scripted = Response{
	Reasoning: "Need the weather in two cities.",
	Content:   "Checking both cities now.",
	ToolCalls: []ToolCall{
		{Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{Name: "get_time", Arguments: `{"tz":"Europe/Paris"}`},
	},
	Usage: &Usage{PromptTokens: 213, CompletionTokens: 99, CachedTokens: 90, ReasoningTokens: 33, Cost: 0.0004},
}

// kind classifies a chunk for ordering checks.

func kind(tb testing.TB, c testChunk) string {
	tb.Helper()
	if len(c.Choices) == 0 {
		return "usage"
	}
	d := c.Choices[0].Delta
	switch {
	case c.Choices[0].FinishReason != nil:
		return "final"
	case d.Role != nil:
		return "role"
	case d.ReasoningContent != nil || d.Reasoning != nil:
		return "reasoning"
	case d.Content != nil:
		return "content"
	case len(d.ToolCalls) > 0:
		return "tool"
	}
	tb.Fatalf("unclassified chunk %v", c.Raw)
	return ""
}

// order collapses consecutive kinds: role reasoning content tool final ...

func order(tb testing.TB, cs []testChunk) string {
	tb.Helper()
	var kinds []string
	for _, c := range cs {
		k := kind(tb, c)
		if len(kinds) == 0 || kinds[len(kinds)-1] != k {
			kinds = append(kinds, k)
		}
	}
	return strings.Join(kinds, " ")
}

func TestMoonshotStreamFraming(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(scripted)
	st := MustStream(t, s, body("kimi-k2.6", nil, user("weather?")))
	if st.Status != 200 || st.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d content-type %q", st.Status, st.Header.Get("Content-Type"))
	}
	if !framing.MatchString(st.Raw) || st.Comments != 0 {
		t.Fatalf("framing: %q", st.Raw)
	}
	if !st.done() {
		t.Fatal("stream does not end with [DONE]")
	}
	cs := st.chunks(t)
	if got := order(t, cs); got != "role reasoning content tool final" {
		t.Fatalf("chunk order = %q", got)
	}
	role := cs[0].Choices[0].Delta
	if *role.Role != "assistant" || role.Content == nil || *role.Content != "" {
		t.Errorf("role chunk = %v", cs[0].Raw)
	}
	for _, c := range cs {
		if !strings.HasPrefix(c.ID, "chatcmpl-") || c.ID != cs[0].ID || c.Object != "chat.completion.chunk" ||
			c.Model != "kimi-k2.6" || c.Provider != "" {
			t.Errorf("envelope = %v", c.Raw)
		}
		if _, ok := c.Raw["usage"]; ok {
			t.Errorf("top-level usage without include_usage: %v", c.Raw)
		}
	}
	var reasoning, content string
	for _, c := range cs {
		d := c.Choices[0].Delta
		if d.ReasoningContent != nil {
			reasoning += *d.ReasoningContent
		}
		if d.Content != nil {
			content += *d.Content
		}
	}
	if reasoning != scripted.Reasoning || content != scripted.Content {
		t.Errorf("reasoning %q content %q", reasoning, content)
	}
	checkToolDeltas(t, cs, []string{"get_weather:0", "get_time:1"})
	checkMoonshotFinal(t, cs[len(cs)-1], "tool_calls")
}

// checkToolDeltas checks the tool-call deltas: a head with index, id, type,

// name and "" arguments, then at least two argument pieces by index.

func checkToolDeltas(t *testing.T, cs []testChunk, ids []string) {
	t.Helper()
	args := make([]string, len(ids))
	pieces := make([]int, len(ids))
	heads := 0
	for _, c := range cs {
		for _, tc := range c.Choices[0].Delta.ToolCalls {
			i := *tc.Index
			if tc.ID != nil {
				heads++
				if *tc.ID != ids[i] || *tc.Type != "function" || tc.Function.Name == nil ||
					tc.Function.Arguments == nil || *tc.Function.Arguments != "" || pieces[i] != 0 {
					t.Errorf("head delta %d = %+v", i, tc)
				}
				continue
			}
			if tc.Type != nil || tc.Function.Name != nil || tc.Function.Arguments == nil {
				t.Errorf("argument delta %d carries more than index and arguments: %v", i, c.Raw)
			}
			args[i] += *tc.Function.Arguments
			pieces[i]++
		}
	}
	if heads != len(ids) {
		t.Errorf("heads = %d, want %d", heads, len(ids))
	}
	for i, c := range scripted.ToolCalls {
		if args[i] != c.Arguments || pieces[i] < 2 {
			t.Errorf("call %d: arguments %q in %d pieces, want %q in >= 2", i, args[i], pieces[i], c.Arguments)
		}
	}
}

// checkMoonshotFinal checks the final choice chunk: empty delta,

// finish_reason and usage inside choices[0].

func checkMoonshotFinal(t *testing.T, c testChunk, finish string) {
	t.Helper()
	ch := c.Choices[0]
	if ch.FinishReason == nil || *ch.FinishReason != finish {
		t.Fatalf("final chunk = %v", c.Raw)
	}
	var rawChoices []map[string]json.RawMessage
	MustJSON(t, c.Raw["choices"], &rawChoices)
	if string(rawChoices[0]["delta"]) != "{}" {
		t.Errorf("final delta = %s, want {}", rawChoices[0]["delta"])
	}
	u := ch.Usage
	if u == nil || u.PromptTokens != 213 || u.CompletionTokens != 99 || u.TotalTokens != 312 {
		t.Fatalf("usage in choices[0] = %+v", u)
	}
	if u.CachedTokens == nil || *u.CachedTokens != 90 || u.PromptTokensDetails == nil ||
		u.PromptTokensDetails.CachedTokens != 90 || u.CompletionTokensDetails.ReasoningTokens != 33 {
		t.Errorf("cached/reasoning tokens = %+v", u)
	}
	if u.Cost != nil {
		t.Errorf("moonshot usage carries cost")
	}
}

func TestMoonshotIncludeUsage(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(scripted)
	st := MustStream(t, s, body("kimi-k2.6", map[string]any{"stream_options": map[string]any{"include_usage": true}},
		user("weather?")))
	cs := st.chunks(t)
	if !st.done() || order(t, cs) != "role reasoning content tool final usage" {
		t.Fatalf("order = %q done=%v", order(t, cs), st.done())
	}
	checkMoonshotFinal(t, cs[len(cs)-2], "tool_calls")
	last := cs[len(cs)-1]
	if string(last.Raw["choices"]) != "[]" || last.Usage == nil || last.Usage.TotalTokens != 312 {
		t.Errorf("usage chunk = %v", last.Raw)
	}
}

func TestToolCallIDs(t *testing.T) {
	for _, tc := range []struct {
		flavor Flavor
		model  string
		want   []string
	}{
		{Moonshot, "kimi-k2-turbo-preview", []string{"lookup:0", "lookup:1", "other:2"}},
		{OpenRouter, "moonshotai/kimi-k2", []string{"call_0", "call_1", "call_2"}},
	} {
		s := MustServer(t, tc.flavor)
		s.Enqueue(Response{ToolCalls: []ToolCall{{Name: "lookup", Arguments: "{}"}, {Name: "lookup"}}},
			Response{ToolCalls: []ToolCall{{Name: "other", Arguments: `{"a":1}`}, {ID: "mine", Name: "x"}}})
		var got []string
		for range 2 {
			for _, c := range MustStream(t, s, body(tc.model, nil, user("go"))).chunks(t) {
				if len(c.Choices) == 0 {
					continue
				}
				for _, d := range c.Choices[0].Delta.ToolCalls {
					if d.ID != nil {
						got = append(got, *d.ID)
					}
				}
			}
		}
		want := append(tc.want, "mine")
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%v: ids = %v, want %v", tc.flavor, got, want)
		}
	}
}

func TestToolArgumentPieces(t *testing.T) {
	for _, tc := range []struct {
		args   string
		pieces []string
	}{
		{"", nil},
		{"{}", []string{"{", "}"}},
		{`{"a":1}`, []string{`{"a"`, `:1}`}},
		{`{"city":"Paris"}`, []string{`{"city":`, `"Paris"}`}},
		{`{"city":"Paris","days":3}`, []string{`{"city":`, `"Paris",`, `"days":3`, `}`}},
	} {
		s := MustServer(t, Moonshot)
		s.Enqueue(Response{ToolCalls: []ToolCall{{Name: "ping", Arguments: tc.args}}})
		cs := MustStream(t, s, body("kimi-k2-turbo-preview", nil, user("go"))).chunks(t)
		var heads int
		var pieces []string
		for _, c := range cs {
			for _, d := range c.Choices[0].Delta.ToolCalls {
				if d.ID != nil {
					heads++
					continue
				}
				pieces = append(pieces, *d.Function.Arguments)
			}
		}
		if heads != 1 || strings.Join(pieces, "|") != strings.Join(tc.pieces, "|") {
			t.Errorf("%q: heads %d pieces %q, want %q", tc.args, heads, pieces, tc.pieces)
		}
		if *cs[len(cs)-1].Choices[0].FinishReason != "tool_calls" {
			t.Errorf("%q: final %v", tc.args, cs[len(cs)-1].Raw)
		}
	}
}

func TestDefaultEchoStream(t *testing.T) {
	for _, tc := range []struct {
		name      string
		flavor    Flavor
		model     string
		extra     map[string]any
		reasoning bool
	}{
		{"MoonshotThinking", Moonshot, "kimi-k2.6", nil, true},
		{"MoonshotThinkingOff", Moonshot, "kimi-k2.6", map[string]any{"thinking": thinkingOff}, false},
		{"MoonshotPlain", Moonshot, "kimi-k2-turbo-preview", nil, false},
		{"OpenRouterThinking", OpenRouter, "moonshotai/kimi-k2-thinking", nil, true},
		{"OpenRouterReasoningOff", OpenRouter, "moonshotai/kimi-k2.5",
			map[string]any{"reasoning": map[string]any{"enabled": false}}, false},
		{"OpenRouterPlain", OpenRouter, "moonshotai/kimi-k2", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustServer(t, tc.flavor)
			cs := MustStream(t, s, body(tc.model, tc.extra, user("first"), user("hello there"))).chunks(t)
			var content, reasoning string
			for _, c := range cs {
				if len(c.Choices) == 0 {
					continue
				}
				d := c.Choices[0].Delta
				if d.Content != nil {
					content += *d.Content
				}
				if d.ReasoningContent != nil {
					reasoning += *d.ReasoningContent
				}
				if d.Reasoning != nil {
					reasoning += *d.Reasoning
				}
			}
			if content != "You said: hello there" || (reasoning != "") != tc.reasoning {
				t.Errorf("content %q reasoning %q", content, reasoning)
			}
		})
	}
}

func TestChunkSize(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(Response{Content: "abcdefghij", ChunkSize: 3}, Response{Content: "ééééééééé"})
	want := [][]string{{"abc", "def", "ghi", "j"}, {"éééééééé", "é"}}
	for _, w := range want {
		var got []string
		for _, c := range MustStream(t, s, body("kimi-k2-turbo-preview", nil, user("x"))).chunks(t) {
			if d := c.Choices[0].Delta; d.Content != nil && d.Role == nil {
				got = append(got, *d.Content)
			}
		}
		if strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("pieces = %q, want %q", got, w)
		}
	}
}

// checkORReasoning checks reasoning deltas: reasoning plus a reasoning.text

// detail with format unknown, never reasoning_content.

// checkORFinal checks native_finish_reason, the final chunk and the usage chunk.

func TestDefaultUsage(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(Response{Reasoning: strings.Repeat("r", 20), Content: strings.Repeat("c", 40)})
	msgs := []map[string]any{{"role": "system", "content": "be brief"}, user("how many tokens is this?")}
	cs := MustStream(t, s, body("kimi-k2.6", nil, msgs...)).chunks(t)
	u := cs[len(cs)-1].Choices[0].Usage
	var count struct {
		Data struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"data"`
	}
	MustJSON(t, MustDo(t, s, "POST", "/v1/tokenizers/estimate-token-count", body("kimi-k2.6", nil, msgs...)).Body, &count)
	if u == nil || u.PromptTokens != count.Data.TotalTokens || u.PromptTokens == 0 {
		t.Fatalf("prompt tokens = %+v, tokenizer says %d", u, count.Data.TotalTokens)
	}
	// About four runes a token: 20 runes of reasoning, 40 of content.
	if u.CompletionTokensDetails.ReasoningTokens != 5 || u.CompletionTokens != 15 ||
		u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage = %+v", u)
	}
}
