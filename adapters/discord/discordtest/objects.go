package discordtest

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"
)

// The channel types the fake knows, as Discord numbers them.
const (
	ChannelText   = 0
	ChannelDM     = 1
	ChannelThread = 11
)

// The gateway intents the fake checks, as Discord numbers them.
const (
	IntentGuilds         = 1 << 0
	IntentGuildMessages  = 1 << 9
	IntentDirectMessages = 1 << 12
	IntentMessageContent = 1 << 15
)

// discordEpoch is the first millisecond of 2015, the origin of snowflakes.
const discordEpoch = 1420070400000

// User is a Discord user as the REST API and the gateway send it.
type User struct {
	ID            string `json:"id"`
	Username      string `json:"username"`
	GlobalName    string `json:"global_name,omitempty"`
	Discriminator string `json:"discriminator"`
	Bot           bool   `json:"bot,omitempty"`
}

// Attachment is a file attached to a message.
type Attachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type,omitempty"`
	Size        int    `json:"size"`
	URL         string `json:"url"`
	ProxyURL    string `json:"proxy_url"`
}

// Channel is a guild text channel, a DM channel or a thread.
type Channel struct {
	ID         string `json:"id"`
	Type       int    `json:"type"`
	GuildID    string `json:"guild_id,omitempty"`
	ParentID   string `json:"parent_id,omitempty"`
	Name       string `json:"name,omitempty"`
	OwnerID    string `json:"owner_id,omitempty"`
	Recipients []User `json:"recipients,omitempty"`
}

// MessageReference points at the message a reply answers.
type MessageReference struct {
	MessageID       string `json:"message_id"`
	ChannelID       string `json:"channel_id,omitempty"`
	GuildID         string `json:"guild_id,omitempty"`
	FailIfNotExists *bool  `json:"fail_if_not_exists,omitempty"`
}

// Message is a Discord message as the REST API and the gateway send it.
type Message struct {
	ID                string            `json:"id"`
	ChannelID         string            `json:"channel_id"`
	GuildID           string            `json:"guild_id,omitempty"`
	Author            User              `json:"author"`
	Content           string            `json:"content"`
	Timestamp         time.Time         `json:"timestamp"`
	EditedTimestamp   *time.Time        `json:"edited_timestamp"`
	Mentions          []User            `json:"mentions"`
	MentionRoles      []string          `json:"mention_roles"`
	Attachments       []Attachment      `json:"attachments"`
	Embeds            []Embed           `json:"embeds"`
	Type              int               `json:"type"`
	Flags             int               `json:"flags"`
	Nonce             string            `json:"nonce,omitempty"`
	MessageReference  *MessageReference `json:"message_reference,omitempty"`
	ReferencedMessage *Message          `json:"referenced_message,omitempty"`
	// Components are the message components the bot sent, verbatim.
	Components json.RawMessage `json:"components,omitempty"`
	// Edits counts the PATCH requests that changed the message.
	Edits int `json:"-"`
}

// Embed is a rich embed of a message.
type Embed struct {
	Type        string       `json:"type,omitempty"`
	Title       string       `json:"title,omitempty"`
	Description string       `json:"description,omitempty"`
	URL         string       `json:"url,omitempty"`
	Color       int          `json:"color,omitempty"`
	Fields      []EmbedField `json:"fields,omitempty"`
	Footer      *EmbedFooter `json:"footer,omitempty"`
}

// EmbedField is a titled section of an embed.
type EmbedField struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}

// EmbedFooter is the small print under an embed.
type EmbedFooter struct {
	Text string `json:"text"`
}

// Identify is the payload of a gateway Identify (op 2) the fake received.
type Identify struct {
	Token   string  `json:"token"`
	Intents int64   `json:"intents"`
	Shard   *[2]int `json:"shard,omitempty"`
	// Time is when the fake received it.
	Time time.Time `json:"-"`
}

// Resume is the payload of a gateway Resume (op 6) the fake received.
type Resume struct {
	Token     string `json:"token"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
	// Accepted is false when the session was unknown (op 9 was sent).
	Accepted bool `json:"-"`
	// Replayed is how many dispatches were sent again before RESUMED.
	Replayed int       `json:"-"`
	Time     time.Time `json:"-"`
}

// snowflakes makes increasing Discord IDs from the clock.
type snowflakes struct {
	mu   sync.Mutex
	last int64
}

func (g *snowflakes) next() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	id := (time.Now().UnixMilli() - discordEpoch) << 22
	if id <= g.last {
		id = g.last + 1
	}
	g.last = id
	return strconv.FormatInt(id, 10)
}

// shardOf returns the shard of a guild for count shards ("" is a DM: shard 0).
func shardOf(guildID string, count int) int {
	if guildID == "" || count <= 1 {
		return 0
	}
	id, err := strconv.ParseUint(guildID, 10, 64)
	if err != nil {
		return 0
	}
	return int((id >> 22) % uint64(count))
}
