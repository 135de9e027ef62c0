package bot

import (
	"context"
	"errors"

	"kimibot/conversation"
)

// Errors HandleAction returns to adapters.
var (
	// ErrNotAllowed means the user may not review drafts; show them a private notice.
	ErrNotAllowed = errors.New("not allowed to review drafts")
	// ErrUnknownDraft means the card's draft does not exist (any more).
	ErrUnknownDraft = errors.New("unknown draft")
)

// ActionKind is a reviewer's decision on a card.
type ActionKind string

// The actions a card offers.
const (
	ActionApprove    ActionKind = "approve"
	ActionEdit       ActionKind = "edit"
	ActionRegenerate ActionKind = "regenerate"
	ActionReject     ActionKind = "reject"
)

// Action is a click or modal submission on a review card.
type Action struct {
	Kind    ActionKind
	DraftID string
	User    User
	// Platform is the adapter the action came from.
	Platform string
	// Text is the edited reply (edit), the reason (reject) or the
	// instruction (regenerate); optional except for edit.
	Text string
	// DedupeKey identifies the interaction, so a platform retry is dropped.
	DedupeKey string
}

// Card is a review card: a drafted reply or a tool call waiting for a human.
type Card struct {
	DraftID string
	Kind    conversation.DraftKind
	State   conversation.DraftState
	// Customer is the platform user ID of the customer, CustomerName their name.
	Customer, CustomerName string
	// Source is the customer's message; Thread is the customer's conversation.
	Source   MsgRef
	Thread   ThreadRef
	Question string
	// Draft is the drafted reply (empty for tool cards).
	Draft     string
	ToolCalls []conversation.ToolRecord
	Model     string
	// Outcome describes the decision once made ("Approved by Ana at 14:02 UTC").
	Outcome string
	// Actions are the buttons to show; empty once decided.
	Actions []ActionKind
}

// Cards is an optional Platform capability: interactive review cards.
type Cards interface {
	// PostCard posts c in where (a review channel, or a thread for tool cards).
	PostCard(ctx context.Context, where ThreadRef, c Card) (MsgRef, error)
	// UpdateCard redraws a posted card.
	UpdateCard(ctx context.Context, ref MsgRef, c Card) error
}

// Poster is an optional Platform capability: posting a complete message, as
// for an approved draft, and finding it again after a crash.
type Poster interface {
	// Post posts text in where as the bot. A non-empty key marks the message
	// so that FindPosted can find it (Slack metadata, Discord nonce).
	Post(ctx context.Context, where ThreadRef, text, key string) (MsgRef, error)
	// FindPosted returns the message posted with key in where, if any.
	FindPosted(ctx context.Context, where ThreadRef, key string) (MsgRef, bool, error)
}

// Linker is an optional Platform capability: links to messages.
type Linker interface {
	Permalink(ctx context.Context, ref MsgRef) (string, error)
}

// GroupResolver is an optional Platform capability: membership of user
// groups (Slack user groups), for approvers named by group.
type GroupResolver interface {
	InGroup(ctx context.Context, group, user string) (bool, error)
}
