package kimi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"kimibot/bot"
	"kimibot/conversation"
)

// Chunks as Moonshot (A4) and OpenRouter (B4) stream them.
var (
	moonshotToolStream = []string{
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"reasoning_content":"Need weather."},"finish_reason":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"get_weather:0","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Paris\"}"}}]},"finish_reason":null}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls","usage":{"prompt_tokens":213,"completion_tokens":99,"total_tokens":312,"cached_tokens":200,"prompt_tokens_details":{"cached_tokens":200},"completion_tokens_details":{"reasoning_tokens":40}}}]}`,
		`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[],"usage":{"prompt_tokens":213,"completion_tokens":99,"total_tokens":312,"cached_tokens":200,"prompt_tokens_details":{"cached_tokens":200},"completion_tokens_details":{"reasoning_tokens":40}}}`,
	}
	openRouterStream = []string{
		`{"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"moonshotai/kimi-k2.5-0127","provider":"Moonshot AI","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Think","reasoning_details":[{"type":"reasoning.text","text":"Think","format":"unknown","index":0}]},"finish_reason":null,"native_finish_reason":null}]}`,
		`{"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"moonshotai/kimi-k2.5-0127","provider":"Moonshot AI","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null,"native_finish_reason":null}]}`,
		`{"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"moonshotai/kimi-k2.5-0127","provider":"Moonshot AI","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop","native_finish_reason":"stop"}]}`,
		`{"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"moonshotai/kimi-k2.5-0127","provider":"Moonshot AI","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":4,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":3},"completion_tokens_details":{"reasoning_tokens":1},"cost":0.00014,"is_byok":false}}`,
	}
	openRouterMidError    = `{"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"moonshotai/kimi-k2-0905","provider":"Moonshot AI","error":{"code":502,"message":"Provider disconnected","metadata":{"error_type":"provider_unavailable"}},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`
	openRouterStringError = `{"id":"gen-1","error":{"code":"server_error","message":"Internal error"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`
)

// MustDecode feeds payloads to one accumulator and returns the chunks.
func MustDecode(tb testing.TB, acc *accumulator, payloads ...string) []bot.Chunk {
	tb.Helper()
	var out []bot.Chunk
	for _, p := range payloads {
		var err error
		if out, err = decodeChunk([]byte(p), acc, out); err != nil {
			tb.Fatalf("decode %s: %v", p, err)
		}
	}
	return out
}

