package kimi

import (
	"encoding/json"
	"strings"
	"testing"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/tools"
)

func TestRequestBodyMoonshot(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, nil)
	temp := 0.3
	req := bot.ChatRequest{
		Model: "kimi-k2.6", Thinking: bot.ThinkingDisabled, Temperature: &temp, Partial: true, MaxTokens: 300,
		Tools: []tools.Spec{
			{Name: "get_weather", Description: "Weather.", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)},
			{Name: "current_time", Description: "Time."},
		},
		Messages: []conversation.Message{
			{Role: conversation.RoleSystem, Text: "You are kimibot."},
			{Role: conversation.RoleUser, Text: "What is this?", Parts: []conversation.Part{
				{Type: conversation.PartImage, ImageURL: "data:image/png;base64,iVBORw0KGgo=", Name: "a.png"}}},
			{Role: conversation.RoleAssistant, ToolCalls: []conversation.ToolCall{{ID: "current_time:0", Name: "current_time"}}},
			{Role: conversation.RoleTool, ToolCallID: "current_time:0", ToolName: "current_time", Text: "noon"},
			{Role: conversation.RoleUser, Text: "JSON please"},
			{Role: conversation.RoleAssistant, Text: "{"},
		},
	}
	a := MustAnswer(t, c, req)
	if a.content != `"a":1}` {
		t.Errorf("partial continuation = %q", a.content)
	}

	body := s.ChatRequests()[0]
	MustJSONEqual(t, body.Thinking, `{"type":"disabled"}`)
	for _, f := range []string{"temperature", "top_p", "n", "reasoning", "provider"} {
		if v, ok := body.Raw[f]; ok {
			t.Errorf("%s = %s, want it absent", f, v)
		}
	}
	MustJSONEqual(t, body.ToolChoice, `"auto"`)
	MustJSONEqual(t, body.Tools[1], `{"type":"function","function":{"name":"current_time","description":"Time.","parameters":{"type":"object","properties":{}}}}`)
	if !body.Stream || body.StreamOptions == nil || !body.StreamOptions.IncludeUsage || body.MaxCompletionTokens != 300 {
		t.Errorf("stream %v, options %+v, max_completion_tokens %d", body.Stream, body.StreamOptions, body.MaxCompletionTokens)
	}
	msgs := body.Messages
	MustJSONEqual(t, msgs[1].Content, `[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]`)
	if _, ok := msgs[2].Raw["content"]; ok || msgs[2].ToolCalls[0].Function.Arguments != "{}" {
		t.Errorf("tool-call message = %s", mustMarshal(t, msgs[2].Raw))
	}
	if msgs[3].ToolCallID != "current_time:0" || msgs[3].Name != "current_time" || msgs[3].Text() != "noon" {
		t.Errorf("tool message = %s", mustMarshal(t, msgs[3].Raw))
	}
	if !msgs[5].Partial || msgs[4].Partial {
		t.Errorf("partial flags = %v, %v", msgs[4].Partial, msgs[5].Partial)
	}
}

func mustMarshal(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestRequestModelRules(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		model       string
		thinking    bot.Thinking
		temperature *float64
		wantThink   string // "" for absent
		wantTemp    string // "" for absent
	}{
		{"kimi-k2.6", bot.ThinkingEnabled, f(0.7), `{"type":"enabled"}`, ""},
		{"kimi-k2.5", bot.ThinkingDefault, f(1), "", ""},
		{"kimi-k3", bot.ThinkingDisabled, f(0.2), "", ""},
		{"kimi-k2-thinking", bot.ThinkingDisabled, f(0.9), "", "0.9"},
		{"moonshot-v1-8k", bot.ThinkingDefault, f(1.7), "", "1"},
		{"moonshot-v1-8k", bot.ThinkingDefault, f(0), "", "0"},
		{"kimi-k2-turbo-preview", bot.ThinkingDisabled, nil, "", ""},
	}
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, nil)
	for i, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			req := chat(tt.model, "hi")
			req.Thinking, req.Temperature = tt.thinking, tt.temperature
			MustAnswer(t, c, req) // the fake enforces Moonshot's rules
			body := s.ChatRequests()[i]
			if got := string(body.Raw["thinking"]); got != tt.wantThink {
				t.Errorf("thinking = %s, want %s", got, tt.wantThink)
			}
			if got := string(body.Raw["temperature"]); got != tt.wantTemp {
				t.Errorf("temperature = %s, want %s", got, tt.wantTemp)
			}
		})
	}
}

