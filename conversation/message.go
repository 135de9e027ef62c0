// Package conversation holds kimibot's conversation model: thread keys,
// messages, the store interfaces and the history builder that fits a thread
// into a model's context window.
package conversation

import (
	"encoding/json"
	"strings"
	"time"
)

// ThreadKey identifies one conversation. It is built by ThreadRef.Key in
// package bot as "platform/workspace/channel/thread" and is opaque elsewhere.
type ThreadKey string

// Platform returns the platform part of the key ("slack", "discord", "console").
func (k ThreadKey) Platform() string {
	p, _, _ := strings.Cut(string(k), "/")
	return p
}

// Role is the author of a message, as the chat completions API names it.
type Role string

// The roles a message can have.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// PartType tells what a content part holds.
type PartType string

// The part types kimibot sends to the model.
const (
	PartText  PartType = "text"
	PartImage PartType = "image_url"
	// PartFile is a document the user attached: its extracted text goes to
	// the model as a system message before the user's message.
	PartFile PartType = "file"
)

// Part is one element of a multi-part user message: a text or an image.
type Part struct {
	Type PartType `json:"type"`
	// Text is set for text parts.
	Text string `json:"text,omitempty"`
	// ImageURL is a data URL ("data:image/png;base64,...") for image parts.
	ImageURL string `json:"image_url,omitempty"`
	// Name is the original file name of an image or document, for notes and logs.
	Name string `json:"name,omitempty"`
	// FileID is the provider's ID of an uploaded document (Moonshot's files API).
	FileID string `json:"file_id,omitempty"`
	// Source is where the platform serves a document, so that attaching the
	// same file again in the thread reuses it.
	Source string `json:"source,omitempty"`
}

// ToolCall is one function call requested by the model.
type ToolCall struct {
	// ID is opaque: Kimi and OpenRouter use several formats.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Arguments is the JSON text of the arguments, "{}" when the model sent none.
	Arguments string `json:"arguments"`
}

// Usage is the token accounting the provider reported for one model call.
type Usage struct {
	PromptTokens     int     `json:"prompt_tokens,omitempty"`
	CachedTokens     int     `json:"cached_tokens,omitempty"`
	CompletionTokens int     `json:"completion_tokens,omitempty"`
	ReasoningTokens  int     `json:"reasoning_tokens,omitempty"`
	TotalTokens      int     `json:"total_tokens,omitempty"`
	Cost             float64 `json:"cost,omitempty"`
}

// Add returns the sum of two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{
		PromptTokens:     u.PromptTokens + o.PromptTokens,
		CachedTokens:     u.CachedTokens + o.CachedTokens,
		CompletionTokens: u.CompletionTokens + o.CompletionTokens,
		ReasoningTokens:  u.ReasoningTokens + o.ReasoningTokens,
		TotalTokens:      u.TotalTokens + o.TotalTokens,
		Cost:             u.Cost + o.Cost,
	}
}

// MsgRef points at a message on a chat platform.
type MsgRef struct {
	Platform string `json:"platform"`
	Channel  string `json:"channel"`
	ID       string `json:"id"`
}

// Message is one stored message of a conversation.
type Message struct {
	// Seq is the position in the thread, assigned by the store on append.
	Seq  uint64 `json:"seq"`
	Role Role   `json:"role"`
	// Text is the plain text content.
	Text string `json:"text,omitempty"`
	// Parts holds images (and optionally text) of a multi-part user message.
	Parts []Part `json:"parts,omitempty"`
	// ToolCalls are the calls an assistant message requested.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID and ToolName link a tool result to its call.
	ToolCallID string `json:"tool_call_id,omitempty"`
	ToolName   string `json:"tool_name,omitempty"`
	// Reasoning is Kimi's reasoning_content (or OpenRouter's reasoning) text.
	// It must be sent back on assistant tool-call messages of thinking models.
	Reasoning string `json:"reasoning,omitempty"`
	// ReasoningDetails is OpenRouter's reasoning_details array, kept verbatim.
	ReasoningDetails json.RawMessage `json:"reasoning_details,omitempty"`
	// Model is the model that wrote an assistant message.
	Model string `json:"model,omitempty"`
	// Usage is what the provider reported for the call that produced it.
	Usage *Usage `json:"usage,omitempty"`
	// UserID is the platform user who wrote a user message.
	UserID string `json:"user_id,omitempty"`
	// UserName is the display name of that user, when known.
	UserName string `json:"user_name,omitempty"`
	// Time is when the message was written.
	Time time.Time `json:"time"`
	// Refs are the platform messages that show this message.
	Refs []MsgRef `json:"refs,omitempty"`
	// IsError marks a tool result that reports a failure to the model.
	IsError bool `json:"is_error,omitempty"`
	// Covers marks a stored summary (a system message): it stands for every
	// message of the thread up to and including this sequence number.
	Covers uint64 `json:"covers,omitempty"`
}

// IsSummary reports whether m is a stored summary of older messages.
func (m Message) IsSummary() bool { return m.Role == RoleSystem && m.Covers > 0 }

// HasImages reports whether the message carries image parts.
func (m Message) HasImages() bool {
	for _, p := range m.Parts {
		if p.Type == PartImage {
			return true
		}
	}
	return false
}
