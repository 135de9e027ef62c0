package slack

import (
	"context"
	"encoding/json"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"kimibot/internal/tasks"
)

// runSocketMode keeps a Socket Mode connection until ctx ends. slack-go
// reconnects by itself on Slack's disconnect requests (refresh_requested,
// warning) and retries failed connects with backoff; when it gives up, the
// adapter starts it again after a pause of its own, unless the app token is
// refused.
func (a *Adapter) runSocketMode(ctx context.Context) error {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		started := time.Now()
		err := a.runSocketOnce(ctx, socketmode.New(a.api))
		a.ready.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if fatalAuth(err) {
			return err
		}
		if time.Since(started) > time.Minute {
			attempt = 0
		}
		wait := backoff(attempt, time.Second, time.Minute)
		a.log.Warn("socket mode stopped, reconnecting", "err", err, "in", wait)
		if tasks.Sleep(ctx, wait) != nil {
			return nil
		}
	}
	return nil
}

// runSocketOnce runs one slack-go Socket Mode client and answers its events.
func (a *Adapter) runSocketOnce(ctx context.Context, sm *socketmode.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			return err
		case ev := <-sm.Events:
			a.onSocketEvent(ctx, sm, ev)
		}
	}
}

// onSocketEvent handles one event of the Socket Mode client: connection
// changes, and envelopes, which are acknowledged as soon as they are queued.
func (a *Adapter) onSocketEvent(ctx context.Context, sm *socketmode.Client, ev socketmode.Event) {
	switch ev.Type {
	case socketmode.EventTypeConnecting:
		a.ready.Store(false)
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		a.ready.Store(true)
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		a.ready.Store(false)
		if ctx.Err() == nil {
			a.log.Warn("socket mode connection failed", "type", ev.Type, "detail", ev.Data)
		}
	case socketmode.EventTypeEventsAPI:
		outer, _ := ev.Data.(slackevents.EventsAPIEvent)
		if err := a.onEventsAPI(ctx, outer); err != nil {
			// No ack: Slack delivers the envelope again.
			a.log.Warn("slack event not accepted", "err", err, "envelope", ev.Request.EnvelopeID)
			return
		}
		a.ack(ctx, sm, ev.Request, nil)
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive:
		a.onSocketRequest(ctx, sm, ev)
	case socketmode.EventTypeErrorBadMessage:
		a.ackUnreadable(ctx, sm, ev.Data)
	}
}

// onSocketRequest answers a slash command or an interaction: it is
// acknowledged at once, and the work it asks for starts after the ack.
func (a *Adapter) onSocketRequest(ctx context.Context, sm *socketmode.Client, ev socketmode.Event) {
	var in interaction
	var err error
	switch data := ev.Data.(type) {
	case slack.SlashCommand:
		in.task, err = a.commandTask(data)
	case slack.InteractionCallback:
		in, err = a.onInteraction(data)
	}
	if err != nil {
		// No ack: Slack delivers the request again.
		a.log.Warn("slack request not accepted", "err", err, "type", ev.Type)
		return
	}
	start := a.hold(in.task)
	a.ack(ctx, sm, ev.Request, in.ack)
	start()
}

func (a *Adapter) ack(ctx context.Context, sm *socketmode.Client, req *socketmode.Request, payload any) {
	if req == nil {
		return
	}
	if err := sm.AckCtx(ctx, req.EnvelopeID, payload); err != nil {
		a.log.Warn("socket mode ack failed", "err", err, "envelope", req.EnvelopeID)
	}
}

// ackUnreadable acknowledges an envelope slack-go could not decode, such
// as an event type it does not know, so Slack does not send it again.
func (a *Adapter) ackUnreadable(ctx context.Context, sm *socketmode.Client, data any) {
	bad, ok := data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var env struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if json.Unmarshal(bad.Message, &env) != nil || env.EnvelopeID == "" {
		return
	}
	a.log.Debug("unreadable socket mode envelope acknowledged", "err", bad.Cause, "envelope", env.EnvelopeID)
	a.ack(ctx, sm, &socketmode.Request{EnvelopeID: env.EnvelopeID}, nil)
}
