package kimitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// maxBody caps a request body: Moonshot accepts files up to 100 MB.
const maxBody = 101 << 20

// Request is one recorded HTTP request, to any route.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	Time         time.Time
	// Chat is the decoded chat-completions body; nil for other routes and
	// for bodies that are not a JSON object.
	Chat *ChatRequest
}

// ChatRequest is a decoded chat-completions body. Decoding is permissive;
// Raw keeps every top-level field for assertions on fields not listed here.
type ChatRequest struct {
	Model         string            `json:"model"`
	Messages      []ChatMessage     `json:"messages"`
	Stream        bool              `json:"stream"`
	Tools         []json.RawMessage `json:"tools"`
	ToolChoice    json.RawMessage   `json:"tool_choice"`
	Temperature   *float64          `json:"temperature"`
	TopP          *float64          `json:"top_p"`
	N             *int              `json:"n"`
	Thinking      json.RawMessage   `json:"thinking"`
	Reasoning     json.RawMessage   `json:"reasoning"`
	Provider      json.RawMessage   `json:"provider"`
	Models        []string          `json:"models"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int                        `json:"max_tokens"`
	MaxCompletionTokens int                        `json:"max_completion_tokens"`
	Raw                 map[string]json.RawMessage `json:"-"`
}

// ChatMessage is one message of a chat request. Raw keeps every field.
type ChatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCallID string          `json:"tool_call_id"`
	ToolCalls  []struct {
		ID, Type string
		Function struct{ Name, Arguments string }
	} `json:"tool_calls"`
	ReasoningContent *string                    `json:"reasoning_content"`
	Reasoning        *string                    `json:"reasoning"`
	ReasoningDetails json.RawMessage            `json:"reasoning_details"`
	Partial          bool                       `json:"partial"`
	Raw              map[string]json.RawMessage `json:"-"`
}

// Text returns the message content as text, whether it was sent as a
// string or as a list of parts (text parts joined by newlines).
func (m ChatMessage) Text() string {
	if s, ok := plainString(m.Content); ok {
		return s
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct{ Type, Text string }
	if json.Unmarshal(m.Content, &parts) != nil {
		return ""
	}
	texts := make([]string, 0, len(parts))
	for _, p := range parts {
		if p.Type == "text" {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// plainString returns the text of a JSON string without escapes or
// control characters, which is its bytes between the quotes.
func plainString(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

// decodeChat decodes a chat-completions body. A body that is not a JSON
// object gives a nil request; a field of the wrong type gives the request
// decoded as far as possible together with the error.
func decodeChat(body []byte) (*ChatRequest, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("body is not a JSON object")
	}
	req := &ChatRequest{}
	err := json.Unmarshal(body, req)
	req.Raw = raw
	var msgs []map[string]json.RawMessage
	if json.Unmarshal(raw["messages"], &msgs) == nil && len(msgs) == len(req.Messages) {
		for i := range req.Messages {
			req.Messages[i].Raw = msgs[i]
		}
	}
	return req, err
}

// orProvider is OpenRouter's `provider` routing object, as far as the fake reads it.
type orProvider struct {
	Order          []string `json:"order"`
	Only           []string `json:"only"`
	AllowFallbacks *bool    `json:"allow_fallbacks"`
}

func (r *ChatRequest) providerPrefs() orProvider {
	var p orProvider
	_ = json.Unmarshal(r.Provider, &p)
	return p
}

// orReasoning is OpenRouter's `reasoning` object.
type orReasoning struct {
	Effort  string `json:"effort"`
	Exclude bool   `json:"exclude"`
	Enabled *bool  `json:"enabled"`
}

func (r *ChatRequest) reasoningPrefs() orReasoning {
	var p orReasoning
	_ = json.Unmarshal(r.Reasoning, &p)
	var include *bool
	if json.Unmarshal(r.Raw["include_reasoning"], &include) == nil && include != nil && !*include {
		p.Exclude = true
	}
	return p
}

// lastUserText returns the text of the last user message.
func (r *ChatRequest) lastUserText() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Text()
		}
	}
	return ""
}

// partialPrefix returns the prefix of a partial-mode request: the content
// of a last assistant message marked partial.
func (r *ChatRequest) partialPrefix() (string, bool) {
	if len(r.Messages) == 0 {
		return "", false
	}
	last := r.Messages[len(r.Messages)-1]
	if last.Role != "assistant" || !last.Partial {
		return "", false
	}
	return last.Text(), true
}

// recorded carries a request's record and decode error to the handlers.
type recorded struct {
	req       *Request
	decodeErr error
}

type recordedKey struct{}

func recordOf(ctx context.Context) recorded {
	rec, _ := ctx.Value(recordedKey{}).(recorded)
	return rec
}

// record stores every request before it is handled.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			s.writeError(w, invalidRequest("Invalid request: read body: "+err.Error()))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Time: time.Now()}
		rec := recorded{req: &req}
		if r.Method == http.MethodPost && r.URL.Path == s.prefix()+"/chat/completions" {
			req.Chat, rec.decodeErr = decodeChat(body)
		}
		s.addRequest(req)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), recordedKey{}, rec)))
	})
}

func (s *Server) addRequest(req Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opts.NoRecording {
		s.requests = append(s.requests, req)
	}
	if req.Chat != nil {
		s.chats++
		close(s.arrived)
		s.arrived = make(chan struct{})
	}
}

// Requests returns every recorded request, in arrival order. The slice is a
// copy; the decoded bodies are shared and must not be modified.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ChatRequests returns the decoded chat-completions requests, in arrival
// order, whatever their outcome.
func (s *Server) ChatRequests() []*ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*ChatRequest
	for _, r := range s.requests {
		if r.Chat != nil {
			out = append(out, r.Chat)
		}
	}
	return out
}

// WaitRequests blocks until at least n chat-completions requests have
// arrived or ctx ends.
func (s *Server) WaitRequests(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		got, arrived := s.chats, s.arrived
		s.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d chat requests, have %d: %w", n, got, ctx.Err())
		case <-arrived:
		}
	}
}
