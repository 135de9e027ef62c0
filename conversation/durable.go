package conversation

import (
	"context"
	"time"
)

// InboxItem is one accepted platform event waiting to be answered. The
// store keeps its payload as opaque bytes; the engine decides the encoding.
type InboxItem struct {
	// ID names the item; the caller chooses it (for example from the
	// event's first dedupe key) and it must be unique among pending items.
	ID string `json:"id"`
	// Seq is the arrival sequence, assigned by Accept.
	Seq uint64 `json:"seq"`
	// Thread is the conversation the event belongs to.
	Thread ThreadKey `json:"thread"`
	// DedupeKeys identify the event; Accept records them as processed in the
	// same transaction that stores the item.
	DedupeKeys []string `json:"dedupe_keys,omitempty"`
	// Payload is the serialized event.
	Payload []byte `json:"payload"`
	// Attempts counts the Begin calls: how many times a worker started on it.
	Attempts int `json:"attempts"`
	// Accepted is when Accept stored the item; the store's clock when zero.
	Accepted time.Time `json:"accepted"`
}

// InboxStore is the durable inbox: accepted events survive a restart until
// they are done. Every method is one transaction.
type InboxStore interface {
	// Accept stores item, which needs an ID and a thread, and records its
	// dedupe keys as processed, in one transaction. If any key was already
	// processed, or the ID is already pending, nothing is stored and dup is
	// true. The store assigns Seq and zeroes Attempts.
	Accept(ctx context.Context, item InboxItem) (dup bool, err error)
	// Pending returns the accepted items not yet done, in arrival order.
	Pending(ctx context.Context) ([]InboxItem, error)
	// Begin counts one more attempt at the item and returns the new count
	// (1 on the first start), or ErrNotFound.
	Begin(ctx context.Context, id string) (attempt int, err error)
	// Done removes the item; removing one that is gone is not an error.
	Done(ctx context.Context, id string) error
}

// ReplyState is where a reply on a platform is in its life.
type ReplyState string

// The states of an open reply.
const (
	// ReplyStreaming means the reply is being written on the platform.
	ReplyStreaming ReplyState = "streaming"
	// ReplyDone means the reply was finished on the platform.
	ReplyDone ReplyState = "done"
)

// ReplyMode tells how a reply is written on the platform.
type ReplyMode string

// The ways a reply is written.
const (
	// ReplyModeStream is a native platform stream (Slack chat.startStream).
	ReplyModeStream ReplyMode = "stream"
	// ReplyModeMessage is a posted message that is edited as it grows.
	ReplyModeMessage ReplyMode = "message"
)

// ReplyRecord is a reply written on a platform, recorded before its first
// write so that a restart can finish a reply left streaming.
type ReplyRecord struct {
	// ID names the reply; the caller chooses it.
	ID string `json:"id"`
	// Thread is the conversation the reply belongs to.
	Thread ThreadKey `json:"thread"`
	// Item is the inbox item the reply answers, when there is one.
	Item string `json:"item,omitempty"`
	// Platform is the adapter name ("slack", "discord").
	Platform string `json:"platform"`
	// Refs are the platform messages of the reply so far (for a Slack
	// stream, the stream's message ts).
	Refs []MsgRef `json:"refs,omitempty"`
	// Mode tells how the reply is written.
	Mode  ReplyMode  `json:"mode"`
	State ReplyState `json:"state"`
	// Started is when the reply was opened; the store's clock when zero.
	Started time.Time `json:"started"`
	// Updated is when the record last changed, set by the store.
	Updated time.Time `json:"updated"`
}

// ReplyStore records open replies for restart recovery. Every method is one
// transaction.
type ReplyStore interface {
	// OpenReply stores r, which needs an ID and a thread; a zero State
	// becomes ReplyStreaming. Opening an ID again replaces the record.
	OpenReply(ctx context.Context, r ReplyRecord) error
	// UpdateReply loads the record, lets fn change it and stores it, or
	// fails with ErrNotFound. fn may not change the ID; an error from fn is
	// returned as is and nothing is written.
	UpdateReply(ctx context.Context, id string, fn func(r *ReplyRecord) error) (ReplyRecord, error)
	// CloseReply forgets the record; closing one that is gone is not an error.
	CloseReply(ctx context.Context, id string) error
	// OpenReplies returns every recorded reply, oldest Started first.
	OpenReplies(ctx context.Context) ([]ReplyRecord, error)
}

// TurnEnd is what a turn that answered stores when it ends: its messages,
// the platform messages of its reply, the usage of its model calls, and the
// end of its reply record and inbox item.
type TurnEnd struct {
	// Thread is the conversation the turn belongs to.
	Thread ThreadKey
	// Messages are appended to the thread, as ThreadStore.Append does.
	Messages []Message
	// AnswerTo is the Seq of the message the turn answered, if any: when
	// it is no longer in the thread's current generation (the thread was
	// reset during the turn), Messages are not appended, and the rest is
	// stored all the same.
	AnswerTo uint64
	// Refs are indexed to the thread, as ThreadStore.IndexRefs does.
	Refs []MsgRef
	// Usage records are stored, as UsageStore.RecordUsage does.
	Usage []UsageRecord
	// Reply is the reply record closed, as ReplyStore.CloseReply does;
	// none when empty.
	Reply string
	// Item is the inbox item removed, as InboxStore.Done does; none when
	// empty.
	Item string
}

// TurnStore stores the end of a turn in one transaction, so that an
// answer is never kept without its inbox item removed, or the other way
// round, and a busy store commits once per turn instead of once per record.
type TurnStore interface {
	// EndTurn applies end in one transaction and returns its messages with
	// Seq set. Nothing is written when it fails.
	EndTurn(ctx context.Context, end TurnEnd) ([]Message, error)
}
