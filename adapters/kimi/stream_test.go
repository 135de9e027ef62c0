package kimi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/tools"
)

func TestStreamAnswer(t *testing.T) {
	tests := []struct {
		name   string
		flavor kimitest.Flavor
		model  string
		usage  conversation.Usage
	}{
		{"Moonshot", kimitest.Moonshot, "kimi-k2.6",
			conversation.Usage{PromptTokens: 50, CachedTokens: 30, CompletionTokens: 20, ReasoningTokens: 5, TotalTokens: 70}},
		{"OpenRouter", kimitest.OpenRouter, "moonshotai/kimi-k2.5",
			conversation.Usage{PromptTokens: 50, CachedTokens: 30, CompletionTokens: 20, ReasoningTokens: 5, TotalTokens: 70, Cost: 0.0125}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kimitest.New(t, kimitest.Options{Flavor: tt.flavor})
			c, _ := MustClient(t, s, nil)
			s.Enqueue(kimitest.Response{
				Reasoning: "The user greets me; answer kindly.",
				Content:   "Hello there! How can I help you today?",
				Model:     tt.model + "-0127",
				ChunkSize: 5,
				Usage: &kimitest.Usage{PromptTokens: 50, CompletionTokens: 20, CachedTokens: 30,
					ReasoningTokens: 5, Cost: 0.0125},
			})
			a := MustAnswer(t, c, chat(tt.model, "hi"))
			if a.content != "Hello there! How can I help you today?" || a.pieces < 2 {
				t.Errorf("content = %q in %d pieces", a.content, a.pieces)
			}
			if a.reasoning != "The user greets me; answer kindly." {
				t.Errorf("reasoning = %q", a.reasoning)
			}
			f := a.final
			if f.Content != a.content || f.Reasoning != a.reasoning || f.FinishReason != "stop" {
				t.Errorf("final = %+v", f)
			}
			if f.Model != tt.model+"-0127" {
				t.Errorf("model = %q, want the served model", f.Model)
			}
			if f.Usage != tt.usage {
				t.Errorf("usage = %+v, want %+v", f.Usage, tt.usage)
			}
		})
	}
}

func TestStreamToolCalls(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, nil)
	s.Enqueue(kimitest.Response{
		Reasoning: "Need weather and time.",
		ToolCalls: []kimitest.ToolCall{
			{Name: "get_weather", Arguments: `{"city": "Paris", "unit": "celsius"}`},
			{Name: "current_time"},
		},
		ChunkSize: 4,
	})
	a := MustAnswer(t, c, chat("kimi-k2.6", "weather?"))
	if want := []string{"get_weather", "current_time"}; !reflect.DeepEqual(a.tools, want) {
		t.Errorf("tool chunks = %q, want %q", a.tools, want)
	}
	want := []conversation.ToolCall{
		{ID: "get_weather:0", Name: "get_weather", Arguments: `{"city": "Paris", "unit": "celsius"}`},
		{ID: "current_time:1", Name: "current_time", Arguments: "{}"},
	}
	if !reflect.DeepEqual(a.final.ToolCalls, want) {
		t.Errorf("tool calls = %+v, want %+v", a.final.ToolCalls, want)
	}
	if a.final.FinishReason != "tool_calls" {
		t.Errorf("finish = %q", a.final.FinishReason)
	}
}

