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

// Notices shown privately to a reviewer.
const (
	notAllowedText   = "You are not allowed to review drafts here."
	unknownDraftText = "This draft no longer exists."
	decidedText      = "This draft was already decided (%s)."
	failedText       = "Sorry, that did not work. Please try again."
	emptyEditText    = "The reply cannot be empty."
)

// Errors for requests that Run's host cannot answer.
var (
	errNoCommands = errors.New("slack: slash commands are off")
	errNoDesk     = errors.New("slack: review cards are off")
)

// interaction is what an interactivity payload asks for: the payload to
// acknowledge it with (nil for none) and the work to do after.
type interaction struct {
	ack  any
	task func(ctx context.Context)
}

// onInteraction reads a block_actions or view_submission payload. Other
// payloads, and buttons that are not the bot's, are acknowledged and
// otherwise ignored.
func (a *Adapter) onInteraction(cb slack.InteractionCallback) (interaction, error) {
	ref := a.host.Load()
	if ref == nil {
		return interaction{}, errNoHandler
	}
	desk := ref.Desk
	if desk == nil {
		return interaction{}, errNoDesk
	}
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, act := range cb.ActionCallback.BlockActions {
			if kind, ok := buttonKinds[act.ActionID]; ok {
				act := *act
				return interaction{task: func(ctx context.Context) { a.onButton(ctx, desk, cb, kind, act.Value) }}, nil
			}
		}
	case slack.InteractionTypeViewSubmission:
		return a.onSubmission(desk, cb), nil
	}
	a.log.Debug("slack interaction ignored", "type", cb.Type, "user", cb.User.ID)
	return interaction{}, nil
}

// onButton handles a click on a card: Approve decides at once; the other
// buttons open their modal for approvers.
func (a *Adapter) onButton(ctx context.Context, desk bot.Desk, cb slack.InteractionCallback, kind bot.ActionKind, draftID string) {
	channel := cb.Channel.ID
	if channel == "" {
		channel = cb.Container.ChannelID
	}
	if kind == bot.ActionApprove {
		act := bot.Action{Kind: kind, DraftID: draftID, User: a.actor(ctx, cb.User), Platform: platformName,
			DedupeKey: "slack:interaction:" + cb.TriggerID}
		a.decide(ctx, desk, channel, act)
		return
	}
	user := bot.User{ID: cb.User.ID, Name: cb.User.Name}
	notice := a.openReview(ctx, desk, cb.TriggerID, kind, draftID, user)
	if notice != "" {
		a.notify(ctx, channel, user.ID, notice)
	}
}

// openReview opens the modal of an Edit, Regenerate or Reject click, or
// returns the notice that explains why not.
func (a *Adapter) openReview(ctx context.Context, desk bot.Desk, trigger string, kind bot.ActionKind, draftID string, u bot.User) string {
	if !desk.CanApprove(ctx, platformName, u) {
		return notAllowedText
	}
	d, err := desk.Draft(ctx, draftID)
	switch {
	case errors.Is(err, bot.ErrUnknownDraft):
		return unknownDraftText
	case err != nil:
		a.log.Error("load draft for review", "draft", draftID, "err", err)
		return failedText
	case d.State != conversation.DraftPending:
		return fmt.Sprintf(decidedText, d.State)
	}
	view := reviewModal(kind, d)
	err = a.call(ctx, a.pacing.workspace(a.team()).interact, "views.open", func(ctx context.Context) error {
		_, err := a.api.OpenViewContext(ctx, trigger, view)
		return err
	})
	if err != nil {
		a.log.Error("open review modal", "draft", draftID, "action", kind, "err", err)
		return failedText
	}
	return ""
}

// onSubmission reads a submitted review modal. An empty edit is refused
// in the modal itself; anything else closes the modal and is decided after.
func (a *Adapter) onSubmission(desk bot.Desk, cb slack.InteractionCallback) interaction {
	kind, ok := modalKinds[cb.View.CallbackID]
	if !ok {
		return interaction{}
	}
	text := submitted(cb.View)
	if kind == bot.ActionEdit && strings.TrimSpace(text) == "" {
		return interaction{ack: slack.NewErrorsViewSubmissionResponse(map[string]string{editBlock + "0": emptyEditText})}
	}
	draftID := cb.View.PrivateMetadata
	return interaction{task: func(ctx context.Context) {
		act := bot.Action{Kind: kind, DraftID: draftID, User: a.actor(ctx, cb.User), Platform: platformName,
			Text: text, DedupeKey: "slack:view:" + cb.View.ID + ":" + cb.View.Hash}
		channel := ""
		if d, err := desk.Draft(ctx, draftID); err == nil {
			channel = d.Card.Channel
		}
		a.decide(ctx, desk, channel, act)
	}}
}

// decide hands a reviewer's decision to the engine and tells the reviewer
// privately, in channel, when it is refused.
func (a *Adapter) decide(ctx context.Context, desk bot.Desk, channel string, act bot.Action) {
	err := desk.HandleAction(ctx, act)
	notice := ""
	switch {
	case err == nil:
		return
	case errors.Is(err, bot.ErrNotAllowed):
		notice = notAllowedText
	case errors.Is(err, bot.ErrUnknownDraft):
		notice = unknownDraftText
	default:
		a.log.Error("hand review decision to the engine", "draft", act.DraftID, "action", act.Kind, "err", err)
		notice = failedText
	}
	a.notify(ctx, channel, act.User.ID, notice)
}

// actor is the person behind an interaction, named as Slack shows them.
func (a *Adapter) actor(ctx context.Context, u slack.User) bot.User {
	name := a.userName(ctx, u.ID)
	if name == "" {
		name = u.Name
	}
	return bot.User{ID: u.ID, Name: name}
}

// notify shows md to user alone in channel with chat.postEphemeral.
func (a *Adapter) notify(ctx context.Context, channel, user, md string) {
	if channel == "" || user == "" {
		return
	}
	err := a.call(ctx, a.pacing.workspace(a.team()).interact, "chat.postEphemeral", func(ctx context.Context) error {
		_, err := a.api.PostEphemeralContext(ctx, channel, user, messageOptions(content{md: md})...)
		return err
	})
	if err != nil {
		a.log.Warn("post private notice", "channel", channel, "user", user, "err", err)
	}
}
