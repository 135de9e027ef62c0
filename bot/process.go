package bot

import (
	"context"
	"errors"
	"strings"
	"time"

	"kimibot/conversation"
)

// refFromKey rebuilds a ThreadRef from a conversation key; the key does
// not say whether the conversation is a DM.
func refFromKey(k conversation.ThreadKey) ThreadRef {
	parts := strings.SplitN(string(k), "/", 4)
	for len(parts) < 4 {
		parts = append(parts, "")
	}
	return ThreadRef{Platform: parts[0], Workspace: parts[1], Channel: parts[2], Thread: parts[3]}
}

// process handles one job inside its thread's worker. A stored event is
// removed from the inbox once handled, unless a shutdown interrupted it:
// then the next start answers it again.
func (e *Engine) process(ctx context.Context, key conversation.ThreadKey, j job) {
	defer e.leases.untake(j)
	release, ok := e.leases.holdThread(ctx, key)
	if !ok {
		return
	}
	defer release()
	if j.interrupted != nil {
		if e.leases.stillOpen(ctx, *j.interrupted) {
			e.inbox.finishInterrupted(ctx, *j.interrupted)
		}
		return
	}
	if !e.inbox.begin(ctx, key, j) {
		return
	}
	if e.handle(ctx, key, j) == settleItem {
		e.inbox.settle(ctx, j.item)
	}
}

// ending says what becomes of a handled job's inbox entry.
type ending int

const (
	// settleItem: the job is handled and its entry is to be removed.
	settleItem ending = iota
	// keepItem: a shutdown interrupted the job; the next start takes it again.
	keepItem
	// itemSettled: the turn removed the entry together with its answer.
	itemSettled
)

// handle runs one event and says what becomes of its inbox entry.
func (e *Engine) handle(ctx context.Context, key conversation.ThreadKey, j job) ending {
	ev := j.ev
	switch ev.Kind {
	case EventMessage:
		dest, routed := e.desk.route(ctx, ev.Thread)
		if !routed && !e.follows(ctx, key, ev) {
			return settleItem
		}
		if !e.duplicate(ctx, key, j) {
			return e.answer(ctx, key, j, dest)
		}
	case EventAction:
		if !e.duplicate(ctx, key, j) && ev.Action != nil {
			e.desk.decide(ctx, key, *ev.Action)
		}
	case EventReset:
		if !e.duplicate(ctx, key, j) {
			e.control(ctx, key, ev, "Starting a new conversation. I have forgotten what came before in this thread.",
				func() error { return e.cfg.Threads.Reset(ctx, key) })
		}
	case EventLeave:
		if !e.duplicate(ctx, key, j) {
			e.control(ctx, key, ev, "I'll stop following this thread. Mention me to bring me back.",
				func() error { return e.cfg.Threads.SetActive(ctx, key, false) })
		}
	}
	return settleItem
}

// answer runs a turn for the user message of j and says what becomes of
// its inbox entry.
func (e *Engine) answer(ctx context.Context, key conversation.ThreadKey, j job, dest destination) ending {
	p, ok := e.platform(j.ev.Thread.Platform)
	if !ok {
		e.log.Error("event for unknown platform", "platform", j.ev.Thread.Platform, "err", errNoPlatform)
		return settleItem
	}
	t := e.newTurn(ctx, key, j.ev, p, dest)
	t.item = j.item
	err := t.drive(ctx, t.ask)
	switch {
	case t.settled:
		return itemSettled
	case err != nil && errors.Is(context.Cause(ctx), errShutdown):
		return keepItem
	}
	return settleItem
}

// mayConcern reports whether an unaddressed message is in a thread the bot
// follows or a support channel; chatter elsewhere starts no worker.
func (e *Engine) mayConcern(ctx context.Context, key conversation.ThreadKey, ev Event) bool {
	if _, routed := e.desk.route(ctx, ev.Thread); routed {
		return true
	}
	th, err := e.cfg.Threads.Thread(ctx, key)
	return err != nil && !errors.Is(err, conversation.ErrNotFound) || err == nil && th.Active
}

// threadOf finds the conversation of the message ev replies to.
func (e *Engine) threadOf(ctx context.Context, ev Event) (conversation.ThreadKey, bool) {
	ref := MsgRef{Platform: ev.Thread.Platform, Channel: ev.Thread.Channel, ID: ev.InReplyTo}
	k, err := e.cfg.Threads.ThreadByRef(ctx, ref)
	if err != nil {
		if !errors.Is(err, conversation.ErrNotFound) {
			e.log.Warn("look up replied-to message", "err", err)
		}
		return "", false
	}
	return k, true
}

// duplicate records the dedupe keys of j's event and reports whether it
// was seen before. A stored event was checked when the inbox accepted it.
func (e *Engine) duplicate(ctx context.Context, key conversation.ThreadKey, j job) bool {
	ev := j.ev
	if len(ev.DedupeKeys) == 0 || j.item != "" {
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
