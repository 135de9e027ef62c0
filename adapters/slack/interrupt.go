package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"kimibot/bot"
	"kimibot/conversation"
)

var _ bot.Interrupter = (*Adapter)(nil)

// Interrupt ends a reply a crash left half-written: a stream is stopped
// with the notice as its last text; a message, or a stream Slack already
// closed, is edited to show the notice after its text.
func (a *Adapter) Interrupt(ctx context.Context, where bot.ThreadRef, ref bot.MsgRef, mode bot.ReplyMode, notice string) error {
	line := errorLine(notice)
	ws := a.pacing.workspace(where.Workspace)
	if mode == conversation.ReplyModeStream {
		err := a.call(ctx, ws.stop, "chat.stopStream", func(ctx context.Context) error {
			return a.stopStream(ctx, ref.Channel, ref.ID, "\n\n"+line, "")
		})
		if err == nil {
			return nil
		}
		a.log.Info("stop interrupted stream, editing it instead", "ts", ref.ID, "err", err)
	}
	md, err := a.shown(ctx, where, ref.ID)
	if err != nil {
		return fmt.Errorf("read interrupted reply %s: %w", ref.ID, err)
	}
	md = strings.TrimRight(withoutStatus(md), "\n") + "\n\n" + line
	return a.call(ctx, ws.update, "chat.update", func(ctx context.Context) error {
		return a.updateMessage(ctx, ref.Channel, ref.ID, content{md: slackText.Count.Clip(md, slackText.Limit)})
	})
}

// errMessageGone means a message was not found in its thread.
var errMessageGone = errors.New("message not found")

// shown returns the Markdown a message of the bot shows: its markdown
// block, or its text.
func (a *Adapter) shown(ctx context.Context, where bot.ThreadRef, ts string) (string, error) {
	cursor := ""
	for page := 0; page < maxReplyPages; page++ {
		msgs, next, err := a.replies(ctx, where, cursor)
		if err != nil {
			return "", err
		}
		for _, m := range msgs {
			if m.Timestamp == ts {
				return messageMarkdown(m), nil
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return "", errMessageGone
}

// messageMarkdown is the Markdown of a message: its markdown blocks, or
// its text when it has none.
func messageMarkdown(m slack.Message) string {
	var parts []string
	for _, b := range m.Blocks.BlockSet {
		if mb, ok := b.(*slack.MarkdownBlock); ok {
			parts = append(parts, mb.Text)
		}
	}
	if len(parts) == 0 {
		return m.Text
	}
	return strings.Join(parts, "\n")
}

// withoutStatus drops a status line (see statusLine) that ends md.
func withoutStatus(md string) string {
	i := strings.LastIndexByte(md, '\n')
	if last := md[i+1:]; strings.HasPrefix(last, "_") && strings.HasSuffix(last, "…_") {
		return md[:max(i, 0)]
	}
	return md
}
