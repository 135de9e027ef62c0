// Package tools holds the tools the model may call: the Tool interface, a
// registry that validates arguments against each tool's JSON schema, and the
// built-in tools such as lookup_order.
package tools

import (
	"context"
	"encoding/json"
)

// Spec describes a tool to the model.
type Spec struct {
	// Name matches ^[a-zA-Z_][a-zA-Z0-9_-]{2,63}$.
	Name        string `json:"name"`
	Description string `json:"description"`
	// Parameters is a JSON schema object for the arguments.
	Parameters json.RawMessage `json:"parameters"`
	// NeedsApproval makes the turn wait for a human approver before the call runs.
	NeedsApproval bool `json:"needs_approval,omitempty"`
}

// Tool is a function the model may call.
type Tool interface {
	// Spec describes the tool.
	Spec() Spec
	// Call runs the tool with arguments already validated against the schema.
	// The returned text goes back to the model; an error is reported to the
	// model as a tool error it may correct.
	Call(ctx context.Context, args json.RawMessage) (string, error)
}

// Describer is an optional Tool capability: a short status line for users
// while the call runs, such as "looking up order A1001".
type Describer interface {
	Describe(args json.RawMessage) string
}

// Result is the outcome of one tool call as the model will see it.
type Result struct {
	// Content is the text sent back in the tool message.
	Content string
	// IsError is true when Content reports a failure (unknown tool, invalid
	// arguments, timeout, the tool's own error).
	IsError bool
}
