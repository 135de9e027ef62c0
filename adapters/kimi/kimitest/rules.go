package kimitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// rule is one of Moonshot's request checks. It reads the model's row of
// the table and returns the message of a 400, or "" when the request passes.
type rule func(req *ChatRequest, m Model) string

// moonshotRules are checked in order; the first failure is returned.
var moonshotRules = []rule{
	checkThinkingType,
	checkThinkingToggle,
	checkTemperature,
	checkTopP,
	checkN,
	checkToolChoice,
	checkDuplicateTools,
	checkWebSearchThinking,
	checkTokenLimit,
}

// validate applies the flavour's request rules. OpenRouter ignores
// parameters a model does not support; both flavours reject tool results
// that answer no call.
func (s *Server) validate(req *ChatRequest, m Model) *APIError {
	if s.opts.Flavor == Moonshot {
		for _, r := range moonshotRules {
			if msg := r(req, m); msg != "" {
				return invalidRequest(msg)
			}
		}
		if !s.opts.DisableReasoningRule && moonshotThinking(req, m) {
			if i := missingReasoning(req.Messages); i >= 0 {
				return invalidRequest(fmt.Sprintf("thinking is enabled but reasoning_content is missing "+
					"in assistant tool call message at index %d", i))
			}
		}
	}
	if msg := s.checkToolMessages(req); msg != "" {
		return invalidRequest(msg)
	}
	return nil
}

// thinkingType returns the type of a `thinking` object ("" when absent or
// null) and false when the field is not an object.
func thinkingType(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var obj struct {
		Type string `json:"type"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &obj) != nil {
		return "", false
	}
	return obj.Type, true
}

// moonshotThinking reports whether Moonshot thinks for this request.
func moonshotThinking(req *ChatRequest, m Model) bool {
	if !m.Reasoning {
		return false
	}
	switch typ, _ := thinkingType(req.Thinking); typ {
	case "enabled":
		return true
	case "disabled":
		return !m.ThinkingToggle
	}
	return m.ThinkingDefault
}

// orThinking reports whether an OpenRouter model thinks for this request.
func orThinking(req *ChatRequest, m Model) bool {
	if !m.Reasoning {
		return false
	}
	if !m.ThinkingToggle {
		return true
	}
	p := req.reasoningPrefs()
	if (p.Enabled != nil && !*p.Enabled) || p.Effort == "none" {
		return false
	}
	return m.ThinkingDefault || p.Enabled != nil || p.Effort != ""
}

func (s *Server) thinking(req *ChatRequest, m Model) bool {
	if s.opts.Flavor == OpenRouter {
		return orThinking(req, m)
	}
	return moonshotThinking(req, m)
}

func checkThinkingType(req *ChatRequest, _ Model) string {
	raw := bytes.TrimSpace(req.Thinking)
	if _, ok := thinkingType(raw); ok {
		return ""
	}
	return fmt.Sprintf("invalid thinking: expected type object, but got %s: %s is not acceptable",
		jsonKind(raw), jsonKind(raw))
}

// jsonKind names the JSON type of a raw value.
func jsonKind(raw []byte) string {
	switch {
	case len(raw) == 0:
		return "empty"
	case raw[0] == 't' || raw[0] == 'f':
		return "bool"
	case raw[0] == '"':
		return "string"
	case raw[0] == '[':
		return "array"
	case raw[0] == '{':
		return "object"
	}
	return "number"
}

func checkThinkingToggle(req *ChatRequest, m Model) string {
	typ, _ := thinkingType(req.Thinking)
	switch {
	case typ == "" || typ == "enabled":
		return ""
	case typ != "disabled":
		return "invalid thinking: type must be one of enabled, disabled"
	case m.Reasoning && !m.ThinkingToggle:
		return "invalid thinking: only type=enabled is allowed for this model"
	}
	return ""
}

func checkTemperature(req *ChatRequest, m Model) string {
	if req.Temperature == nil {
		return ""
	}
	t := *req.Temperature
	if lt := m.LockedTemperature; lt != nil {
		want := lt.NoThinking
		if moonshotThinking(req, m) {
			want = lt.Thinking
		}
		if !near(t, want) {
			return "invalid temperature: only " + formatNum(want) + " is allowed for this model"
		}
		return ""
	}
	if t < 0 || t > 1 {
		return "invalid temperature: " + formatNum(t) + " is not in range [0, 1]"
	}
	return ""
}

func checkTopP(req *ChatRequest, m Model) string {
	if req.TopP == nil || m.LockedTopP == 0 || near(*req.TopP, m.LockedTopP) {
		return ""
	}
	return "invalid top_p: only " + formatNum(m.LockedTopP) + " is allowed for this model"
}

func checkN(req *ChatRequest, m Model) string {
	switch {
	case req.N == nil:
		return ""
	case m.FixedN && *req.N != 1:
		return "invalid n: only 1 is allowed for this model"
	case *req.N < 1 || *req.N > 5:
		return "invalid n: " + strconv.Itoa(*req.N) + " is not in range [1, 5]"
	}
	return ""
}

func checkToolChoice(req *ChatRequest, m Model) string {
	var choice string
	if json.Unmarshal(req.ToolChoice, &choice) != nil || choice != "required" || !moonshotThinking(req, m) {
		return ""
	}
	return "tool_choice 'required' is incompatible with thinking enabled"
}

func checkDuplicateTools(req *ChatRequest, _ Model) string {
	seen := make(map[string]bool, len(req.Tools))
	for _, raw := range req.Tools {
		var t struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if json.Unmarshal(raw, &t) != nil {
			return "Invalid request: tools: each tool must be an object"
		}
		if seen[t.Function.Name] {
			return "Invalid request: function name " + t.Function.Name + " is duplicated"
		}
		seen[t.Function.Name] = true
	}
	return ""
}

// checkTokenLimit rejects a request whose estimated input plus its output
// cap exceeds the model's context.
func checkTokenLimit(req *ChatRequest, m Model) string {
	limit := max(req.MaxTokens, req.MaxCompletionTokens)
	if m.ContextLength == 0 || limit == 0 || promptTokens(req)+limit <= m.ContextLength {
		return ""
	}
	return "Your request exceeded model token limit : " + strconv.Itoa(m.ContextLength)
}

// missingReasoning returns the index of the first assistant tool-call
// message without reasoning_content, or -1. An empty string counts as present.
func missingReasoning(msgs []ChatMessage) int {
	for i, m := range msgs {
		if m.Role == "assistant" && len(m.ToolCalls) > 0 && m.ReasoningContent == nil {
			return i
		}
	}
	return -1
}

// checkToolMessages rejects tool results whose tool_call_id matches no
// earlier assistant call, and $web_search results that do not echo the
// call's arguments unchanged.
func (s *Server) checkToolMessages(req *ChatRequest) string {
	type call struct{ name, args string }
	calls := make(map[string]call)
	for _, m := range req.Messages {
		switch m.Role {
		case "assistant":
			for _, tc := range m.ToolCalls {
				calls[tc.ID] = call{tc.Function.Name, tc.Function.Arguments}
			}
		case "tool":
			c, ok := calls[m.ToolCallID]
			if !ok {
				return "Invalid request: tool_call_id " + m.ToolCallID + " is not found"
			}
			if c.name != webSearch && m.Name != webSearch {
				continue
			}
			want := c.args
			if sent, ok := s.sentWebSearch(m.ToolCallID); ok {
				want = sent
			}
			if m.Text() != want {
				return "Invalid request: the content of a $web_search tool message must be the arguments of its call, unchanged"
			}
		}
	}
	return ""
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func formatNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
