package kimitest

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Response scripts the answer to one chat-completions call.
type Response struct {
	// Error is returned before any stream starts, as an HTTP error.
	Error *APIError
	// Reasoning is streamed as reasoning_content (Moonshot) or as
	// reasoning plus reasoning_details (OpenRouter), before any content.
	Reasoning string
	Content   string
	ToolCalls []ToolCall
	// FinishReason defaults to "tool_calls" with tool calls, else "stop".
	FinishReason string
	// Usage defaults to estimates from the lengths of request and answer.
	Usage *Usage
	// ChunkSize is the number of runes per reasoning, content or argument
	// delta; default 8.
	ChunkSize int
	// Delay is the pause between chunks.
	Delay time.Duration
	// FirstDelay is the pause before the first chunk, after the headers.
	FirstDelay time.Duration
	// Comments is the number of ": OPENROUTER PROCESSING" lines before the
	// first chunk; CommentsBetween is the number between chunks. On a
	// non-stream OpenRouter answer, Comments is the number of leading
	// newlines (at least one).
	Comments        int
	CommentsBetween int
	// MidStreamError ends the stream after MidStreamAfter output chunks
	// (reasoning, content and tool deltas; the role chunk is not counted):
	// Moonshot sends `data: {"error":{...}}`, OpenRouter a chunk with a
	// top-level error and finish_reason "error". No [DONE] follows. A
	// non-stream request gets it as an HTTP error.
	MidStreamError *APIError
	MidStreamAfter int
	// CutAfter > 0 ends the stream after this many chunks, counting the role
	// chunk, with no finish_reason and no [DONE], and closes the connection.
	CutAfter int
	// Abort, with CutAfter, tears the connection down mid-body instead of
	// ending the body cleanly, so the client reads an unexpected EOF.
	Abort bool
	// Model is the model reported in the answer; default the model that
	// serves the request (OpenRouter may report a versioned slug).
	Model string
	// NonStream is ignored: non-stream requests always get the JSON answer.
	NonStream bool
	// OnWrite, if set, is called after each stream event is flushed, with
	// its index (0 is the role chunk) and the time; benchmarks use it to
	// time the first token.
	OnWrite func(i int, at time.Time)
	// Hold, if set, pauses a stream before its final chunk until Hold is
	// closed, so that many streams can be held open at once.
	Hold <-chan struct{}
}

// ToolCall is one function call in a scripted answer. ID defaults to
// "<name>:<n>" on Moonshot and "call_<n>" on OpenRouter, n counting the
// server's calls from 0. A call to $web_search is typed builtin_function
// and its Arguments default to a search_result object.
type ToolCall struct{ ID, Name, Arguments string }

// Usage is the token accounting reported for an answer. Cost is reported
// by OpenRouter only.
type Usage struct {
	PromptTokens, CompletionTokens, CachedTokens, ReasoningTokens int
	Cost                                                          float64
}

// webSearch is Moonshot's built-in search function.
const webSearch = "$web_search"

// defaultChunkSize is the runes per delta when Response.ChunkSize is 0.
const defaultChunkSize = 8

// Enqueue appends scripted answers; each chat-completions call that passes
// validation consumes the next one.
func (s *Server) Enqueue(rs ...Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, rs...)
}

// SetHandler sets the function that answers when the queue is empty; nil
// restores the default echo. It may be called while requests run.
func (s *Server) SetHandler(h func(r *Request) Response) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// next picks the answer to a valid chat request.
func (s *Server) next(r *Request) Response {
	s.mu.Lock()
	if len(s.queue) > 0 {
		resp := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		return resp
	}
	h := s.handler
	s.mu.Unlock()
	if h != nil {
		return h(r)
	}
	return s.Echo(r)
}

// Echo is the default answer: "You said: <last user text>", with a short
// reasoning when the model thinks for the request. A partial-mode request
// gets a continuation of its prefix, without the prefix: the rest of the
// echo when the prefix starts it, `"a":1}` when the prefix ends with "{".
func (s *Server) Echo(r *Request) Response {
	if r == nil || r.Chat == nil {
		return Response{}
	}
	text := "You said: " + r.Chat.lastUserText()
	var resp Response
	if rt, err := s.resolve(r.Chat); err == nil && s.thinking(r.Chat, rt.model) {
		resp.Reasoning = "The user wrote a message; I will repeat it."
	}
	prefix, partial := r.Chat.partialPrefix()
	switch {
	case !partial:
		resp.Content = text
	case prefix != "" && strings.HasPrefix(text, prefix):
		resp.Content = text[len(prefix):]
	case strings.HasSuffix(strings.TrimSpace(prefix), "{"):
		resp.Content = `"a":1}`
	default:
		resp.Content = " " + text
	}
	return resp
}

// estimate is the fake's token count for a text: about four runes a token.
func estimate(s string) int {
	return (utf8.RuneCountInString(s) + 3) / 4
}

// promptTokens estimates the input tokens of a chat request.
func promptTokens(req *ChatRequest) int {
	n := 0
	for _, m := range req.Messages {
		n += 4 + estimate(m.Text())
		for _, tc := range m.ToolCalls {
			n += estimate(tc.Function.Name) + estimate(tc.Function.Arguments)
		}
		if m.ReasoningContent != nil {
			n += estimate(*m.ReasoningContent)
		}
	}
	for _, t := range req.Tools {
		n += estimate(string(t))
	}
	return n
}
