package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"kimibot/conversation"
)

// reconcile finishes drafts left in "sending" by a crash: a reply that
// was posted is found and recorded, one that was not is posted once.
func (k *desk) reconcile(ctx context.Context) {
	if k.drafts == nil {
		return
	}
	drafts, err := k.drafts.DraftsByState(ctx, conversation.DraftSending)
	if err != nil {
		k.log.Error("list drafts being sent", "err", err)
		return
	}
	for _, d := range drafts {
		var err error
		if d.Kind == conversation.DraftTool {
			err = k.e.dispatch.enqueue(d.Thread, job{ev: Event{Kind: EventAction, Thread: refFromKey(d.Thread),
				Action: &Action{Kind: actionResume, DraftID: d.ID}}})
		} else {
			err = k.e.dispatch.enqueue(d.Thread, job{ev: Event{Kind: EventAction, Thread: refFromKey(d.Thread),
				Action: &Action{Kind: actionDeliver, DraftID: d.ID}}})
		}
		if err != nil {
			k.log.Error("queue draft reconciliation", "draft", d.ID, "err", err)
		}
	}
}

// Internal actions queued by reconcile.
const (
	actionDeliver ActionKind = "deliver"
	actionResume  ActionKind = "resume"
)

// remind posts one reminder for each draft pending longer than ReminderAfter.
func (k *desk) remind(ctx context.Context) {
	e := k.e
	drafts, err := k.drafts.DraftsByState(ctx, conversation.DraftPending)
	if err != nil {
		k.log.Error("list pending drafts", "err", err)
		return
	}
	now := e.cfg.Now()
	for _, d := range drafts {
		if !d.RemindedAt.IsZero() || now.Sub(d.Created) < e.cfg.ReminderAfter || d.Card.ID == "" {
			continue
		}
		p, ok := e.platform(d.Thread.Platform())
		poster, canPost := p.(Poster)
		if !ok || !canPost {
			continue
		}
		where := k.cardPlace(d)
		where.Thread = d.Card.ID
		text := fmt.Sprintf("Reminder: this %s from %s has waited %s for review.", strings.ToLower(kindText(d)),
			nameOr(d.CustomerName, d.Customer), now.Sub(d.Created).Round(time.Minute))
		if _, err := poster.Post(ctx, where, text, ""); err != nil {
			e.log.Warn("post draft reminder", "draft", d.ID, "err", err)
			continue
		}
		_, err := k.drafts.UpdateDraft(ctx, d.ID, func(x *conversation.Draft) (*conversation.AuditRecord, error) {
			x.RemindedAt = now
			return nil, nil
		})
		if err != nil {
			e.log.Warn("record draft reminder", "draft", d.ID, "err", err)
		}
	}
}

// supervise sends reminders until ctx ends.
func (k *desk) supervise(ctx context.Context, every time.Duration) {
	if k.drafts == nil {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		k.remind(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
