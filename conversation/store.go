package conversation

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a thread, setting or record does not exist.
var ErrNotFound = errors.New("not found")

// Thread is the stored state of one conversation.
type Thread struct {
	Key ThreadKey `json:"key"`
	// Active is true while the bot follows the thread without new mentions.
	Active bool `json:"active"`
	// Generation counts resets ("/kimi new"); messages of older generations
	// are no longer part of the conversation.
	Generation int       `json:"generation"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// ThreadStore keeps conversations. Every method is one transaction.
type ThreadStore interface {
	// Append stores msgs at the end of the thread, creating it (active) if
	// needed, and returns them with Seq assigned.
	Append(ctx context.Context, key ThreadKey, msgs ...Message) ([]Message, error)
	// Messages returns the messages of the thread's current generation, oldest first.
	Messages(ctx context.Context, key ThreadKey) ([]Message, error)
	// Thread returns the thread's state, or ErrNotFound.
	Thread(ctx context.Context, key ThreadKey) (Thread, error)
	// SetActive makes the bot follow (true) or leave (false) the thread.
	SetActive(ctx context.Context, key ThreadKey, active bool) error
	// Reset starts a new generation: later Messages calls return nothing older.
	Reset(ctx context.Context, key ThreadKey) error
	// IndexRefs records that the platform messages refs belong to the thread.
	IndexRefs(ctx context.Context, key ThreadKey, refs ...MsgRef) error
	// ThreadByRef returns the thread a platform message belongs to, or ErrNotFound.
	ThreadByRef(ctx context.Context, ref MsgRef) (ThreadKey, error)
}

// EventStore remembers processed platform events, for duplicate suppression.
type EventStore interface {
	// MarkProcessed records ids as processed at now and reports whether any
	// of them had been recorded before (a duplicate delivery).
	MarkProcessed(ctx context.Context, now time.Time, ids ...string) (dup bool, err error)
	// ExpireProcessed forgets records older than before and returns how many.
	ExpireProcessed(ctx context.Context, before time.Time) (int, error)
}

// ScopeKind is what a setting applies to.
type ScopeKind string

// The scopes a setting can have, from the most to the least specific.
const (
	ScopeThread  ScopeKind = "thread"
	ScopeUser    ScopeKind = "user"
	ScopeChannel ScopeKind = "channel"
)

// Scope names the thread, user or channel a setting applies to.
type Scope struct {
	Kind     ScopeKind `json:"kind"`
	Platform string    `json:"platform"`
	// ID is the thread key, user ID or channel ID.
	ID string `json:"id"`
}

// SettingsStore keeps per-scope settings such as the model.
type SettingsStore interface {
	// SetSetting stores value under name for scope; an empty value deletes it.
	SetSetting(ctx context.Context, scope Scope, name, value string) error
	// Setting returns the value, or ErrNotFound.
	Setting(ctx context.Context, scope Scope, name string) (string, error)
}
