package kimitest

import (
	"strings"
	"testing"
)

var (
	thinkingOff = map[string]any{"type": "disabled"}
	thinkingOn  = map[string]any{"type": "enabled"}
	weatherTool = map[string]any{"type": "function", "function": map[string]any{
		"name": "get_weather", "parameters": map[string]any{"type": "object"}}}
)

func TestMoonshotRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model string
		extra map[string]any
		msg   string // "" = accepted
	}{
		{"NoTemperatureOK", "kimi-k2.6", nil, ""},
		{"LockedThinkingOK", "kimi-k2.6", map[string]any{"temperature": 1}, ""},
		{"ErrLockedThinking", "kimi-k2.6", map[string]any{"temperature": 0.6},
			"invalid temperature: only 1 is allowed for this model"},
		{"ErrLockedNoThinking", "kimi-k2.5", map[string]any{"temperature": 1, "thinking": thinkingOff},
			"invalid temperature: only 0.6 is allowed for this model"},
		{"LockedNoThinkingOK", "kimi-k2.5", map[string]any{"temperature": 0.6, "thinking": thinkingOff}, ""},
		{"ErrK3Temperature", "kimi-k3", map[string]any{"temperature": 0.6},
			"invalid temperature: only 1 is allowed for this model"},
		{"ErrTopP", "kimi-k2.6", map[string]any{"top_p": 0.9}, "invalid top_p: only 0.95 is allowed for this model"},
		{"TopPOK", "kimi-k2.6", map[string]any{"top_p": 0.95}, ""},
		{"ErrN", "kimi-k2.6", map[string]any{"n": 2}, "invalid n: only 1 is allowed for this model"},
		{"NOK", "kimi-k2.6", map[string]any{"n": 1}, ""},
		{"ErrThinkingToggleK2Thinking", "kimi-k2-thinking", map[string]any{"thinking": thinkingOff},
			"invalid thinking: only type=enabled is allowed for this model"},
		{"ErrThinkingToggleK3", "kimi-k3", map[string]any{"thinking": thinkingOff},
			"invalid thinking: only type=enabled is allowed for this model"},
		{"ThinkingEnabledOK", "kimi-k2-thinking", map[string]any{"thinking": thinkingOn}, ""},
		{"ErrThinkingBool", "kimi-k2.6", map[string]any{"thinking": true},
			"invalid thinking: expected type object, but got bool: bool is not acceptable"},
		{"ErrRequiredWithThinking", "kimi-k2.6",
			map[string]any{"tool_choice": "required", "tools": []any{weatherTool}},
			"tool_choice 'required' is incompatible with thinking enabled"},
		{"RequiredThinkingOffOK", "kimi-k2.6",
			map[string]any{"tool_choice": "required", "tools": []any{weatherTool}, "thinking": thinkingOff}, ""},
		{"RequiredNoReasoningModelOK", "kimi-k2-turbo-preview",
			map[string]any{"tool_choice": "required", "tools": []any{weatherTool}}, ""},
		{"ErrDuplicateTools", "kimi-k2-turbo-preview", map[string]any{"tools": []any{weatherTool, weatherTool}},
			"Invalid request: function name get_weather is duplicated"},
		{"ErrV1TemperatureOver1", "moonshot-v1-8k", map[string]any{"temperature": 1.5},
			"invalid temperature: 1.5 is not in range [0, 1]"},
		{"V1TemperatureOK", "moonshot-v1-8k", map[string]any{"temperature": 0.3}, ""},
		{"TurboTemperatureOK", "kimi-k2-turbo-preview", map[string]any{"temperature": 0.6}, ""},
		{"ErrTokenLimit", "moonshot-v1-8k", map[string]any{"max_tokens": 8192},
			"Your request exceeded model token limit : 8192"},
		{"MaxTokensOK", "moonshot-v1-8k", map[string]any{"max_completion_tokens": 4096}, ""},
		{"ErrWebSearchWhileThinking", "kimi-k2.6", map[string]any{"tools": []any{webSearchTool}},
			"Invalid request: $web_search is not available while thinking is enabled; disable thinking"},
		{"WebSearchThinkingOffOK", "kimi-k2.6", map[string]any{"tools": []any{webSearchTool}, "thinking": thinkingOff}, ""},
		{"WebSearchNoReasoningModelOK", "kimi-k2-turbo-preview", map[string]any{"tools": []any{webSearchTool}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustServer(t, Moonshot)
			r := MustChat(t, s, body(tc.model, tc.extra, user("hello")))
			if tc.msg == "" {
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				return
			}
			e := MustError(t, r, 400)
			if e.Error.Message != tc.msg || e.Error.Type != "invalid_request_error" {
				t.Errorf("error = %+v, want %q", e.Error, tc.msg)
			}
		})
	}
}

