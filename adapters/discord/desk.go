package discord

import (
	"context"
	"fmt"
	"sync"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
)

// codeAlreadyAcknowledged is Discord's error for a second initial response.
const codeAlreadyAcknowledged = 40060

// served reports whether h answers in: one of the adapter's commands
// (with commands on), or a button or form of a review card (with the desk).
func served(h bot.Host, in Interaction) bool {
	switch in.Kind {
	case InteractionCommand, InteractionAutocomplete:
		_, ok := bot.LookupCommand(in.Command)
		return ok && h.Commands != nil
	case InteractionComponent, InteractionModalSubmit:
		_, _, ok := parseCustomID(in.CustomID)
		return ok && h.Desk != nil
	}
	return false
}

// serve answers an interaction through the host's commands or desk.
func (a *Adapter) serve(ctx context.Context, h bot.Host, i *discordgo.Interaction, in Interaction) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("interaction panicked", "interaction", i.ID, "err", fmt.Errorf("%v", p))
		}
	}()
	switch in.Kind {
	case InteractionCommand:
		a.runCommand(ctx, h.Commands, i, in)
	case InteractionAutocomplete:
		a.autocomplete(ctx, h.Commands, i, in)
	case InteractionComponent:
		a.onCardButton(ctx, h.Desk, i, in)
	case InteractionModalSubmit:
		a.onCardForm(ctx, h.Desk, i, in)
	}
}

// ack sends an interaction's initial response and reports whether the
// interaction is acknowledged. Already acknowledged counts: it is what a
// retried request gets when the first answer arrived but its response was
// lost.
func (a *Adapter) ack(ctx context.Context, i *discordgo.Interaction, resp *discordgo.InteractionResponse) bool {
	err := a.respond(ctx, i, resp)
	if _, code := restCode(err); err == nil || code == codeAlreadyAcknowledged {
		return true
	}
	a.log.Error("acknowledge interaction", "interaction", i.ID, "type", resp.Type, "err", err)
	return false
}

// privately is an immediate answer only the user sees.
func privately(text string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: text, Flags: discordgo.MessageFlagsEphemeral, AllowedMentions: noPings(false)}}
}

// idSet remembers recent IDs; past its bound it starts over.
type idSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

// add records id and reports whether it was new.
func (s *idSet) add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[id]; ok {
		return false
	}
	if s.m == nil || len(s.m) >= 4096 {
		s.m = map[string]struct{}{}
	}
	s.m[id] = struct{}{}
	return true
}
