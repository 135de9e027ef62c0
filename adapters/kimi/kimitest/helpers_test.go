package kimitest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// MustServer starts a fake of the given flavour with default options.
func MustServer(tb testing.TB, f Flavor) *Server {
	tb.Helper()
	return New(tb, Options{Flavor: f})
}

// user, assistant and tool build request messages.
func user(text string) map[string]any { return map[string]any{"role": "user", "content": text} }

func toolResult(id, name, content string) map[string]any {
	return map[string]any{"role": "tool", "tool_call_id": id, "name": name, "content": content}
}

// assistantCall is an assistant message with one tool call; reasoning nil
// leaves reasoning_content out.
func assistantCall(id, name, args string, reasoning *string) map[string]any {
	m := map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{
		"id": id, "type": "function", "function": map[string]any{"name": name, "arguments": args},
	}}}
	if reasoning != nil {
		m["reasoning_content"] = *reasoning
	}
	return m
}

// body builds a chat request body: model, messages, then extra fields.
func body(model string, extra map[string]any, msgs ...map[string]any) map[string]any {
	b := map[string]any{"model": model, "messages": msgs}
	for k, v := range extra {
		b[k] = v
	}
	return b
}

// result is a finished HTTP exchange.
type result struct {
	Status int
	Header http.Header
	Body   []byte
}

// MustDo sends a request with the server's key and reads the whole answer.
func MustDo(tb testing.TB, s *Server, method, path string, payload any) result {
	tb.Helper()
	return MustDoAuth(tb, s, method, path, payload, "Bearer "+s.APIKey())
}

// MustDoAuth is MustDo with an explicit Authorization header ("" for none).
func MustDoAuth(tb testing.TB, s *Server, method, path string, payload any, auth string) result {
	tb.Helper()
	var rd io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			tb.Fatalf("encode request: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		tb.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read %s %s: %v", method, path, err)
	}
	return result{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// MustChat posts a chat request to the flavour's chat route.
func MustChat(tb testing.TB, s *Server, payload map[string]any) result {
	tb.Helper()
	return MustDo(tb, s, http.MethodPost, s.prefix()+"/chat/completions", payload)
}

// MustJSON decodes a JSON body into v.
func MustJSON(tb testing.TB, b []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("decode %q: %v", b, err)
	}
}

// sse is a parsed event stream.
type sse struct {
	Status   int
	Header   http.Header
	Raw      string
	Data     []string // data payloads, in order, [DONE] included
	Comments int
	ReadErr  error
	// Close reports that the server closes the connection after the body.
	Close bool
}

// framing matches a body made only of `data: …` and comment lines, each
// followed by a blank line.
var framing = regexp.MustCompile(`^(?:(?:: OPENROUTER PROCESSING|data: [^\n]+)\n\n)*$`)

// MustStream posts a streaming chat request and reads the SSE body with a
// line reader. A read error is kept in ReadErr rather than failing.
func MustStream(tb testing.TB, s *Server, payload map[string]any) sse {
	tb.Helper()
	payload["stream"] = true
	resp, err := postChatRaw(s, payload)
	if err != nil {
		tb.Fatalf("post stream: %v", err)
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(resp.Body)
	out := sse{Status: resp.StatusCode, Header: resp.Header, Raw: string(raw), ReadErr: readErr, Close: resp.Close}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "data: "):
			out.Data = append(out.Data, strings.TrimPrefix(line, "data: "))
		case strings.HasPrefix(line, ":"):
			out.Comments++
		}
	}
	return out
}

// postChatRaw posts a chat request with the server's key; it is safe in
// any goroutine. The caller closes the body.
func postChatRaw(s *Server, payload map[string]any) (*http.Response, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, s.BaseURL()+"/chat/completions", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	return http.DefaultClient.Do(req)
}

// chunks decodes every data payload except [DONE].
func (s sse) chunks(tb testing.TB) []testChunk {
	tb.Helper()
	var out []testChunk
	for _, d := range s.Data {
		if d == "[DONE]" {
			continue
		}
		var c testChunk
		MustJSON(tb, []byte(d), &c)
		MustJSON(tb, []byte(d), &c.Raw)
		out = append(out, c)
	}
	return out
}

func (s sse) done() bool { return len(s.Data) > 0 && s.Data[len(s.Data)-1] == "[DONE]" }

type testUsage struct {
	PromptTokens        int  `json:"prompt_tokens"`
	CompletionTokens    int  `json:"completion_tokens"`
	TotalTokens         int  `json:"total_tokens"`
	CachedTokens        *int `json:"cached_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	Cost   *float64 `json:"cost"`
	IsBYOK *bool    `json:"is_byok"`
}

type testToolCall struct {
	Index    *int    `json:"index"`
	ID       *string `json:"id"`
	Type     *string `json:"type"`
	Function struct {
		Name      *string `json:"name"`
		Arguments *string `json:"arguments"`
	} `json:"function"`
}

type testDetail struct {
	Type, Text, Format string
	Index              int
}

type testChunk struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Model    string `json:"model"`
	Provider string `json:"provider"`
	Error    *struct {
		Code     any            `json:"code"`
		Message  string         `json:"message"`
		Type     string         `json:"type"`
		Metadata map[string]any `json:"metadata"`
	} `json:"error"`
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Role             *string        `json:"role"`
			Content          *string        `json:"content"`
			ReasoningContent *string        `json:"reasoning_content"`
			Reasoning        *string        `json:"reasoning"`
			ReasoningDetails []testDetail   `json:"reasoning_details"`
			ToolCalls        []testToolCall `json:"tool_calls"`
		} `json:"delta"`
		FinishReason       *string    `json:"finish_reason"`
		NativeFinishReason *string    `json:"native_finish_reason"`
		Usage              *testUsage `json:"usage"`
	} `json:"choices"`
	Usage *testUsage                 `json:"usage"`
	Raw   map[string]json.RawMessage `json:"-"`
}

// errorBody is either flavour's error body.
type errorBody struct {
	Error struct {
		Message  string         `json:"message"`
		Type     string         `json:"type"`
		Code     any            `json:"code"`
		Metadata map[string]any `json:"metadata"`
	} `json:"error"`
}

// MustError decodes an error answer and checks its status.
func MustError(tb testing.TB, r result, status int) errorBody {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status = %d, want %d; body %s", r.Status, status, r.Body)
	}
	var e errorBody
	MustJSON(tb, r.Body, &e)
	return e
}

func ptr[T any](v T) *T { return &v }
