package kimitest

import (
	"strings"
	"testing"
)

func TestPartialMode(t *testing.T) {
	partial := func(prefix string) map[string]any {
		return map[string]any{"role": "assistant", "content": prefix, "partial": true}
	}
	for _, tc := range []struct {
		name, prefix, want string
		script             *Response
	}{
		{"JSONPrefix", "{", `"a":1}`, nil},
		{"EchoPrefix", "You said: he", "llo", nil},
		{"OtherPrefix", "Well,", " You said: hello", nil},
		{"Scripted", "{", `"b":2}`, &Response{Content: `"b":2}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustServer(t, Moonshot)
			if tc.script != nil {
				s.Enqueue(*tc.script)
			}
			extra := map[string]any{"thinking": thinkingOff}
			got := completionText(t, MustChat(t, s, body("kimi-k2.6", extra, user("hello"), partial(tc.prefix))))
			if got != tc.want {
				t.Errorf("continuation = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNonStreamMoonshot(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(scripted)
	r := MustChat(t, s, body("kimi-k2.6", nil, user("weather?")))
	var c struct {
		ID, Object, Model string
		Choices           []struct {
			Index        int    `json:"index"`
			FinishReason string `json:"finish_reason"`
			Message      struct {
				Role             string         `json:"role"`
				Content          string         `json:"content"`
				ReasoningContent *string        `json:"reasoning_content"`
				ToolCalls        []testToolCall `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
		Usage testUsage `json:"usage"`
	}
	MustJSON(t, r.Body, &c)
	if r.Body[0] != '{' || !strings.HasPrefix(c.ID, "chatcmpl-") || c.Object != "chat.completion" || c.Model != "kimi-k2.6" {
		t.Fatalf("envelope = %s", r.Body)
	}
	m := c.Choices[0].Message
	if c.Choices[0].FinishReason != "tool_calls" || m.Role != "assistant" || m.Content != scripted.Content ||
		m.ReasoningContent == nil || *m.ReasoningContent != scripted.Reasoning || len(m.ToolCalls) != 2 {
		t.Fatalf("choice = %+v", c.Choices[0])
	}
	tc := m.ToolCalls[1]
	if *tc.Index != 1 || *tc.ID != "get_time:1" || *tc.Type != "function" || *tc.Function.Arguments != scripted.ToolCalls[1].Arguments {
		t.Errorf("tool call = %+v", tc)
	}
	if c.Usage.CachedTokens == nil || *c.Usage.CachedTokens != 90 || c.Usage.PromptTokensDetails.CachedTokens != 90 ||
		c.Usage.CompletionTokensDetails.ReasoningTokens != 33 || c.Usage.TotalTokens != 312 {
		t.Errorf("usage = %+v", c.Usage)
	}
}

func TestNonStreamOpenRouter(t *testing.T) {
	s := MustServer(t, OpenRouter)
	s.Enqueue(scripted)
	r := MustChat(t, s, body("moonshotai/kimi-k2-thinking", nil, user("weather?")))
	if r.Body[0] != '\n' {
		t.Errorf("body does not start with whitespace: %.20q", r.Body)
	}
	var c struct {
		ID, Provider, Model string
		Choices             []struct {
			FinishReason       string `json:"finish_reason"`
			NativeFinishReason string `json:"native_finish_reason"`
			Message            struct {
				Reasoning        string         `json:"reasoning"`
				ReasoningDetails []testDetail   `json:"reasoning_details"`
				ToolCalls        []testToolCall `json:"tool_calls"`
			} `json:"message"`
		} `json:"choices"`
		Usage testUsage `json:"usage"`
	}
	MustJSON(t, r.Body, &c)
	ch := c.Choices[0]
	if !strings.HasPrefix(c.ID, "gen-") || c.Provider != "Moonshot AI" || c.Model != "moonshotai/kimi-k2-thinking" ||
		ch.FinishReason != "tool_calls" || ch.NativeFinishReason != "tool_calls" {
		t.Fatalf("envelope = %s", r.Body)
	}
	if ch.Message.Reasoning != scripted.Reasoning || len(ch.Message.ReasoningDetails) != 1 ||
		ch.Message.ReasoningDetails[0].Type != "reasoning.text" || *ch.Message.ToolCalls[0].ID != "call_0" {
		t.Errorf("message = %+v", ch.Message)
	}
	if c.Usage.Cost == nil || *c.Usage.Cost != 0.0004 || c.Usage.IsBYOK == nil || c.Usage.CachedTokens != nil {
		t.Errorf("usage = %+v", c.Usage)
	}
	if r.Header.Get("X-Generation-Id") != c.ID {
		t.Errorf("X-Generation-Id = %q", r.Header.Get("X-Generation-Id"))
	}
}