func TestOpenRouterIgnoresMoonshotRules(t *testing.T) {
	s := MustServer(t, OpenRouter)
	extra := map[string]any{"temperature": 0.2, "top_p": 0.5, "n": 1, "thinking": true,
		"tool_choice": "required", "tools": []any{weatherTool}}
	if r := MustChat(t, s, body("moonshotai/kimi-k2.5", extra, user("hi"))); r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Body)
	}
}

func TestRejectedRequestKeepsQueue(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(Response{Content: "kept"})
	MustError(t, MustChat(t, s, body("kimi-k2.6", map[string]any{"top_p": 0.1}, user("x"))), 400)
	if got := completionText(t, MustChat(t, s, body("kimi-k2.6", nil, user("x")))); got != "kept" {
		t.Errorf("content after a rejected request = %q, want the queued answer", got)
	}
}

func TestReasoningRule(t *testing.T) {
	empty, space, text := "", " ", "I need the weather."
	history := func(r *string) []map[string]any {
		return []map[string]any{
			{"role": "system", "content": "be brief"},
			user("weather?"),
			assistantCall("get_weather:0", "get_weather", `{"city":"Paris"}`, r),
			toolResult("get_weather:0", "get_weather", "sunny"),
		}
	}
	for _, tc := range []struct {
		name      string
		flavor    Flavor
		model     string
		reasoning *string
		extra     map[string]any
		disable   bool
		wantErr   bool
	}{
		{"ErrMissing", Moonshot, "kimi-k2.6", nil, nil, false, true},
		{"ErrMissingThinkingEnabled", Moonshot, "kimi-k2.6", nil, map[string]any{"thinking": thinkingOn}, false, true},
		{"ErrMissingAlwaysThinking", Moonshot, "kimi-k2-thinking", nil, nil, false, true},
		{"Present", Moonshot, "kimi-k2.6", &text, nil, false, false},
		{"EmptyCounts", Moonshot, "kimi-k2.6", &empty, nil, false, false},
		{"SpaceCounts", Moonshot, "kimi-k2.6", &space, nil, false, false},
		{"ThinkingOff", Moonshot, "kimi-k2.6", nil, map[string]any{"thinking": thinkingOff}, false, false},
		{"NoReasoningModel", Moonshot, "kimi-k2-turbo-preview", nil, nil, false, false},
		{"Disabled", Moonshot, "kimi-k2.6", nil, nil, true, false},
		{"OpenRouter", OpenRouter, "moonshotai/kimi-k2.5", nil, nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t, Options{Flavor: tc.flavor, DisableReasoningRule: tc.disable})
			r := MustChat(t, s, body(tc.model, tc.extra, history(tc.reasoning)...))
			if !tc.wantErr {
				if r.Status != 200 {
					t.Fatalf("status %d: %s", r.Status, r.Body)
				}
				return
			}
			e := MustError(t, r, 400)
			want := "thinking is enabled but reasoning_content is missing in assistant tool call message at index 2"
			if e.Error.Message != want || e.Error.Type != "invalid_request_error" {
				t.Errorf("error = %+v", e.Error)
			}
		})
	}
}

