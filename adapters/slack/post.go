package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/slack-go/slack"

	"kimibot/bot"
)

var _ bot.Poster = (*Adapter)(nil)

// draftEvent is the metadata event type that marks a posted draft; its
// payload holds the draft ID and, for a draft split over several
// messages, the part and the number of parts.
const draftEvent = "kimibot_draft"

// repliesPage is how many messages one conversations.replies call asks for.
const repliesPage = 200

// maxReplyPages bounds the pages FindPosted reads.
const maxReplyPages = 10

// Post posts text in where as the bot, split into messages like an
// answer when it is long. A non-empty key goes into each message's
// metadata, so that FindPosted can find it; a post whose answer was lost
// is looked for before it is sent again, and the parts of an earlier,
// interrupted Post are not sent twice.
func (a *Adapter) Post(ctx context.Context, where bot.ThreadRef, text, key string) (bot.MsgRef, error) {
	if strings.TrimSpace(text) == "" {
		return bot.MsgRef{}, errors.New("post message: no text")
	}
	parts := slackText.Split(text)
	have := map[int]string{}
	if key != "" && len(parts) > 1 {
		var err error
		if have, _, err = a.postedParts(ctx, where, key); err != nil {
			return bot.MsgRef{}, fmt.Errorf("post message in %s: %w", where.Channel, err)
		}
	}
	ref := bot.MsgRef{Platform: platformName, Channel: where.Channel}
	for i, md := range parts {
		ts, ok := have[i]
		if !ok {
			var err error
			if ts, err = a.postPartOnce(ctx, where, md, key, i, len(parts)); err != nil {
				return bot.MsgRef{}, fmt.Errorf("post message in %s: %w", where.Channel, err)
			}
		}
		if i == 0 {
			ref.ID = ts
		}
	}
	return ref, nil
}

// postPartOnce posts one part of a keyed message, making sure that a
// retry after a lost answer or a server error does not post it twice.
func (a *Adapter) postPartOnce(ctx context.Context, where bot.ThreadRef, md, key string, part, parts int) (string, error) {
	opts := messageOptions(content{md: md})
	if where.Thread != "" {
		opts = append(opts, slack.MsgOptionTS(where.Thread))
	}
	if key != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: draftEvent,
			EventPayload: map[string]any{"draft_id": key, "part": part, "parts": parts}}))
	}
	var ts string
	tried := false
	build := func(ctx context.Context) error {
		if tried && key != "" {
			if have, _, err := a.postedParts(ctx, where, key); err == nil && have[part] != "" {
				ts = have[part]
				return nil
			}
		}
		tried = true
		var err error
		_, ts, err = a.api.PostMessageContext(ctx, where.Channel, opts...)
		return err
	}
	for attempt := 1; ; attempt++ {
		err := a.call(ctx, a.pacing.channel(where.Channel).post, "chat.postMessage", build)
		var lost *url.Error
		if err == nil || key == "" || !errors.As(err, &lost) || attempt > maxServerRetries || ctx.Err() != nil {
			return ts, err
		}
		a.log.Debug("answer to chat.postMessage lost, looking for the message", "err", err)
	}
}

// FindPosted looks for the message posted with key in where's thread,
// from the metadata of the bot's replies there. It reports a message
// found only once every part of it is there.
func (a *Adapter) FindPosted(ctx context.Context, where bot.ThreadRef, key string) (bot.MsgRef, bool, error) {
	have, parts, err := a.postedParts(ctx, where, key)
	if err != nil {
		return bot.MsgRef{}, false, err
	}
	if parts == 0 || len(have) < parts {
		return bot.MsgRef{}, false, nil
	}
	return bot.MsgRef{Platform: platformName, Channel: where.Channel, ID: have[0]}, true, nil
}

// postedParts returns the ts of each part of the message posted with key
// in where's thread, and how many parts it has (0 when none was found).
func (a *Adapter) postedParts(ctx context.Context, where bot.ThreadRef, key string) (map[int]string, int, error) {
	self, err := a.identity(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("find posted message: %w", err)
	}
	have, parts := map[int]string{}, 0
	cursor := ""
	for page := 0; page < maxReplyPages; page++ {
		msgs, next, err := a.replies(ctx, where, cursor)
		if err != nil {
			return nil, 0, fmt.Errorf("find posted message in %s: %w", where.Channel, err)
		}
		for _, m := range msgs {
			if part, n, ok := draftPart(self, m, key); ok {
				have[part], parts = m.Timestamp, n
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return have, parts, nil
}

// replies reads one page of where's thread with message metadata; a
// conversation without a thread is read from its history.
func (a *Adapter) replies(ctx context.Context, where bot.ThreadRef, cursor string) ([]slack.Message, string, error) {
	var msgs []slack.Message
	var next string
	err := a.call(ctx, a.pacing.workspace(where.Workspace).history, "conversations.replies", func(ctx context.Context) error {
		var err error
		if where.Thread == "" {
			var resp *slack.GetConversationHistoryResponse
			resp, err = a.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
				ChannelID: where.Channel, Cursor: cursor, Limit: repliesPage, IncludeAllMetadata: true})
			if err == nil {
				msgs, next = resp.Messages, resp.ResponseMetaData.NextCursor
			}
			return err
		}
		msgs, _, next, err = a.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: where.Channel, Timestamp: where.Thread, Cursor: cursor, Limit: repliesPage, IncludeAllMetadata: true})
		return err
	})
	if slackError(err) == "thread_not_found" {
		return nil, "", nil
	}
	return msgs, next, err
}

// draftPart reads the draft metadata of one of the bot's messages.
func draftPart(self identity, m slack.Message, key string) (part, parts int, ok bool) {
	mine := (self.BotID != "" && m.BotID == self.BotID) || (self.UserID != "" && m.User == self.UserID)
	if !mine || m.Metadata.EventType != draftEvent || m.Metadata.EventPayload["draft_id"] != key {
		return 0, 0, false
	}
	part, parts = 0, 1
	if v, isNum := m.Metadata.EventPayload["part"].(float64); isNum {
		part = int(v)
	}
	if v, isNum := m.Metadata.EventPayload["parts"].(float64); isNum && v >= 1 {
		parts = int(v)
	}
	return part, parts, true
}
