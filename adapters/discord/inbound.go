package discord

import (
	"strings"
	"sync"
	"unicode"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
)

// channelInfo is what the adapter knows of a guild channel.
type channelInfo struct {
	// thread is true for thread channels, whose parent is set.
	thread bool
	parent string
	// guild is the channel's guild ("" for DMs and unknown channels).
	guild string
}

// toEvent translates a message into an engine event. It reports false for
// messages the engine must not see: from bots (the bot itself included) and
// webhooks, system messages and empty messages. A message in a server
// channel (not a thread) belongs to the thread that would start from it;
// when it neither mentions the bot nor replies to it, it is unaddressed:
// the engine drafts replies to those in support channels and ignores the
// rest. ch describes the message's channel when it is in a guild.
func toEvent(m *discordgo.Message, botID string, ch channelInfo) (bot.Event, bool) {
	if m == nil || m.Author == nil || m.Author.Bot || m.WebhookID != "" || m.Author.ID == botID {
		return bot.Event{}, false
	}
	if m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply {
		return bot.Event{}, false
	}
	ev := bot.Event{
		Kind:        bot.EventMessage,
		DedupeKeys:  []string{"discord:" + m.ChannelID + ":" + m.ID},
		User:        bot.User{ID: m.Author.ID, Name: m.Author.DisplayName()},
		Text:        cleanText(m, botID),
		Message:     m.ID,
		Attachments: attachments(m.Attachments),
		Time:        m.Timestamp,
	}
	if ref := m.MessageReference; ref != nil && ref.Type == discordgo.MessageReferenceTypeDefault && ref.MessageID != "" {
		ev.InReplyTo = ref.MessageID
	}
	if ev.Text == "" && len(ev.Attachments) == 0 {
		return bot.Event{}, false
	}
	addressed := mentions(m, botID) || repliesTo(m, botID)
	switch {
	case m.GuildID == "":
		ev.Thread = bot.ThreadRef{Platform: "discord", Channel: m.ChannelID, DM: true}
		ev.Addressed = true
	case ch.thread:
		ev.Thread = bot.ThreadRef{Platform: "discord", Workspace: m.GuildID, Channel: ch.parent, Thread: m.ChannelID}
		ev.Addressed = addressed
	default:
		// A thread started from this message will have the message's ID.
		ev.Thread = bot.ThreadRef{Platform: "discord", Workspace: m.GuildID, Channel: m.ChannelID, Thread: m.ID}
		ev.Addressed = addressed
	}
	return ev, true
}

func mentions(m *discordgo.Message, botID string) bool {
	for _, u := range m.Mentions {
		if u != nil && u.ID == botID {
			return true
		}
	}
	return false
}

func repliesTo(m *discordgo.Message, botID string) bool {
	r := m.ReferencedMessage
	return r != nil && r.Author != nil && r.Author.ID == botID
}

// cleanText removes mentions of the bot and writes other user mentions
// as "@name".
func cleanText(m *discordgo.Message, botID string) string {
	pairs := []string{"<@" + botID + ">", "", "<@!" + botID + ">", ""}
	for _, u := range m.Mentions {
		if u != nil && u.ID != botID {
			name := "@" + u.DisplayName()
			pairs = append(pairs, "<@"+u.ID+">", name, "<@!"+u.ID+">", name)
		}
	}
	text := strings.NewReplacer(pairs...).Replace(m.Content)
	return strings.TrimFunc(text, unicode.IsSpace)
}

func attachments(in []*discordgo.MessageAttachment) []bot.Attachment {
	var out []bot.Attachment
	for _, a := range in {
		if a == nil {
			continue
		}
		out = append(out, bot.Attachment{Name: a.Filename, MIME: a.ContentType, Size: int64(a.Size), URL: a.URL})
	}
	return out
}

// threadTitle names a thread after the first words of a question.
func threadTitle(text string) string {
	const maxLen = 80
	words := strings.Fields(text)
	var b strings.Builder
	for _, w := range words {
		if b.Len() > 0 && len([]rune(b.String()))+1+len([]rune(w)) > maxLen {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	title := []rune(b.String())
	if len(title) > maxLen {
		title = append(title[:maxLen-1], '…')
	}
	if len(title) == 0 {
		return "Kimi"
	}
	return string(title)
}

// channelCache remembers which guild channels are threads and their
// parents, from gateway events and channel lookups.
type channelCache struct {
	mu sync.Mutex
	m  map[string]channelInfo
}

// maxCached bounds the caches; past it they start over.
const maxCached = 100_000

func (c *channelCache) get(id string) (channelInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, ok := c.m[id]
	return info, ok
}

func (c *channelCache) put(id string, info channelInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]channelInfo{}
	}
	c.m[id] = info
}

// putChannel caches a channel as the API describes it.
func (c *channelCache) putChannel(ch *discordgo.Channel) {
	if ch == nil || ch.ID == "" {
		return
	}
	c.put(ch.ID, channelInfo{thread: ch.IsThread(), parent: ch.ParentID, guild: ch.GuildID})
}

// titleCache keeps the thread title for messages that may start a thread,
// until the reply creates it.
type titleCache struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *titleCache) put(messageID, title string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= 4096 {
		c.m = map[string]string{}
	}
	c.m[messageID] = title
}

func (c *titleCache) take(messageID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.m[messageID]
	if !ok {
		return "Kimi"
	}
	delete(c.m, messageID)
	return t
}