func TestDecodeChunkMoonshotToolCall(t *testing.T) {
	var acc accumulator
	// Without the trailing choices:[] chunk: usage comes from choices[0].usage.
	got := MustDecode(t, &acc, moonshotToolStream[:5]...)
	want := []bot.Chunk{{Reasoning: "Need weather."}, {ToolName: "get_weather"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chunks = %+v, want %+v", got, want)
	}
	c := acc.completion()
	wantC := &bot.Completion{
		Model: "kimi-k2.6", FinishReason: "tool_calls", Reasoning: "Need weather.",
		ToolCalls: []conversation.ToolCall{{ID: "get_weather:0", Name: "get_weather", Arguments: `{"city": "Paris"}`}},
		Usage:     conversation.Usage{PromptTokens: 213, CachedTokens: 200, CompletionTokens: 99, ReasoningTokens: 40, TotalTokens: 312},
	}
	if !reflect.DeepEqual(c, wantC) {
		t.Fatalf("completion = %+v, want %+v", c, wantC)
	}
}

func TestDecodeChunkOpenRouter(t *testing.T) {
	var acc accumulator
	got := MustDecode(t, &acc, openRouterStream...)
	want := []bot.Chunk{{Reasoning: "Think"}, {Content: "Hel"}, {Content: "lo"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("chunks = %+v, want %+v", got, want)
	}
	c := acc.completion()
	if c.Model != "moonshotai/kimi-k2.5-0127" || c.Content != "Hello" || c.FinishReason != "stop" {
		t.Fatalf("completion = %+v", c)
	}
	wantUsage := conversation.Usage{PromptTokens: 10, CachedTokens: 3, CompletionTokens: 4, ReasoningTokens: 1, TotalTokens: 14, Cost: 0.00014}
	if c.Usage != wantUsage {
		t.Fatalf("usage = %+v, want %+v", c.Usage, wantUsage)
	}
	MustJSONEqual(t, c.ReasoningDetails, `[{"type":"reasoning.text","text":"Think","format":"unknown","index":0}]`)
}

// MustJSONEqual fails unless got and want hold the same JSON value.
func MustJSONEqual(tb testing.TB, got json.RawMessage, want string) {
	tb.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		tb.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		tb.Fatalf("want invalid JSON %s: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		tb.Fatalf("JSON = %s, want %s", got, want)
	}
}

func TestDecodeChunkReasoningDetailsMerged(t *testing.T) {
	piece := func(details string) string {
		return `{"choices":[{"index":0,"delta":{"reasoning_details":` + details + `}}]}`
	}
	var acc accumulator
	MustDecode(t, &acc,
		piece(`[{"type":"reasoning.text","text":"Need ","format":"unknown","index":0}]`),
		piece(`[{"type":"reasoning.text","text":"weather.","format":"unknown","index":0,"signature":"sig"}]`),
		piece(`[{"type":"reasoning.encrypted","data":"QUJD","format":"unknown","index":0}]`),
		piece(`[{"type":"reasoning.summary","summary":"Sum","format":"unknown","index":0}]`),
		piece(`[{"type":"reasoning.summary","summary":"med up.","format":"unknown","index":0}]`),
	)
	MustJSONEqual(t, acc.completion().ReasoningDetails, `[
		{"type":"reasoning.text","text":"Need weather.","format":"unknown","index":0,"signature":"sig"},
		{"type":"reasoning.encrypted","data":"QUJD","format":"unknown","index":0},
		{"type":"reasoning.summary","summary":"Summed up.","format":"unknown","index":0}]`)
}

func TestDecodeChunkToolCallsByIndex(t *testing.T) {
	tests := []struct {
		name     string
		payloads []string
		names    []string
		want     []conversation.ToolCall
	}{{
		name: "Interleaved",
		payloads: []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"b:1","type":"function","function":{"name":"beta","arguments":""}},{"index":0,"id":"a:0","type":"function","function":{"name":"alpha","arguments":""}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"x\":"}},{"index":1,"function":{"arguments":"{\"y\":2}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]},"finish_reason":"tool_calls"}]}`,
		},
		names: []string{"beta", "alpha"},
		want:  []conversation.ToolCall{{ID: "a:0", Name: "alpha", Arguments: `{"x":1}`}, {ID: "b:1", Name: "beta", Arguments: `{"y":2}`}},
	}, {
		name: "EmptyArguments",
		payloads: []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"now:0","type":"function","function":{"name":"now","arguments":""}}]}}]}`,
			`{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`,
		},
		names: []string{"now"},
		want:  []conversation.ToolCall{{ID: "now:0", Name: "now", Arguments: "{}"}},
	}, {
		name: "NoIndex",
		payloads: []string{
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"alpha","arguments":"{"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}`,
			`{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","function":{"name":"beta","arguments":""}}]},"finish_reason":"tool_calls"}]}`,
		},
		names: []string{"alpha", "beta"},
		want:  []conversation.ToolCall{{ID: "a", Name: "alpha", Arguments: "{}"}, {ID: "b", Name: "beta", Arguments: "{}"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var acc accumulator
			var names []string
			for _, ch := range MustDecode(t, &acc, tt.payloads...) {
				names = append(names, ch.ToolName)
			}
			if !reflect.DeepEqual(names, tt.names) {
				t.Errorf("tool names = %q, want %q", names, tt.names)
			}
			if got := acc.completion().ToolCalls; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tool calls = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeChunkErrors(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		kind    ErrorKind
		code    string
	}{
		{"OpenRouterNumericCode", openRouterMidError, ProviderDown, "502"},
		{"OpenRouterStringCode", openRouterStringError, ProviderDown, "server_error"},
		{"MoonshotErrorObject", `{"error":{"message":"The engine is currently overloaded, please try again later","type":"engine_overloaded_error"}}`, Overloaded, ""},
		{"FinishReasonError", `{"choices":[{"index":0,"delta":{},"finish_reason":"error","native_finish_reason":"upstream_error"}]}`, ProviderDown, "upstream_error"},
		{"ContextInStream", `{"error":{"code":400,"message":"too long","metadata":{"error_type":"context_length_exceeded"}}}`, ContextTooLong, "400"},
		{"NotJSON", `: OPENROUTER PROCESSING`, Stream, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var acc accumulator
			_, err := decodeChunk([]byte(tt.payload), &acc, nil)
			var ke *Error
			if !errors.As(err, &ke) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if ke.Kind != tt.kind || ke.Code != tt.code {
				t.Fatalf("err = %+v, want kind %s code %q", ke, tt.kind, tt.code)
			}
		})
	}
}

func FuzzDecodeChunk(f *testing.F) {
	seeds := append(append([]string{}, moonshotToolStream...), openRouterStream...)
	seeds = append(seeds, openRouterMidError, openRouterStringError,
		`{"error":{"message":"x","type":"rate_limit_reached_error"}}`,
		`: OPENROUTER PROCESSING`, `[DONE]`, `{}`, `null`, `{"choices":null}`,
		`{"choices":[{"index":0,"delta":{"tool_calls":[{"index":-9223372036854775808},{"index":9223372036854775807,"id":"x"}]}}]}`,
		`{"choices":[{"index":0,"delta":{"reasoning_details":[null,1,"s"]}}]}`)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var acc accumulator
		out, err := decodeChunk(data, &acc, nil)
		if err != nil {
			var ke *Error
			if !errors.As(err, &ke) {
				t.Fatalf("error %v is not *Error", err)
			}
		}
		// Feed it twice: accumulated state must stay consistent.
		out, _ = decodeChunk(data, &acc, out)
		c := acc.completion()
		for _, tc := range c.ToolCalls {
			if tc.Arguments == "" {
				t.Fatalf("empty arguments in %+v", tc)
			}
		}
		if c.ReasoningDetails != nil && !json.Valid(c.ReasoningDetails) {
			t.Fatalf("invalid reasoning details %s", c.ReasoningDetails)
		}
		var text strings.Builder
		for _, ch := range out {
			text.WriteString(ch.Content)
		}
		if text.String() != c.Content {
			t.Fatalf("chunks say %q, completion says %q", text.String(), c.Content)
		}
	})
}
