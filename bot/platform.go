package bot

import (
	"context"
	"time"

	"kimibot/conversation"
)

// MsgRef points at a message on a platform.
type MsgRef = conversation.MsgRef

// Handler receives events from a platform. HandleEvent only enqueues: it
// returns quickly so the adapter can acknowledge the platform at once.
type Handler interface {
	HandleEvent(ctx context.Context, ev Event) error
}

// Commands answers slash commands; *Engine implements it.
type Commands interface {
	// Command runs c and returns its answer. It never fails: problems are
	// explained in the reply.
	Command(ctx context.Context, c Command) CommandReply
	// ModelChoices returns up to limit live model IDs containing typed, for autocomplete.
	ModelChoices(ctx context.Context, typed string, limit int) []string
}

// Desk is the support desk as platforms see it: the buttons and forms of
// review cards. Engine.Desk returns it.
type Desk interface {
	// CanApprove reports whether u may decide on drafts and tool calls.
	CanApprove(ctx context.Context, platform string, u User) bool
	// HandleAction checks that the user may review drafts and queues the
	// decision. It returns ErrNotAllowed (show the user a private notice;
	// nothing changes) or ErrUnknownDraft.
	HandleAction(ctx context.Context, a Action) error
	// Draft returns a stored draft, for example to prefill an edit modal,
	// or ErrUnknownDraft.
	Draft(ctx context.Context, id string) (conversation.Draft, error)
}

// Host is what the engine gives a platform it runs: where events go, and
// for platforms with slash commands and review cards, the commands and the
// desk. Commands and Desk may be nil: the platform then offers neither.
type Host struct {
	Events   Handler
	Commands Commands
	Desk     Desk
}

// Platform is a chat platform adapter.
type Platform interface {
	// Name is the adapter name used in ThreadRef.Platform.
	Name() string
	// Run connects, delivers events to h.Events and reconnects until ctx ends.
	Run(ctx context.Context, h Host) error
	// Reply opens a reply in a thread: a message that grows as the model writes.
	Reply(ctx context.Context, to ReplyTarget) (Reply, error)
}

// ReplyTarget says where a reply goes and whom it answers.
type ReplyTarget struct {
	Thread ThreadRef
	// User is the platform user who asked (Slack streaming needs it).
	User string
	// Message is the platform ID of the message being answered.
	Message string
	// Opened, when set, is called by the adapter each time the reply
	// starts a new platform message, before more is written to it, so that
	// a restart can find and finish a reply a crash left half-written.
	Opened func(ref MsgRef, mode ReplyMode)
}

// ReplyMode tells how a reply's platform message is written: a native
// stream, or a message edited as it grows.
type ReplyMode = conversation.ReplyMode

// Interrupter is an optional Platform capability: ending a reply that a
// crash left half-written.
type Interrupter interface {
	// Interrupt ends the reply whose last message is ref, in thread where,
	// written in mode: it adds notice after the text the message shows and
	// stops its stream.
	Interrupt(ctx context.Context, where ThreadRef, ref MsgRef, mode ReplyMode, notice string) error
}

// Reply is one answer being written. The adapter paces updates to the
// platform's limits and splits long text; callers just append.
type Reply interface {
	// Status shows what the bot is doing ("thinking", "looking up order A1001").
	Status(ctx context.Context, s string) error
	// Append adds text to the answer.
	Append(ctx context.Context, text string) error
	// Finish flushes all text, adds the footer, clears the status and returns
	// the platform messages that show the answer.
	Finish(ctx context.Context, f Footer) ([]MsgRef, error)
	// Fail ends the reply with a short user-facing error after any text
	// already shown, and clears the status. It never leaves a reply half-written.
	Fail(ctx context.Context, userMsg string) error
}

// Footer is the small print under an answer.
type Footer struct {
	// Model is the model that actually answered.
	Model   string
	Usage   conversation.Usage
	Elapsed time.Duration
}

// Downloader is an optional Platform capability: fetching attachments with
// the platform's credentials.
type Downloader interface {
	Download(ctx context.Context, a Attachment) ([]byte, error)
}

// Readiness is an optional Platform capability reported on /readyz.
type Readiness interface {
	// Ready reports whether the platform is connected.
	Ready() bool
}
