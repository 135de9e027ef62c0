package bot

import (
	"context"
	"encoding/json"

	"kimibot/conversation"
	"kimibot/tools"
)

// Model streams chat completions.
type Model interface {
	Stream(ctx context.Context, req ChatRequest) (ChatStream, error)
}

// Catalog lists the provider's models with their capabilities.
type Catalog interface {
	Models(ctx context.Context) ([]ModelInfo, error)
}

// ModelInfo is one model of the provider's live list.
type ModelInfo struct {
	ID            string
	ContextLength int
	// Vision is true when the model accepts image input.
	Vision bool
	// Reasoning is true when the model thinks (streams reasoning).
	Reasoning bool
	// PromptPrice and CompletionPrice are USD per token, when known.
	PromptPrice, CompletionPrice float64
}

// Thinking selects a thinking mode for models that can toggle it.
type Thinking string

// The thinking modes; ThinkingDefault sends nothing.
const (
	ThinkingDefault  Thinking = ""
	ThinkingEnabled  Thinking = "enabled"
	ThinkingDisabled Thinking = "disabled"
)

// ChatRequest is one call to the model.
type ChatRequest struct {
	Model string
	// Messages starts with the system prompt.
	Messages []conversation.Message
	Tools    []tools.Spec
	// MaxTokens caps the output; 0 leaves it to the provider.
	MaxTokens int
	// Temperature is dropped for models whose sampling is fixed.
	Temperature *float64
	Thinking    Thinking
	// Partial continues the last message, an assistant prefix, without repeating it.
	Partial bool
	// OnQueued, when set, is called while the request waits for admission
	// to the provider, with the number of requests ahead of it: first when
	// it has to wait, then each time that number changes. It runs on the
	// goroutine that called Stream.
	OnQueued func(ahead int)
	// WebSearch offers Moonshot's built-in $web_search function; the
	// provider runs the search when the model's call is echoed back.
	WebSearch bool
}

// ChatStream yields a streamed answer. Recv returns chunks in order, then
// a chunk with Final set, then io.EOF. Any other error ends the stream.
type ChatStream interface {
	Recv() (Chunk, error)
	Close() error
}

// Chunk is a piece of a streamed answer.
type Chunk struct {
	// Content is answer text.
	Content string
	// Reasoning is thinking text (not shown as answer).
	Reasoning string
	// ToolName is set once when the model starts a call to that tool.
	ToolName string
	// Final is set on the last chunk.
	Final *Completion
}

// FinishReason is why the model stopped, as the provider reports it.
type FinishReason string

// The finish reasons the engine acts on; providers may report others.
const (
	FinishStop          FinishReason = "stop"
	FinishLength        FinishReason = "length"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishContentFilter FinishReason = "content_filter"
)

// Completion is the whole result of one model call.
type Completion struct {
	// Model is the model that served the call (OpenRouter may route elsewhere).
	Model        string
	FinishReason FinishReason
	Content      string
	Reasoning    string
	// ReasoningDetails is OpenRouter's reasoning_details, verbatim.
	ReasoningDetails json.RawMessage
	ToolCalls        []conversation.ToolCall
	Usage            conversation.Usage
}

// UserError is implemented by errors that carry a short message safe to show users.
type UserError interface {
	error
	UserMessage() string
}
