package discord

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
)

var (
	_ bot.Poster = (*Adapter)(nil)
	_ bot.Linker = (*Adapter)(nil)
)

// Nonces: Discord accepts up to 25 characters; a post's parts carry the
// key's nonce with a part suffix of up to 4 characters.
const (
	maxNonceBase = 21
	// findWithin is how many recent messages FindPosted looks through.
	findWithin = 50
)

// Post posts text as the bot. A keyed post answers a conversation: it goes
// to where's thread, which is started from the conversation's first
// message when it does not exist yet, or replies in the channel where
// threads are not allowed. An unkeyed post whose where.Thread is a
// message rather than a thread (a reminder under a card) replies to that
// message. Long text is split as answers are. Every part is created with a
// nonce and enforce_nonce, so Discord returns the existing message to a
// repeated create; with a key the nonces come from it, so a repeated Post
// creates nothing new while Discord remembers the nonce (a few minutes)
// and FindPosted can find the parts.
func (a *Adapter) Post(ctx context.Context, where bot.ThreadRef, text, key string) (bot.MsgRef, error) {
	parts := discordText.Split(text)
	if len(parts) == 0 {
		return bot.MsgRef{}, errors.New("post: the text is empty")
	}
	how := asReply
	if key != "" {
		how = inThread
	}
	dest := a.place(ctx, where, how)
	base := randomNonce()
	if key != "" {
		base = nonceBase(key)
	}
	var first bot.MsgRef
	for n, p := range parts {
		body := messageCreate{Content: p, Nonce: partNonce(base, n, len(parts)), EnforceNonce: true, AllowedMentions: noPings(false)}
		m, err := a.create(ctx, dest, body)
		if err != nil {
			return first, fmt.Errorf("post in %s: %w", dest.channel, err)
		}
		if n == 0 {
			first = bot.MsgRef{Platform: a.Name(), Channel: dest.channel, ID: m.ID}
			dest.replyTo = ""
		}
	}
	return first, nil
}

// FindPosted finds the message Post created with key in where: it looks
// through the recent messages of where's thread and of its channel for
// the bot's message carrying the key's nonce, and returns the post's first
// part. Discord returns nonces with fetched messages only for a short
// time, if at all; see Post for what then prevents a second reply.
func (a *Adapter) FindPosted(ctx context.Context, where bot.ThreadRef, key string) (bot.MsgRef, bool, error) {
	if key == "" {
		return bot.MsgRef{}, false, nil
	}
	self, err := a.selfID(ctx)
	if err != nil {
		return bot.MsgRef{}, false, err
	}
	channels := []string{where.Channel}
	if where.Thread != "" && !where.DM {
		channels = []string{where.Thread, where.Channel}
	}
	base := nonceBase(key)
	for _, ch := range channels {
		msgs, err := a.recentMessages(ctx, ch)
		if status, _ := restCode(err); status == http.StatusNotFound || status == http.StatusForbidden {
			continue
		}
		if err != nil {
			return bot.MsgRef{}, false, fmt.Errorf("list messages in %s: %w", ch, err)
		}
		if id, ok := findNonce(msgs, self, base); ok {
			return bot.MsgRef{Platform: a.Name(), Channel: ch, ID: id}, true, nil
		}
	}
	return bot.MsgRef{}, false, nil
}

// Permalink is the discord.com link of a message.
func (a *Adapter) Permalink(ctx context.Context, ref bot.MsgRef) (string, error) {
	if ref.Channel == "" || ref.ID == "" {
		return "", errors.New("permalink: incomplete message reference")
	}
	return permalink(a.channelInfo(ctx, ref.Channel).guild, ref.Channel, ref.ID), nil
}

// fetchedMessage is what FindPosted reads of a fetched message; the nonce
// may be a string or a number.
type fetchedMessage struct {
	ID     string          `json:"id"`
	Nonce  json.RawMessage `json:"nonce"`
	Author struct {
		ID string `json:"id"`
	} `json:"author"`
}

