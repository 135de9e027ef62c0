package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
	"kimibot/conversation"
)

// Retry bounds for REST calls.
const (
	maxRateLimitRetries = 5
	maxServerRetries    = 3
)

// Discord's JSON error codes the adapter acts on.
const (
	codeUnknownChannel     = 10003
	codeThreadAlreadyExist = 160004
)

// call runs one REST request under the limiter. It waits for the bucket,
// waits out 429s (telling discordgo not to retry them itself) and retries
// server and network errors, each a bounded number of times. fn gets the
// request options to pass to discordgo.
func (a *Adapter) call(ctx context.Context, method, endpoint string, p pace, fn func(opts ...discordgo.RequestOption) error) error {
	route, major := routeOf(method, endpoint)
	limited, failed := 0, 0
	for {
		release, err := a.limits.acquire(ctx, route, major, p)
		if err != nil {
			return err
		}
		err = fn(discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false))
		release()
		if err != nil && isWebhookRoute(route) && major != "" {
			err = redacted{err: err, secret: major}
		}
		var rl *discordgo.RateLimitError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &rl) && limited < maxRateLimitRetries:
			limited++
			a.limits.penalize(route, major, rl.RetryAfter, time.Now())
			a.log.Warn("rate limited", "route", route, "retry_after", rl.RetryAfter)
		case transient(ctx, err) && failed < maxServerRetries:
			failed++
			if _, err := wait(ctx, time.Duration(100<<failed)*time.Millisecond, nil); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// redacted hides an interaction or webhook token that an error's message
// carries in a request URL.
type redacted struct {
	err    error
	secret string
}

func (r redacted) Error() string { return strings.ReplaceAll(r.err.Error(), r.secret, "[token]") }

func (r redacted) Unwrap() error { return r.err }

// transient reports whether a failed request may succeed if sent again.
func transient(ctx context.Context, err error) bool {
	var rest *discordgo.RESTError
	var netErr net.Error
	switch {
	case ctx.Err() != nil:
		return false
	case errors.As(err, &rest):
		return rest.Response != nil && rest.Response.StatusCode >= 500
	case errors.As(err, &netErr):
		return true
	}
	return false
}

// restCode returns the HTTP status and Discord's JSON error code of a
// failed request (0, 0 when err is not an API error).
func restCode(err error) (status, code int) {
	var rest *discordgo.RESTError
	if !errors.As(err, &rest) || rest.Response == nil {
		return 0, 0
	}
	if rest.Message != nil {
		code = rest.Message.Code
	}
	return rest.Response.StatusCode, code
}

// messageCreate is the body of a message create. discordgo's MessageSend
// lacks nonce and enforce_nonce, which make retried creates idempotent.
type messageCreate struct {
	Content          string                            `json:"content"`
	Nonce            string                            `json:"nonce,omitempty"`
	EnforceNonce     bool                              `json:"enforce_nonce,omitempty"`
	AllowedMentions  *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
	MessageReference *discordgo.MessageReference       `json:"message_reference,omitempty"`
	Embeds           []*discordgo.MessageEmbed         `json:"embeds,omitempty"`
	Components       []discordgo.MessageComponent      `json:"components,omitempty"`
}

// noPings lets answers show mentions without notifying anyone: model
// output must not ping @everyone or users.
func noPings(repliedUser bool) *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, RepliedUser: repliedUser}
}

