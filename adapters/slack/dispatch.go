package slack

import (
	"context"
	"errors"
	"fmt"

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
	ev.User.Name = a.cachedName(ev.User.ID)
	ref := a.host.Load()
	if ref == nil {
		return errNoHandler
	}
	if err := ref.Events.HandleEvent(ctx, ev); err != nil {
		return fmt.Errorf("handle event %s: %w", cb.EventID, err)
	}
	return nil
}