func (m fetchedMessage) nonce() string {
	var s string
	if json.Unmarshal(m.Nonce, &s) == nil {
		return s
	}
	return string(m.Nonce)
}

// findNonce finds a post's messages: the last part carries the key's own
// nonce, so it proves the whole post went out; the first part is returned.
func findNonce(msgs []fetchedMessage, self, base string) (string, bool) {
	last, first := "", ""
	for _, m := range msgs {
		if m.Author.ID != self {
			continue
		}
		switch m.nonce() {
		case base:
			last = m.ID
		case partNonce(base, 0, 2):
			first = m.ID
		}
	}
	switch {
	case last == "":
		return "", false
	case first != "":
		return first, true
	}
	return last, true
}

// recentMessages fetches a channel's latest messages.
func (a *Adapter) recentMessages(ctx context.Context, channel string) ([]fetchedMessage, error) {
	endpoint := discordgo.EndpointChannelMessages(channel)
	var out []fetchedMessage
	err := a.call(ctx, http.MethodGet, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		body, err := a.session.RequestWithBucketID(http.MethodGet, endpoint+"?limit="+strconv.Itoa(findWithin), nil, endpoint, opts...)
		if err != nil {
			return err
		}
		return json.Unmarshal(body, &out)
	})
	return out, err
}

// selfID is the bot's user ID, asked of Discord when the gateway has not
// said yet (drafts are reconciled at start, before the gateway is up).
func (a *Adapter) selfID(ctx context.Context) (string, error) {
	if id := a.BotID(); id != "" {
		return id, nil
	}
	var me *discordgo.User
	err := a.call(ctx, http.MethodGet, discordgo.EndpointUser("@me"), urgentPace, func(opts ...discordgo.RequestOption) error {
		var err error
		me, err = a.session.User("@me", opts...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("look up the bot user: %w", err)
	}
	a.botID.CompareAndSwap("", me.ID)
	return me.ID, nil
}

// placement tells where a post goes when its thread is a message that has
// no thread yet.
type placement int

// The placements.
const (
	// asReply answers the message in its channel.
	asReply placement = iota
	// inThread goes to the thread started from the message (see destination).
	inThread
)

// place resolves where a post or card goes. Without a thread it is the
// channel; an existing thread is its own channel. Otherwise where.Thread
// is a message, and how says whether to post in the thread started from
// it or as a reply to it in the channel.
func (a *Adapter) place(ctx context.Context, where bot.ThreadRef, how placement) destination {
	if where.DM || where.Thread == "" {
		return destination{channel: where.Channel}
	}
	if info := a.channelInfo(ctx, where.Thread); info.thread {
		return destination{channel: where.Thread}
	}
	if how == asReply {
		return destination{channel: where.Channel, replyTo: where.Thread}
	}
	return a.destination(ctx, bot.ReplyTarget{Thread: where, Message: where.Thread})
}

// create posts one message in dest, replying to dest.replyTo if set.
func (a *Adapter) create(ctx context.Context, dest destination, body messageCreate) (*discordgo.Message, error) {
	if dest.replyTo != "" {
		no := false
		body.MessageReference = &discordgo.MessageReference{MessageID: dest.replyTo, ChannelID: dest.channel, FailIfNotExists: &no}
	}
	var m *discordgo.Message
	err := a.call(ctx, http.MethodPost, discordgo.EndpointChannelMessages(dest.channel), urgentPace, func(opts ...discordgo.RequestOption) error {
		var err error
		m, err = a.postMessage(dest.channel, body, opts...)
		return err
	})
	return m, err
}

// nonceBase maps a key to a nonce base short enough for part suffixes.
func nonceBase(key string) string {
	if len(key) <= maxNonceBase {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:maxNonceBase]
}

// partNonce is the nonce of part n of total: the last part carries the
// base itself, earlier parts a suffix.
func partNonce(base string, n, total int) string {
	if n == total-1 {
		return base
	}
	return base + "." + strconv.Itoa(n%1000)
}

func randomNonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