// serveSSE serves the given data payloads as one SSE stream; a payload
// "<hang>" stops writing until the client goes away.
func serveSSE(tb testing.TB, payloads ...string) string {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for _, p := range payloads {
			if p == "<hang>" {
				<-r.Context().Done()
				return
			}
			_, _ = w.Write([]byte("data: " + p + "\n\n"))
			_ = rc.Flush()
		}
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

func TestStreamInterleavedToolDeltas(t *testing.T) {
	url := serveSSE(t,
		`{"model":"kimi-k2.6","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`,
		`{"model":"kimi-k2.6","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b:1","type":"function","function":{"name":"beta","arguments":""}},{"index":0,"id":"a:0","type":"function","function":{"name":"alpha","arguments":""}}]}}]}`,
		`{"model":"kimi-k2.6","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{\"y\":"}},{"index":0,"function":{"arguments":"{\"x\":1}"}}]}}]}`,
		`{"model":"kimi-k2.6","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"2}"}}]}}]}`,
		`{"model":"kimi-k2.6","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls","usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}]}`,
		`[DONE]`)
	c := MustRawClient(t, Config{BaseURL: url})
	a := MustAnswer(t, c, chat("kimi-k2.6", "two calls"))
	want := []conversation.ToolCall{{ID: "a:0", Name: "alpha", Arguments: `{"x":1}`}, {ID: "b:1", Name: "beta", Arguments: `{"y":2}`}}
	if !reflect.DeepEqual(a.final.ToolCalls, want) {
		t.Errorf("tool calls = %+v, want %+v", a.final.ToolCalls, want)
	}
	if a.final.Usage.TotalTokens != 12 {
		t.Errorf("usage = %+v", a.final.Usage)
	}
}

// toolTurn is a stored conversation in which the assistant called a tool.
func toolTurn(model string, call conversation.Message) bot.ChatRequest {
	req := chat(model, "What is the weather in Paris?")
	req.Tools = []tools.Spec{{Name: "get_weather", Description: "Weather for a city.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`)}}
	req.Messages = append(req.Messages, call, conversation.Message{
		Role: conversation.RoleTool, ToolCallID: call.ToolCalls[0].ID, ToolName: "get_weather", Text: `{"sky":"sunny"}`,
	})
	return req
}

func TestThinkingToolLoop(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, nil)
	s.Enqueue(kimitest.Response{Reasoning: "I should call get_weather.",
		ToolCalls: []kimitest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}}})
	first := MustAnswer(t, c, toolTurn("kimi-k2.6", conversation.Message{
		Role: conversation.RoleAssistant, ToolCalls: []conversation.ToolCall{{ID: "old:0", Name: "get_weather", Arguments: `{"city":"Rome"}`}},
		Reasoning: "Earlier thought.",
	}))

	req := toolTurn("kimi-k2.6", conversation.Message{
		Role: conversation.RoleAssistant, ToolCalls: first.final.ToolCalls, Reasoning: first.final.Reasoning,
	})
	// A stored tool-call turn without reasoning gets the placeholder.
	req.Messages = append(req.Messages[:2], append([]conversation.Message{
		{Role: conversation.RoleAssistant, ToolCalls: []conversation.ToolCall{{ID: "x:9", Name: "get_weather", Arguments: `{"city":"Oslo"}`}}},
		{Role: conversation.RoleTool, ToolCallID: "x:9", ToolName: "get_weather", Text: "rain"},
	}, req.Messages[2:]...)...)
	s.Enqueue(kimitest.Response{Content: "It is sunny in Paris."})
	second := MustAnswer(t, c, req)
	if second.content != "It is sunny in Paris." {
		t.Fatalf("content = %q", second.content)
	}
	sent := s.ChatRequests()[1].Messages
	if got := sent[2].ReasoningContent; got == nil || *got != reasoningPlaceholder {
		t.Errorf("placeholder reasoning_content = %v", got)
	}
	if got := sent[4].ReasoningContent; got == nil || *got != "I should call get_weather." {
		t.Errorf("sent-back reasoning_content = %v", got)
	}
	if _, ok := sent[4].Raw["content"]; ok {
		t.Errorf("assistant tool-call message carries content: %s", sent[4].Raw["content"])
	}
}