// postMessage creates a message (one request, no pacing).
func (a *Adapter) postMessage(channel string, body messageCreate, opts ...discordgo.RequestOption) (*discordgo.Message, error) {
	endpoint := discordgo.EndpointChannelMessages(channel)
	resp, err := a.session.RequestWithBucketID(http.MethodPost, endpoint, body, endpoint, opts...)
	if err != nil {
		return nil, err
	}
	var m discordgo.Message
	if err := json.Unmarshal(resp, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// editMessage replaces a message's content (one request, no pacing).
func (a *Adapter) editMessage(channel, id, content string, opts ...discordgo.RequestOption) error {
	edit := discordgo.NewMessageEdit(channel, id).SetContent(content)
	edit.AllowedMentions = noPings(false)
	_, err := a.session.ChannelMessageEditComplex(edit, opts...)
	return err
}

// destination is where a reply's messages go.
type destination struct {
	channel string
	// replyTo is the message the first message replies to, if any.
	replyTo string
	// fallback is used when channel turns out not to exist: a thread
	// that was never created because the server does not allow threads.
	fallback *destination
}

// destination resolves a reply target to a channel. For a mention in a
// server channel it starts a thread from the mention, or replies in the
// channel where threads are not possible (remembered per channel).
func (a *Adapter) destination(ctx context.Context, to bot.ReplyTarget) destination {
	t := to.Thread
	if t.DM || t.Thread == "" {
		return destination{channel: t.Channel}
	}
	inParent := destination{channel: t.Channel, replyTo: to.Message}
	if a.threadsForbidden(t.Channel) {
		return inParent
	}
	if info, ok := a.channels.get(t.Thread); ok && info.thread {
		return destination{channel: t.Thread}
	}
	if t.Thread != to.Message {
		return destination{channel: t.Thread, fallback: &inParent}
	}
	err := a.startThread(ctx, t.Channel, t.Thread, a.titles.take(t.Thread))
	status, code := restCode(err)
	switch {
	case err == nil || code == codeThreadAlreadyExist:
		a.channels.put(t.Thread, channelInfo{thread: true, parent: t.Channel, guild: t.Workspace})
		return destination{channel: t.Thread}
	case status == http.StatusForbidden || status == http.StatusBadRequest:
		a.log.Info("threads not possible here, replying in the channel", "channel", t.Channel, "status", status, "code", code)
		a.markNoThreads(t.Channel)
	default:
		a.log.Warn("start thread failed, replying in the channel", "channel", t.Channel, "err", err)
	}
	return inParent
}

// startThread starts a public thread from a message.
func (a *Adapter) startThread(ctx context.Context, channel, message, name string) error {
	endpoint := discordgo.EndpointChannelMessageThread(channel, message)
	return a.call(ctx, http.MethodPost, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		th, err := a.session.MessageThreadStartComplex(channel, message, &discordgo.ThreadStart{
			Name: name, AutoArchiveDuration: 1440, Type: discordgo.ChannelTypeGuildPublicThread}, opts...)
		if err == nil {
			a.channels.putChannel(th)
		}
		return err
	})
}

// Reply opens an answer in a thread. It returns at once; the answer shows
// a typing indicator until its first text, which is posted as soon as it
// exists and then edited as more arrives.
func (a *Adapter) Reply(ctx context.Context, to bot.ReplyTarget) (bot.Reply, error) {
	if to.Thread.Channel == "" {
		return nil, errors.New("discord: reply target has no channel")
	}
	s := newStream(a, to)
	go s.run(ctx)
	return s, nil
}

var _ bot.Interrupter = (*Adapter)(nil)

// Interrupt ends a reply a crash left half-written: its last message is
// edited to show the notice after its text.
func (a *Adapter) Interrupt(ctx context.Context, _ bot.ThreadRef, ref bot.MsgRef, _ bot.ReplyMode, notice string) error {
	endpoint := discordgo.EndpointChannelMessage(ref.Channel, ref.ID)
	var text string
	err := a.call(ctx, http.MethodGet, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		m, err := a.session.ChannelMessage(ref.Channel, ref.ID, opts...)
		if err == nil {
			text = m.Content
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("read interrupted reply %s: %w", ref.ID, err)
	}
	line := "\n\n" + errorLine(notice)
	text = discordText.Count.Clip(strings.TrimRight(text, "\n"), discordText.Limit-discordText.Count.Len(line)) + line
	return a.call(ctx, http.MethodPatch, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		return a.editMessage(ref.Channel, ref.ID, text, opts...)
	})
}

// opened tells the engine, when it asked, about a new message of the reply.
func (s *stream) opened(id string) {
	if s.to.Opened != nil {
		s.to.Opened(bot.MsgRef{Platform: "discord", Channel: s.dest.channel, ID: id}, conversation.ReplyModeMessage)
	}
}
