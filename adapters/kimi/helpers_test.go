package kimi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/conversation"
)

// MustClient returns a client for the fake with tiny backoff; retry waits
// are recorded in *waits instead of slept.
func MustClient(tb testing.TB, s *kimitest.Server, mod func(*Config)) (c *Client, waits *[]time.Duration) {
	tb.Helper()
	cfg := Config{
		Provider:  Moonshot,
		APIKey:    s.APIKey(),
		BaseURL:   s.BaseURL(),
		RetryBase: time.Millisecond,
		RetryMax:  4 * time.Millisecond,
		Logger:    slog.New(slog.DiscardHandler),
	}
	if s.Flavor() == kimitest.OpenRouter {
		cfg.Provider = OpenRouter
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("new client: %v", err)
	}
	waits = new([]time.Duration)
	c.wait = func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}
	return c, waits
}

// MustRawClient returns a client for a plain test server.
func MustRawClient(tb testing.TB, cfg Config) *Client {
	tb.Helper()
	cfg.APIKey = "test-key"
	cfg.Logger = slog.New(slog.DiscardHandler)
	c, err := New(cfg)
	if err != nil {
		tb.Fatalf("new client: %v", err)
	}
	return c
}

// answer is everything a stream delivered.
type answer struct {
	content, reasoning string
	pieces             int // content chunks
	tools              []string
	final              *bot.Completion
}

// collect reads st to the end. It checks the chunk contract: exactly one
// Final, last, then io.EOF.
func collect(tb testing.TB, st bot.ChatStream) (answer, error) {
	tb.Helper()
	defer st.Close()
	var a answer
	for {
		ch, err := st.Recv()
		if errors.Is(err, io.EOF) {
			if a.final == nil {
				tb.Fatalf("io.EOF without a final chunk")
			}
			return a, nil
		}
		if err != nil {
			return a, err
		}
		if a.final != nil {
			tb.Fatalf("chunk %+v after the final chunk", ch)
		}
		if ch.Content != "" {
			a.pieces++
		}
		a.content += ch.Content
		a.reasoning += ch.Reasoning
		if ch.ToolName != "" {
			a.tools = append(a.tools, ch.ToolName)
		}
		a.final = ch.Final
	}
}

// MustAnswer streams req and reads the whole answer.
func MustAnswer(tb testing.TB, c *Client, req bot.ChatRequest) answer {
	tb.Helper()
	st, err := c.Stream(context.Background(), req)
	if err != nil {
		tb.Fatalf("stream: %v", err)
	}
	a, err := collect(tb, st)
	if err != nil {
		tb.Fatalf("read stream: %v", err)
	}
	return a
}

// MustKind fails unless err is an *Error of the kind.
func MustKind(tb testing.TB, err error, kind ErrorKind) *Error {
	tb.Helper()
	var ke *Error
	if !errors.As(err, &ke) {
		tb.Fatalf("err = %v (%T), want *Error of kind %s", err, err, kind)
	}
	if ke.Kind != kind {
		tb.Fatalf("err kind = %s (%v), want %s", ke.Kind, ke, kind)
	}
	if ke.UserMessage() == "" || strings.Contains(ke.UserMessage(), "%") {
		tb.Fatalf("bad user message %q", ke.UserMessage())
	}
	return ke
}

// chat builds a request with a system prompt and one user message.
func chat(model, text string) bot.ChatRequest {
	return bot.ChatRequest{Model: model, Messages: []conversation.Message{
		{Role: conversation.RoleSystem, Text: "You are kimibot."},
		{Role: conversation.RoleUser, Text: text},
	}}
}