func TestOpenRouterComments(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{Flavor: kimitest.OpenRouter})
	c, _ := MustClient(t, s, nil)
	content := strings.Repeat("Kimi streams through OpenRouter. ", 4)
	s.Enqueue(kimitest.Response{Content: content, ChunkSize: 16, Comments: 450, CommentsBetween: 320})
	a := MustAnswer(t, c, chat("moonshotai/kimi-k2", "hi"))
	if a.content != content || a.final.Content != content {
		t.Fatalf("content = %q, want %q", a.content, content)
	}
}

func TestOpenRouterReasoningDetailsRoundTrip(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{Flavor: kimitest.OpenRouter})
	c, _ := MustClient(t, s, nil)
	s.Enqueue(kimitest.Response{Reasoning: "Need the weather in Paris first.", ChunkSize: 6,
		ToolCalls: []kimitest.ToolCall{{Name: "get_weather", Arguments: `{"city":"Paris"}`}}})
	model := "moonshotai/kimi-k2-thinking"
	first := MustAnswer(t, c, chat(model, "weather?"))
	MustJSONEqual(t, first.final.ReasoningDetails,
		`[{"type":"reasoning.text","text":"Need the weather in Paris first.","format":"unknown","index":0}]`)

	s.Enqueue(kimitest.Response{Content: "Sunny."})
	MustAnswer(t, c, toolTurn(model, conversation.Message{
		Role: conversation.RoleAssistant, ToolCalls: first.final.ToolCalls,
		Reasoning: first.final.Reasoning, ReasoningDetails: first.final.ReasoningDetails,
	}))
	sent := s.ChatRequests()[1].Messages[2]
	MustJSONEqual(t, sent.ReasoningDetails, string(first.final.ReasoningDetails))
	if sent.Reasoning == nil || *sent.Reasoning != first.final.Reasoning {
		t.Errorf("reasoning sent back = %v", sent.Reasoning)
	}
}

func TestMidStreamError(t *testing.T) {
	tests := []struct {
		name   string
		flavor kimitest.Flavor
		model  string
		err    *kimitest.APIError
		kind   ErrorKind
	}{
		{"OpenRouter", kimitest.OpenRouter, "moonshotai/kimi-k2",
			kimitest.ORError(502, "provider_unavailable", "Provider disconnected"), ProviderDown},
		{"OpenRouterStringCode", kimitest.OpenRouter, "moonshotai/kimi-k2",
			&kimitest.APIError{Code: "server_error", Message: "Internal error"}, ProviderDown},
		{"Moonshot", kimitest.Moonshot, "kimi-k2-turbo-preview", kimitest.ServerError(), ProviderDown},
		{"MoonshotOverloaded", kimitest.Moonshot, "kimi-k2-turbo-preview", kimitest.EngineOverloaded(), Overloaded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kimitest.New(t, kimitest.Options{Flavor: tt.flavor})
			c, _ := MustClient(t, s, nil)
			s.Enqueue(kimitest.Response{Content: "Hello world, this answer breaks off.", ChunkSize: 6,
				MidStreamError: tt.err, MidStreamAfter: 2, CommentsBetween: 2})
			st, err := c.Stream(context.Background(), chat(tt.model, "hi"))
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			a, err := collect(t, st)
			if a.content != "Hello world," {
				t.Errorf("content before the error = %q", a.content)
			}
			ke := MustKind(t, err, tt.kind)
			if !strings.Contains(ke.Message, tt.err.Message) {
				t.Errorf("message = %q, want the provider's %q", ke.Message, tt.err.Message)
			}
			if _, again := st.Recv(); again != err {
				t.Errorf("second Recv = %v, want the same error", again)
			}
		})
	}
}

func TestStreamTruncated(t *testing.T) {
	for _, abort := range []bool{false, true} {
		s := kimitest.New(t, kimitest.Options{})
		c, _ := MustClient(t, s, nil)
		s.Enqueue(kimitest.Response{Content: "This answer is cut short.", ChunkSize: 5, CutAfter: 3, Abort: abort})
		st, err := c.Stream(context.Background(), chat("kimi-k2-turbo-preview", "hi"))
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		a, err := collect(t, st)
		MustKind(t, err, Truncated)
		if a.content != "This answe" { // the role chunk and two pieces of five runes
			t.Errorf("abort=%v: content = %q", abort, a.content)
		}
	}
}

