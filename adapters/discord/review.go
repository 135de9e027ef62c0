package discord

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
	"kimibot/conversation"
)

// Notices shown privately to reviewers.
const (
	noticeNotAllowed   = "You are not allowed to review drafts here."
	noticeUnknownDraft = "This draft no longer exists."
	noticeDecided      = "This draft was already decided."
	noticeEmptyEdit    = "The reply cannot be empty."
	noticeFailed       = "Something went wrong, please try again."
	noticeRecorded     = "Your decision is recorded."
)

// The text inputs of the review forms.
const (
	fieldText        = "text"
	fieldReason      = "reason"
	fieldInstruction = "instruction"
	// maxNoteLen bounds a reason or an instruction.
	maxNoteLen = 1000
)

// beforeAck bounds the work done before the initial response, well
// within Discord's 3 s.
const beforeAck = 2 * time.Second

// customIDPrefix starts the custom IDs of review card buttons and forms:
// "kimi:<action>:<draft ID>".
const customIDPrefix = "kimi"

func cardCustomID(kind bot.ActionKind, draftID string) string {
	return customIDPrefix + ":" + string(kind) + ":" + draftID
}

// parseCustomID reads a review card button's or form's custom ID.
func parseCustomID(s string) (bot.ActionKind, string, bool) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] != customIDPrefix || parts[2] == "" {
		return "", "", false
	}
	switch k := bot.ActionKind(parts[1]); k {
	case bot.ActionApprove, bot.ActionEdit, bot.ActionRegenerate, bot.ActionReject:
		return k, parts[2], true
	}
	return "", "", false
}

// onCardButton answers a click on a review card: Approve is acknowledged
// at once and handed to the engine; Edit, Regenerate and Reject open
// their forms. Users who may not review get a private notice.
func (a *Adapter) onCardButton(ctx context.Context, d bot.Desk, i *discordgo.Interaction, in Interaction) {
	kind, id, _ := parseCustomID(in.CustomID)
	actx, cancel := context.WithTimeout(ctx, beforeAck)
	defer cancel()
	if !d.CanApprove(actx, a.Name(), in.User) {
		a.ack(ctx, i, privately(noticeNotAllowed))
		return
	}
	if kind == bot.ActionApprove {
		update := discordgo.InteractionResponseDeferredMessageUpdate
		if a.ack(ctx, i, &discordgo.InteractionResponse{Type: update}) {
			a.act(ctx, d, i, update, bot.Action{Kind: kind, DraftID: id, User: in.User, Platform: a.Name(), DedupeKey: in.ID})
		}
		return
	}
	draft, err := d.Draft(actx, id)
	switch {
	case errors.Is(err, bot.ErrUnknownDraft):
		a.ack(ctx, i, privately(noticeUnknownDraft))
	case err != nil:
		a.log.Error("load draft for review form", "draft", id, "err", err)
		a.ack(ctx, i, privately(noticeFailed))
	case draft.State != conversation.DraftPending:
		a.ack(ctx, i, privately(noticeDecided))
	default:
		a.ack(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseModal, Data: modalData(reviewForm(kind, draft))})
	}
}

// reviewForm is the form of an action: the editable reply for Edit, an
// optional reason or instruction for Reject and Regenerate.
func reviewForm(kind bot.ActionKind, d conversation.Draft) *Modal {
	m := &Modal{CustomID: cardCustomID(kind, d.ID)}
	switch kind {
	case bot.ActionEdit:
		label, text := "Reply to the customer", discordText.Count.Clip(d.Text, maxTextInput)
		if text != d.Text {
			label = "Reply (cut to 4,000 characters)"
		}
		m.Title = "Edit the reply"
		m.Inputs = []TextInput{{CustomID: fieldText, Label: label, Value: text, Paragraph: true, Required: true,
			MaxLength: maxTextInput}}
	case bot.ActionReject:
		m.Title = "Reject the draft"
		m.Inputs = []TextInput{{CustomID: fieldReason, Label: "Reason (optional)", Paragraph: true,
			Placeholder: "Why this should not be sent", MaxLength: maxNoteLen}}
	default:
		m.Title = "Regenerate the draft"
		m.Inputs = []TextInput{{CustomID: fieldInstruction, Label: "Instruction (optional)", Paragraph: true,
			Placeholder: "For example: shorter, and give the tracking number", MaxLength: maxNoteLen}}
	}
	return m
}

// formField is the text input that carries an action's text.
func formField(kind bot.ActionKind) string {
	switch kind {
	case bot.ActionEdit:
		return fieldText
	case bot.ActionReject:
		return fieldReason
	}
	return fieldInstruction
}

// onCardForm acknowledges a submitted review form and hands the decision
// to the engine.
func (a *Adapter) onCardForm(ctx context.Context, d bot.Desk, i *discordgo.Interaction, in Interaction) {
	kind, id, _ := parseCustomID(in.CustomID)
	deferred := deferType(in)
	resp := &discordgo.InteractionResponse{Type: deferred}
	if deferred == discordgo.InteractionResponseDeferredChannelMessageWithSource {
		resp.Data = &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}
	}
	if !a.ack(ctx, i, resp) {
		return
	}
	text := strings.TrimSpace(in.Fields[formField(kind)])
	if kind == bot.ActionEdit && text == "" {
		a.notice(ctx, i, deferred, noticeEmptyEdit)
		return
	}
	a.act(ctx, d, i, deferred, bot.Action{Kind: kind, DraftID: id, User: in.User, Platform: a.Name(), Text: text, DedupeKey: in.ID})
}

// act hands a decision to the engine, which redraws the card, and tells
// the reviewer privately when it was refused.
func (a *Adapter) act(ctx context.Context, d bot.Desk, i *discordgo.Interaction, deferred discordgo.InteractionResponseType, act bot.Action) {
	err := d.HandleAction(ctx, act)
	switch {
	case err == nil && deferred == discordgo.InteractionResponseDeferredMessageUpdate:
	case err == nil:
		a.notice(ctx, i, deferred, noticeRecorded)
	case errors.Is(err, bot.ErrNotAllowed):
		a.notice(ctx, i, deferred, noticeNotAllowed)
	case errors.Is(err, bot.ErrUnknownDraft):
		a.notice(ctx, i, deferred, noticeUnknownDraft)
	default:
		a.log.Error("hand review decision to the engine", "draft", act.DraftID, "action", act.Kind, "err", err)
		a.notice(ctx, i, deferred, noticeFailed)
	}
}

// notice tells the user something privately after a deferred response: as
// a follow-up after a deferred update, else in place of the placeholder.
func (a *Adapter) notice(ctx context.Context, i *discordgo.Interaction, deferred discordgo.InteractionResponseType, text string) {
	var err error
	if deferred == discordgo.InteractionResponseDeferredMessageUpdate {
		err = a.followups(ctx, i, Response{Content: text, Ephemeral: true})
	} else {
		err = a.editOriginal(ctx, i, Response{Content: text, Ephemeral: true})
	}
	if err != nil {
		a.log.Error("send review notice", "interaction", i.ID, "err", err)
	}
}
