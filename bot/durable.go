package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"kimibot/conversation"
)

// maxAttempts is how many times the engine starts on a stored event: the
// first time, and once more after a crash or shutdown interrupted it.
const maxAttempts = 2

// Notices for work a restart interrupted.
const (
	interruptedNotice = "⚠️ This answer was interrupted by a restart."
	givenUpNotice     = "I could not answer this message: the bot restarted twice while answering it. " +
		"Please ask again."
)

// inbox keeps every accepted event until it is handled, and after a
// restart finishes what the last run left: replies a crash left
// half-written, and stored events not yet handled. Without an InboxStore
// events are kept in memory only.
type inbox struct {
	e       *Engine
	items   conversation.InboxStore
	replies conversation.ReplyStore
}

// accept stores ev in the inbox, with its dedupe keys, and queues it. A
// duplicate is dropped. Without an inbox the event is only queued.
func (in *inbox) accept(ctx context.Context, key conversation.ThreadKey, ev Event) error {
	if in.items == nil {
		return in.e.dispatch.enqueue(key, job{ev: ev})
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	id := itemID(ev)
	dup, err := in.items.Accept(ctx, conversation.InboxItem{ID: id, Thread: key, DedupeKeys: ev.DedupeKeys,
		Payload: payload, Accepted: in.e.cfg.Now()})
	if err != nil {
		return fmt.Errorf("store event for %s: %w", key, err)
	}
	if dup {
		in.e.log.Debug("duplicate event dropped", "thread", key, "keys", ev.DedupeKeys)
		return nil
	}
	return in.e.dispatch.enqueue(key, job{ev: ev, item: id})
}

// itemID names an event's inbox entry: its first dedupe key, which is
// unique, or else a new reference.
func itemID(ev Event) string {
	if len(ev.DedupeKeys) > 0 {
		return ev.DedupeKeys[0]
	}
	return "ev-" + newRef()
}

// resume queues what a previous run left: replies a crash left
// half-written first, then every stored event not yet handled, in arrival
// order.
func (in *inbox) resume(ctx context.Context) {
	if in.replies != nil {
		open, err := in.replies.OpenReplies(ctx)
		if err != nil {
			in.e.log.Error("list replies left open", "err", err)
		}
		for i := range open {
			in.requeue(open[i].Thread, job{interrupted: &open[i]})
		}
	}
	if in.items != nil {
		items, err := in.items.Pending(ctx)
		if err != nil {
			in.e.log.Error("list stored events", "err", err)
		}
		for _, it := range items {
			var ev Event
			if err := json.Unmarshal(it.Payload, &ev); err != nil {
				in.e.log.Error("decode stored event, dropping it", "item", it.ID, "err", err)
				in.settle(ctx, it.ID)
				continue
			}
			in.requeue(it.Thread, job{ev: ev, item: it.ID})
		}
	}
}

// requeue queues a job found at start.
func (in *inbox) requeue(key conversation.ThreadKey, j job) {
	if err := in.e.dispatch.enqueue(key, j); err != nil {
		in.e.log.Error("queue work left by the last run", "thread", key, "err", err)
	}
}

// begin counts an attempt at a stored event. It reports false when the
// event is gone or was tried too often; the user is then told, and the
// event is settled.
func (in *inbox) begin(ctx context.Context, key conversation.ThreadKey, j job) bool {
	if j.item == "" {
		return true
	}
	attempt, err := in.items.Begin(ctx, j.item)
	switch {
	case errors.Is(err, conversation.ErrNotFound):
		return false
	case err != nil:
		in.e.log.Warn("count attempt at stored event", "thread", key, "item", j.item, "err", err)
	case attempt > maxAttempts:
		in.e.log.Error("giving up on an event interrupted twice", "thread", key, "item", j.item)
		in.giveUp(ctx, j.ev)
		in.settle(ctx, j.item)
		return false
	}
	return true
}

// giveUp tells the user that their message will not be answered.
func (in *inbox) giveUp(ctx context.Context, ev Event) {
	p, ok := in.e.platform(ev.Thread.Platform)
	if !ok || ev.Kind != EventMessage {
		return
	}
	r, err := p.Reply(ctx, ReplyTarget{Thread: ev.Thread, User: ev.User.ID, Message: ev.Message})
	if err != nil {
		in.e.log.Error("open reply for notice", "err", err)
		return
	}
	if err := r.Fail(ctx, givenUpNotice); err != nil {
		in.e.log.Error("show notice", "err", err)
	}
}

// settle removes a handled event from the inbox.
func (in *inbox) settle(ctx context.Context, item string) {
	if item == "" || in.items == nil {
		return
	}
	if err := in.items.Done(context.WithoutCancel(ctx), item); err != nil {
		in.e.log.Error("remove handled event", "item", item, "err", err)
	}
}

// finishInterrupted ends a reply a crash left half-written: its last
// message gets a notice and its stream is stopped. The event it answered
// is still stored and is answered again after this.
func (in *inbox) finishInterrupted(ctx context.Context, r conversation.ReplyRecord) {
	p, ok := in.e.platform(r.Platform)
	ir, can := p.(Interrupter)
	if ok && can && len(r.Refs) > 0 {
		last := r.Refs[len(r.Refs)-1]
		if err := ir.Interrupt(ctx, refFromKey(r.Thread), last, r.Mode, interruptedNotice); err != nil {
			in.e.log.Warn("finish interrupted reply", "thread", r.Thread, "message", last.ID, "err", err)
		}
	}
	if err := in.replies.CloseReply(ctx, r.ID); err != nil {
		in.e.log.Warn("close interrupted reply", "thread", r.Thread, "err", err)
	}
	in.e.log.Info("finished a reply interrupted by a restart", "thread", r.Thread, "messages", len(r.Refs))
}
