package slack

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// The acknowledgement paths. Socket Mode and HTTP both end here, so every
// kind of delivery is translated, handed to the engine (which only queues
// it) and acknowledged in one place, before any slow work.

// errNoHandler means an event came before Run gave the adapter a handler.
var errNoHandler = errors.New("slack: not running yet")

// onEventsAPI handles one Events API payload. It returns an error only when
// Slack should deliver the event again.
func (a *Adapter) onEventsAPI(ctx context.Context, outer slackevents.EventsAPIEvent) error {
	switch outer.Type {
	case slackevents.CallbackEvent:
	case slackevents.AppRateLimited:
		a.log.Warn("slack is rate limiting this app's events", "team", outer.TeamID)
		return nil
	default:
		return nil
	}
	cb, ok := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		return nil
	}
	self, err := a.identity(ctx)
	if err != nil {
		return fmt.Errorf("wait for identity: %w", err)
	}
	ev, ok := translateCallback(self, cb, outer.InnerEvent)
	if !ok {
		a.log.Debug("slack event ignored", "type", outer.InnerEvent.Type, "event_id", cb.EventID)
		return nil
	}
	ref := a.handler.Load()
	if ref == nil {
		return errNoHandler
	}
	if err := ref.h.HandleEvent(ctx, ev); err != nil {
		return fmt.Errorf("handle event %s: %w", cb.EventID, err)
	}
	return nil
}

// commandResponse is the body that acknowledges a slash command.
type commandResponse struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// onCommand handles a slash command and returns its ephemeral answer.
func (a *Adapter) onCommand(ctx context.Context, cmd slack.SlashCommand) (commandResponse, error) {
	ev, ok, text := translateCommand(cmd)
	resp := commandResponse{ResponseType: "ephemeral", Text: text}
	if !ok {
		return resp, nil
	}
	ref := a.handler.Load()
	if ref == nil {
		return resp, errNoHandler
	}
	if err := ref.h.HandleEvent(ctx, ev); err != nil {
		return resp, fmt.Errorf("handle %s %s: %w", cmd.Command, cmd.Text, err)
	}
	return resp, nil
}

// onInteraction acknowledges an interactivity payload (buttons, modals).
// The adapter does not act on any yet.
func (a *Adapter) onInteraction(_ context.Context, cb slack.InteractionCallback) error {
	a.log.Debug("slack interaction received", "type", cb.Type, "user", cb.User.ID)
	return nil
}