func TestRequestLockedThinkingDropped(t *testing.T) {
	c := MustRawClient(t, Config{})
	req := chat("kimi-k2.7-code", "hi")
	req.Thinking = bot.ThinkingDisabled
	_, x, err := c.buildRequest(req, c.thinks(req))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := x.top["thinking"]; ok {
		t.Errorf("thinking = %v, want it dropped", v)
	}
	if !c.thinks(req) {
		t.Errorf("kimi-k2.7-code must count as thinking when disabling is refused")
	}
}

func TestRequestPartialNeedsAssistant(t *testing.T) {
	c := MustRawClient(t, Config{})
	req := chat("kimi-k2.6", "hi")
	req.Partial = true
	if _, _, err := c.buildRequest(req, false); err == nil {
		t.Fatal("partial request without an assistant prefix was accepted")
	}
}

func TestRequestOpenRouter(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{Flavor: kimitest.OpenRouter})
	c, _ := MustClient(t, s, func(cfg *Config) {
		cfg.Referer, cfg.Title = "https://kimibot.example", "kimibot"
		cfg.ProviderPrefs = json.RawMessage(`{"order":["moonshotai"],"allow_fallbacks":false}`)
		cfg.FallbackModels = []string{"moonshotai/kimi-k2-0905"}
		cfg.ReasoningEffort = "high"
	})
	tests := []struct {
		thinking      bot.Thinking
		wantReasoning string
	}{
		{bot.ThinkingEnabled, `{"enabled":true,"effort":"high"}`},
		{bot.ThinkingDisabled, `{"enabled":false}`},
		{bot.ThinkingDefault, `{"effort":"high"}`},
	}
	for i, tt := range tests {
		req := chat("moonshotai/kimi-k2.5", "hi")
		req.Thinking, req.MaxTokens = tt.thinking, 500
		MustAnswer(t, c, req)
		body := s.ChatRequests()[i]
		MustJSONEqual(t, body.Reasoning, tt.wantReasoning)
		MustJSONEqual(t, body.Provider, `{"order":["moonshotai"],"allow_fallbacks":false}`)
		if strings.Join(body.Models, ",") != "moonshotai/kimi-k2-0905" || body.MaxTokens != 500 {
			t.Errorf("models = %q, max_tokens = %d", body.Models, body.MaxTokens)
		}
		if _, ok := body.Raw["thinking"]; ok {
			t.Errorf("thinking object sent to OpenRouter")
		}
	}
	h := s.Requests()[0].Header
	if h.Get("HTTP-Referer") != "https://kimibot.example" || h.Get("X-Title") != "kimibot" {
		t.Errorf("headers = %v", h)
	}
}

func TestOpenRouterFallbackModel(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{Flavor: kimitest.OpenRouter})
	c, _ := MustClient(t, s, func(cfg *Config) { cfg.FallbackModels = []string{"moonshotai/kimi-k2-0905"} })
	a := MustAnswer(t, c, chat("moonshotai/kimi-k9-retired", "hi"))
	if a.final.Model != "moonshotai/kimi-k2-0905" {
		t.Errorf("served model = %q, want the fallback", a.final.Model)
	}
}

func TestMergeBody(t *testing.T) {
	raw := []byte(`{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","drop":1}],"stream":true}`)
	out, err := mergeBody(raw, map[string]any{"thinking": map[string]string{"type": "enabled"}},
		map[int]map[string]any{1: {"partial": true, "drop": nil}})
	if err != nil {
		t.Fatal(err)
	}
	MustJSONEqual(t, out, `{"model":"m","stream":true,"thinking":{"type":"enabled"},
		"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b","partial":true}]}`)
	if _, err := mergeBody(raw, nil, map[int]map[string]any{5: {"x": 1}}); err == nil {
		t.Error("out-of-range message index accepted")
	}
}
