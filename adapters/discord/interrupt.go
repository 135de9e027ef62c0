package discord

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
	"kimibot/conversation"
)

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
