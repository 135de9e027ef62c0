package bot

import (
	"context"
	"errors"
	"strings"
	"time"

	"kimibot/conversation"
)

// refFromKey rebuilds a ThreadRef from a conversation key.
func refFromKey(k conversation.ThreadKey, dm bool) ThreadRef {
	parts := strings.SplitN(string(k), "/", 4)
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	return ThreadRef{Platform: parts[0], Workspace: parts[1], Channel: parts[2], Thread: parts[3], DM: dm}
}

// process handles one event inside its thread's worker.
func (e *Engine) process(ctx context.Context, key conversation.ThreadKey, ev Event) {
	switch ev.Kind {
	case EventMessage:
		review, routed := e.reviewChannel(ctx, ev.Thread)
		if !routed && !e.follows(ctx, key, ev) {
			return
		}
		if !e.duplicate(ctx, key, ev) {
			e.turn(ctx, key, ev, review)
		}
	case EventAction:
		if !e.duplicate(ctx, key, ev) && ev.Action != nil {
			e.decide(ctx, key, *ev.Action)
		}
	case EventReset:
		if !e.duplicate(ctx, key, ev) {
			e.control(ctx, key, ev, "Starting a new conversation. I have forgotten what came before in this thread.",
				func() error { return e.cfg.Threads.Reset(ctx, key) })
		}
	case EventLeave:
		if !e.duplicate(ctx, key, ev) {
			e.control(ctx, key, ev, "I'll stop following this thread. Mention me to bring me back.",
				func() error { return e.cfg.Threads.SetActive(ctx, key, false) })
		}
	}
}

// duplicate records ev's dedupe keys and reports whether it was seen before.
func (e *Engine) duplicate(ctx context.Context, key conversation.ThreadKey, ev Event) bool {
	if len(ev.DedupeKeys) == 0 {
		return false
	}
	dup, err := e.cfg.Events.MarkProcessed(ctx, e.cfg.Now(), ev.DedupeKeys...)
	if err != nil {
		e.log.Warn("record processed event", "thread", key, "err", err)
	}
	if dup {
		e.log.Debug("duplicate event dropped", "thread", key, "keys", ev.DedupeKeys)
	}
	return dup
}

// follows reports whether the bot should answer ev, re-activating a thread
// it had left when the bot is addressed again.
func (e *Engine) follows(ctx context.Context, key conversation.ThreadKey, ev Event) bool {
	th, err := e.cfg.Threads.Thread(ctx, key)
	switch {
	case errors.Is(err, conversation.ErrNotFound):
		return ev.Addressed
	case err != nil:
		e.log.Warn("load thread state", "thread", key, "err", err)
		return ev.Addressed
	case ev.Addressed && !th.Active:
		if err := e.cfg.Threads.SetActive(ctx, key, true); err != nil {
			e.log.Warn("reactivate thread", "thread", key, "err", err)
		}
		return true
	}
	return ev.Addressed || th.Active
}

// control applies a thread command and confirms it in the thread.
func (e *Engine) control(ctx context.Context, key conversation.ThreadKey, ev Event, confirm string, apply func() error) {
	p, ok := e.platform(ev.Thread.Platform)
	if !ok {
		e.log.Error("event for unknown platform", "platform", ev.Thread.Platform)
		return
	}
	err := apply()
	if err != nil && !errors.Is(err, conversation.ErrNotFound) {
		e.reportFailure(ctx, p, ev, nil, err)
		return
	}
	r, err := p.Reply(ctx, ReplyTarget{Thread: ev.Thread, User: ev.User.ID, Message: ev.Message})
	if err != nil {
		e.log.Error("open reply", "thread", key, "err", err)
		return
	}
	if err := r.Append(ctx, confirm); err != nil {
		e.log.Warn("write confirmation", "thread", key, "err", err)
	}
	if _, err := r.Finish(ctx, Footer{}); err != nil {
		e.log.Warn("finish confirmation", "thread", key, "err", err)
	}
}

// detached returns a context for finishing replies after ctx was cancelled.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
}