func TestStreamTimeouts(t *testing.T) {
	tests := []struct {
		name            string
		firstByte, idle time.Duration
		resp            kimitest.Response
	}{
		{"FirstByte", 100 * time.Millisecond, time.Minute,
			kimitest.Response{Content: "late", FirstDelay: time.Minute}},
		{"Idle", time.Minute, 100 * time.Millisecond,
			kimitest.Response{Content: "slow", Delay: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kimitest.New(t, kimitest.Options{})
			c, _ := MustClient(t, s, func(cfg *Config) {
				cfg.FirstByteTimeout, cfg.IdleTimeout = tt.firstByte, tt.idle
			})
			s.Enqueue(tt.resp)
			_, err := c.Stream(context.Background(), chat("kimi-k2-turbo-preview", "hi"))
			MustKind(t, err, Timeout)
			if n := len(s.ChatRequests()); n != 1 {
				t.Errorf("requests = %d, want 1 (timeouts are not retried)", n)
			}
		})
	}
}

// A steady stream outlives the first-byte timeout: each event restarts the
// clock with the idle timeout.
func TestStreamSlowButSteady(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, func(cfg *Config) {
		cfg.FirstByteTimeout, cfg.IdleTimeout = 600*time.Millisecond, time.Minute
	})
	s.Enqueue(kimitest.Response{Content: "one two three four five six", ChunkSize: 8, Delay: 200 * time.Millisecond})
	if a := MustAnswer(t, c, chat("kimi-k2-turbo-preview", "hi")); a.content != "one two three four five six" {
		t.Fatalf("content = %q", a.content)
	}
}

func TestStreamIdleAfterContent(t *testing.T) {
	url := serveSSE(t,
		`{"model":"kimi-k2.6","choices":[{"index":0,"delta":{"content":"Hello"}}]}`,
		"<hang>")
	c := MustRawClient(t, Config{BaseURL: url, IdleTimeout: 100 * time.Millisecond})
	st, err := c.Stream(context.Background(), chat("kimi-k2.6", "hi"))
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	a, err := collect(t, st)
	MustKind(t, err, Timeout)
	if a.content != "Hello" {
		t.Errorf("content = %q", a.content)
	}
}

func TestStreamCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := serveSSE(t, `{"choices":[{"index":0,"delta":{"content":"one"}}]}`, "<hang>")
	c := MustRawClient(t, Config{BaseURL: url})
	st, err := c.Stream(ctx, chat("kimi-k2.6", "hi"))
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if ch, err := st.Recv(); err != nil || ch.Content != "one" {
		t.Fatalf("first chunk = %+v, %v", ch, err)
	}
	cancel()
	_, err = st.Recv()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestStreamFinishReasonsPassThrough(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, nil)
	for _, reason := range []string{"length", "content_filter"} {
		s.Enqueue(kimitest.Response{Content: "Part of an answer", FinishReason: reason})
		a := MustAnswer(t, c, chat("kimi-k2-turbo-preview", "hi"))
		if string(a.final.FinishReason) != reason || a.final.Content != "Part of an answer" {
			t.Errorf("final = %+v, want finish %q", a.final, reason)
		}
	}
}

func TestStreamConnectionRefusedRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := MustRawClient(t, Config{BaseURL: url, MaxRetries: 2})
	var waits int
	c.wait = func(context.Context, time.Duration) error { waits++; return nil }
	_, err := c.Stream(context.Background(), chat("kimi-k2.6", "hi"))
	MustKind(t, err, ProviderDown)
	if waits != 2 {
		t.Errorf("retries = %d, want 2", waits)
	}
}