func TestReasoningRuleIndex(t *testing.T) {
	s := MustServer(t, Moonshot)
	r := "ok"
	msgs := []map[string]any{
		user("a"),
		assistantCall("f:0", "f", "{}", &r), toolResult("f:0", "f", "1"),
		assistantCall("f:1", "f", "{}", &r), toolResult("f:1", "f", "2"),
		assistantCall("f:2", "f", "{}", nil), toolResult("f:2", "f", "3"),
	}
	e := MustError(t, MustChat(t, s, body("kimi-k2.6", nil, msgs...)), 400)
	if !strings.HasSuffix(e.Error.Message, "at index 5") {
		t.Errorf("message = %q, want index 5", e.Error.Message)
	}
}

func TestOrphanToolResult(t *testing.T) {
	for _, f := range []Flavor{Moonshot, OpenRouter} {
		s := MustServer(t, f)
		model := map[Flavor]string{Moonshot: "kimi-k2-turbo-preview", OpenRouter: "moonshotai/kimi-k2"}[f]
		msgs := []map[string]any{
			user("a"),
			assistantCall("f:0", "f", "{}", nil),
			toolResult("f:9", "f", "orphan"),
		}
		e := MustError(t, MustChat(t, s, body(model, nil, msgs...)), 400)
		if e.Error.Message != "Invalid request: tool_call_id f:9 is not found" {
			t.Errorf("%v: error = %+v", f, e.Error)
		}
		before := []map[string]any{user("a"), toolResult("f:0", "f", "early"), assistantCall("f:0", "f", "{}", nil)}
		MustError(t, MustChat(t, s, body(model, nil, before...)), 400)
	}
}

func TestWebSearchEcho(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(Response{ToolCalls: []ToolCall{{Name: "$web_search"}}})
	tools := []any{map[string]any{"type": "builtin_function", "function": map[string]any{"name": "$web_search"}}}
	extra := map[string]any{"tools": tools, "thinking": thinkingOff}
	st := MustStream(t, s, body("kimi-k2.6", extra, user("news?")))
	var id, typ, args string
	for _, c := range st.chunks(t) {
		if len(c.Choices) == 0 {
			t.Fatalf("usage chunk without include_usage: %v", c.Raw)
		}
		for _, tc := range c.Choices[0].Delta.ToolCalls {
			if tc.ID != nil {
				id, typ = *tc.ID, *tc.Type
			}
			if tc.Function.Arguments != nil {
				args += *tc.Function.Arguments
			}
		}
	}
	if id == "" || typ != "builtin_function" || !strings.Contains(args, `"search_id"`) {
		t.Fatalf("call id=%q type=%q args=%q", id, typ, args)
	}
	turn := func(content string) result {
		msgs := []map[string]any{
			user("news?"),
			assistantCall(id, "$web_search", args, nil),
			toolResult(id, "$web_search", content),
		}
		return MustChat(t, s, body("kimi-k2.6", extra, msgs...))
	}
	e := MustError(t, turn(`{"search_result":{}}`), 400)
	if !strings.Contains(e.Error.Message, "$web_search") {
		t.Errorf("altered echo: error = %+v", e.Error)
	}
	forged := []map[string]any{
		user("news?"),
		assistantCall(id, "$web_search", `{"forged":true}`, nil),
		toolResult(id, "$web_search", `{"forged":true}`),
	}
	MustError(t, MustChat(t, s, body("kimi-k2.6", extra, forged...)), 400)
	if r := turn(args); r.Status != 200 {
		t.Fatalf("exact echo: status %d: %s", r.Status, r.Body)
	}
}

// webSearchTool declares Moonshot's builtin $web_search.
var webSearchTool = map[string]any{"type": "builtin_function", "function": map[string]any{"name": "$web_search"}}
