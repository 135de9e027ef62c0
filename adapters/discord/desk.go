package discord

import (
	"context"
	"fmt"
	"sync"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
	"kimibot/conversation"
)

// Desk is the engine side of slash commands and review cards. When the
// handler given to Run implements it, as *bot.Engine does, the adapter
// registers its application commands and answers them and the buttons and
// forms of review cards through the desk.
type Desk interface {
	Command(ctx context.Context, c bot.Command) bot.CommandReply
	ModelChoices(ctx context.Context, typed string, limit int) []string
	CanApprove(ctx context.Context, platform string, u bot.User) bool
	HandleAction(ctx context.Context, a bot.Action) error
	Draft(ctx context.Context, id string) (conversation.Draft, error)
}

var _ Desk = (*bot.Engine)(nil)

// codeAlreadyAcknowledged is Discord's error for a second initial response.
const codeAlreadyAcknowledged = 40060

func (a *Adapter) setDesk(d Desk) {
	a.interMu.Lock()
	defer a.interMu.Unlock()
	a.desk = d
}

func (a *Adapter) deskOf() Desk {
	a.interMu.RLock()
	defer a.interMu.RUnlock()
	return a.desk
}

// deskInteraction reports whether the desk answers in: one of the
// adapter's commands, or a button or form of a review card.
func deskInteraction(in Interaction) bool {
	switch in.Kind {
	case InteractionCommand, InteractionAutocomplete:
		return isDeskCommand(in.Command)
	case InteractionComponent, InteractionModalSubmit:
		_, _, ok := parseCustomID(in.CustomID)
		return ok
	}
	return false
}

// serveDesk answers an interaction through the desk.
func (a *Adapter) serveDesk(ctx context.Context, d Desk, i *discordgo.Interaction, in Interaction) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handlerTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("desk interaction panicked", "interaction", i.ID, "err", fmt.Errorf("%v", p))
		}
	}()
	switch in.Kind {
	case InteractionCommand:
		a.runCommand(ctx, d, i, in)
	case InteractionAutocomplete:
		a.autocomplete(ctx, d, i, in)
	case InteractionComponent:
		a.onCardButton(ctx, d, i, in)
	case InteractionModalSubmit:
		a.onCardForm(ctx, d, i, in)
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
