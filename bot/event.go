package bot

import (
	"strings"
	"time"

	"kimibot/conversation"
)

// ThreadRef locates a conversation on a platform.
type ThreadRef struct {
	// Platform is the adapter name: "slack", "discord" or "console".
	Platform string
	// Workspace is the Slack team or Discord guild ("" for DMs and the console).
	Workspace string
	// Channel is the channel (or DM channel) ID.
	Channel string
	// Thread is the Slack thread_ts or the Discord thread ID; "" when the
	// conversation is the whole channel (a DM without threads).
	Thread string
	// DM is true for direct messages.
	DM bool
}

// Key returns the conversation key of the thread.
func (t ThreadRef) Key() conversation.ThreadKey {
	return conversation.ThreadKey(strings.Join([]string{t.Platform, t.Workspace, t.Channel, t.Thread}, "/"))
}

// EventKind tells what an Event asks of the engine.
type EventKind int

// The event kinds.
const (
	// EventMessage is a user message that may start a turn.
	EventMessage EventKind = iota
	// EventReset starts a fresh conversation in the thread ("/kimi new").
	EventReset
	// EventLeave makes the bot stop following the thread without mentions.
	EventLeave
	// EventAction is a reviewer's decision on a draft (see Engine.HandleAction).
	EventAction
)

// User is the author of an event.
type User struct {
	ID   string
	Name string
	// Bot is true for bots and apps, including kimibot itself.
	Bot bool
	// Roles are the user's Discord role IDs in the guild, when known.
	Roles []string
}

// Attachment is a file attached to a user's message.
type Attachment struct {
	Name string
	// MIME is the content type, such as "image/png".
	MIME string
	Size int64
	// URL is where the adapter's Downloader fetches it from.
	URL string
}

// IsImage reports whether the attachment is an image.
func (a Attachment) IsImage() bool { return strings.HasPrefix(a.MIME, "image/") }

// Event is a platform event translated by an adapter.
type Event struct {
	Kind EventKind
	// DedupeKeys identify the event for duplicate suppression: for example the
	// Slack event_id and "channel:ts" of the message, so that a retry and the
	// app_mention/message pair are both recognised.
	DedupeKeys []string
	Thread     ThreadRef
	User       User
	Text       string
	// Message is the platform ID of the user's message.
	Message string
	// InReplyTo is the platform ID of the message this one replies to, if
	// any; a reply to one of the bot's messages continues that conversation.
	InReplyTo string
	// Addressed is true when the message is meant for the bot: a mention, a
	// DM, or a reply to the bot. Unaddressed messages start a turn only in
	// threads the bot follows.
	Addressed   bool
	Attachments []Attachment
	Time        time.Time
	// Action is set for EventAction.
	Action *Action
}
