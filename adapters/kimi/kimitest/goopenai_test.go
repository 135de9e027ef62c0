package kimitest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

// These tests point the real go-openai client at the fake: the library the
// Kimi client builds on must parse what the fake sends, and must meet the
// same pitfalls it meets against the real services.

func newOpenAIClient(s *Server) *openai.Client {
	cfg := openai.DefaultConfig(s.APIKey())
	cfg.BaseURL = s.BaseURL()
	return openai.NewClientWithConfig(cfg)
}

func TestGoOpenAIReadsMoonshotStream(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(scripted)
	stream, err := newOpenAIClient(s).CreateChatCompletionStream(context.Background(), openai.ChatCompletionRequest{
		Model:         "kimi-k2.6",
		Messages:      []openai.ChatCompletionMessage{{Role: "user", Content: "weather?"}},
		StreamOptions: &openai.StreamOptions{IncludeUsage: true},
	})
	if err != nil {
		t.Fatalf("open stream: %v", err)
	}
	defer stream.Close()
	var reasoning, content, finish string
	args := map[int]string{}
	var usage *openai.Usage
	for {
		r, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("recv: %v", err)
		}
		if r.Usage != nil {
			usage = r.Usage
		}
		for _, c := range r.Choices {
			reasoning += c.Delta.ReasoningContent
			content += c.Delta.Content
			for _, tc := range c.Delta.ToolCalls {
				args[*tc.Index] += tc.Function.Arguments
			}
			if c.FinishReason != "" {
				finish = string(c.FinishReason)
			}
		}
	}
	if reasoning != scripted.Reasoning || content != scripted.Content || finish != "tool_calls" ||
		args[0] != scripted.ToolCalls[0].Arguments || args[1] != scripted.ToolCalls[1].Arguments {
		t.Errorf("reasoning %q content %q finish %q args %v", reasoning, content, finish, args)
	}
	if usage == nil || usage.TotalTokens != 312 {
		t.Errorf("include_usage chunk = %+v", usage)
	}
}

func TestGoOpenAIMeetsPitfalls(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flavor Flavor
		model  string
		resp   Response
		check  func(err error) bool
	}{
		{"TooManyComments", OpenRouter, "moonshotai/kimi-k2", Response{Content: "hi", Comments: 301},
			func(err error) bool { return errors.Is(err, openai.ErrTooManyEmptyStreamMessages) }},
		{"MoonshotMidStreamError", Moonshot, "kimi-k2-turbo-preview",
			Response{Content: "abcdefgh", MidStreamError: EngineOverloaded(), MidStreamAfter: 1},
			func(err error) bool {
				var apiErr *openai.APIError
				return errors.As(err, &apiErr) && strings.Contains(apiErr.Message, "overloaded")
			}},
		{"PreStreamError", Moonshot, "kimi-k2-turbo-preview", Response{Error: QuotaExceeded()},
			func(err error) bool {
				var apiErr *openai.APIError
				return errors.As(err, &apiErr) && apiErr.HTTPStatusCode == 429 && apiErr.Type == "exceeded_current_quota_error"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustServer(t, tc.flavor)
			s.Enqueue(tc.resp)
			err := drain(newOpenAIClient(s), tc.model)
			if !tc.check(err) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// drain opens a stream and reads it to the end, returning the first error
// other than io.EOF.
func drain(c *openai.Client, model string) error {
	stream, err := c.CreateChatCompletionStream(context.Background(), openai.ChatCompletionRequest{
		Model:    model,
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "x"}},
	})
	if err != nil {
		return err
	}
	defer stream.Close()
	for {
		if _, err := stream.Recv(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// ExampleNewServer points go-openai at a Moonshot fake and streams a
// scripted answer.
func ExampleNewServer() {
	s := NewServer(Options{Flavor: Moonshot})
	defer s.Close()
	s.Enqueue(Response{Content: "Hello from the fake."})

	cfg := openai.DefaultConfig(s.APIKey())
	cfg.BaseURL = s.BaseURL()
	stream, err := openai.NewClientWithConfig(cfg).CreateChatCompletionStream(context.Background(),
		openai.ChatCompletionRequest{
			Model:    "kimi-k2-turbo-preview",
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}},
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer stream.Close()
	var text strings.Builder
	for {
		r, err := stream.Recv()
		if err != nil {
			break
		}
		for _, c := range r.Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	fmt.Println(text.String())
	fmt.Println(len(s.ChatRequests()), s.ChatRequests()[0].Model)
	// Output:
	// Hello from the fake.
	// 1 kimi-k2-turbo-preview
}
