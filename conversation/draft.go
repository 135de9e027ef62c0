package conversation

import (
	"context"
	"errors"
	"time"
)

// ErrConflict is returned when a draft is no longer in the state an action
// expects: somebody else decided first, or the draft was superseded.
var ErrConflict = errors.New("draft state changed")

// DraftState is where a draft is in its life.
type DraftState string

// The states of a draft: pending -> sending -> sent, or pending -> rejected,
// or pending -> superseded (a newer customer message arrived).
const (
	DraftPending    DraftState = "pending"
	DraftSending    DraftState = "sending"
	DraftSent       DraftState = "sent"
	DraftRejected   DraftState = "rejected"
	DraftSuperseded DraftState = "superseded"
)

// DraftKind tells what waits for approval.
type DraftKind string

// The kinds of drafts.
const (
	// DraftReply is a reply to a customer, drafted by the model.
	DraftReply DraftKind = "reply"
	// DraftTool is a tool call that needs approval before it runs.
	DraftTool DraftKind = "tool"
)

// ToolRecord is one tool call of a turn with its result, for review and audit.
type ToolRecord struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
	Result    string `json:"result,omitempty"`
	IsError   bool   `json:"is_error,omitempty"`
}

// AuditAction names a step in a draft's life, as decisions and audit
// records store it.
type AuditAction string

// The audit actions: a reviewer's decisions, and the steps the bot takes.
const (
	AuditApprove    AuditAction = "approve"
	AuditEdit       AuditAction = "edit"
	AuditReject     AuditAction = "reject"
	AuditRegenerate AuditAction = "regenerate"
	// AuditSupersede marks a draft replaced by a newer customer message.
	AuditSupersede AuditAction = "supersede"
	// AuditSent records that an approved reply reached the customer.
	AuditSent AuditAction = "sent"
	// AuditRan records that an approved tool call ran.
	AuditRan AuditAction = "ran"
)

// Decision is what a reviewer did with a draft.
type Decision struct {
	// Action is AuditApprove, AuditEdit, AuditReject, AuditRegenerate or AuditSupersede.
	Action AuditAction `json:"action"`
	By     string      `json:"by,omitempty"`
	ByName string      `json:"by_name,omitempty"`
	At     time.Time   `json:"at"`
	// Reason is the rejection reason or the regeneration instruction.
	Reason string `json:"reason,omitempty"`
}

// Draft is a reply (or tool call) waiting for a human decision.
type Draft struct {
	ID   string    `json:"id"`
	Kind DraftKind `json:"kind"`
	// Thread is the customer's conversation.
	Thread       ThreadKey `json:"thread"`
	Customer     string    `json:"customer,omitempty"`
	CustomerName string    `json:"customer_name,omitempty"`
	// Source is the customer's message the draft answers.
	Source   MsgRef `json:"source"`
	Question string `json:"question,omitempty"`
	// Text is the drafted reply (DraftReply).
	Text string `json:"text,omitempty"`
	// ToolCalls are the calls made while drafting; for DraftTool, the calls
	// of the paused step (those already run carry their results).
	ToolCalls []ToolRecord `json:"tool_calls,omitempty"`
	// Awaiting is the ID of the tool call waiting for approval (DraftTool).
	Awaiting string `json:"awaiting,omitempty"`
	// Step is the assistant message whose tool calls paused (DraftTool).
	Step *Message `json:"step,omitempty"`
	// Review is where the card went: the review channel's thread ref parts.
	ReviewThread string `json:"review_thread,omitempty"`
	Model        string `json:"model,omitempty"`
	// ReviewChannel is the channel ID where the card is posted.
	ReviewChannel string `json:"review_channel"`
	// Card is the review card, once posted.
	Card     MsgRef     `json:"card"`
	State    DraftState `json:"state"`
	Decision *Decision  `json:"decision,omitempty"`
	// SentText is what was (or is being) posted to the customer.
	SentText string `json:"sent_text,omitempty"`
	// Sent is the posted reply, once known.
	Sent       MsgRef    `json:"sent"`
	Revision   int       `json:"revision,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
	RemindedAt time.Time `json:"reminded_at"`
}

// AuditRecord is one stored decision about a draft.
type AuditRecord struct {
	Time      time.Time    `json:"time"`
	DraftID   string       `json:"draft_id"`
	Kind      DraftKind    `json:"kind"`
	Thread    ThreadKey    `json:"thread"`
	Action    AuditAction  `json:"action"`
	By        string       `json:"by,omitempty"`
	ByName    string       `json:"by_name,omitempty"`
	From      DraftState   `json:"from"`
	To        DraftState   `json:"to"`
	DraftText string       `json:"draft_text,omitempty"`
	SentText  string       `json:"sent_text,omitempty"`
	Diff      string       `json:"diff,omitempty"`
	Reason    string       `json:"reason,omitempty"`
	ToolCalls []ToolRecord `json:"tool_calls,omitempty"`
	Model     string       `json:"model,omitempty"`
}

// DraftStore keeps drafts and their audit trail. Each method is one transaction.
type DraftStore interface {
	// CreateDraft stores d and marks every other pending draft of the same
	// thread and kind superseded, returning those (already updated).
	CreateDraft(ctx context.Context, d Draft) ([]Draft, error)
	// Draft returns the draft with id, or ErrNotFound.
	Draft(ctx context.Context, id string) (Draft, error)
	// UpdateDraft loads the draft, lets fn change it, and stores it together
	// with the audit record fn returns (if any), in one transaction. If fn
	// returns an error nothing is written and the error is returned as is.
	UpdateDraft(ctx context.Context, id string, fn func(d *Draft) (*AuditRecord, error)) (Draft, error)
	// DraftsByState returns the drafts in any of states, oldest first.
	DraftsByState(ctx context.Context, states ...DraftState) ([]Draft, error)
	// Audit returns the audit records at or after since, oldest first.
	Audit(ctx context.Context, since time.Time) ([]AuditRecord, error)
}
