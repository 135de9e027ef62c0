package bot

import (
	"context"
	"errors"
	"fmt"

	"kimibot/conversation"
)

// decide applies a reviewer's action to a draft, inside the worker of the
// customer's thread so that decisions and turns never interleave.
func (k *desk) decide(ctx context.Context, key conversation.ThreadKey, a Action) {
	var err error
	switch a.Kind {
	case ActionApprove, ActionEdit:
		err = k.approve(ctx, a)
	case ActionReject:
		err = k.reject(ctx, a)
	case ActionRegenerate:
		err = k.regenerate(ctx, key, a)
	case actionDeliver:
		err = k.redeliver(ctx, a.DraftID)
	case actionResume:
		err = k.reresume(ctx, a.DraftID)
	default:
		err = fmt.Errorf("unknown action %q", a.Kind)
	}
	switch {
	case errors.Is(err, conversation.ErrConflict):
		k.log.Info("draft already decided", "draft", a.DraftID, "action", a.Kind, "user", a.User.ID)
	case err != nil:
		k.log.Error("apply draft decision", "ref", newRef(), "draft", a.DraftID, "action", a.Kind, "err", err)
	}
}

// transition moves a pending draft to state to, recording the decision and
// its audit record in one transaction.
func (k *desk) transition(ctx context.Context, a Action, to conversation.DraftState, sent string) (conversation.Draft, error) {
	action := conversation.AuditAction(a.Kind)
	return k.drafts.UpdateDraft(ctx, a.DraftID, func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		if d.State != conversation.DraftPending {
			return nil, conversation.ErrConflict
		}
		from := d.State
		d.State = to
		d.Decision = &conversation.Decision{Action: action, By: a.User.ID, ByName: a.User.Name, At: k.e.cfg.Now()}
		if a.Kind != ActionApprove && a.Kind != ActionEdit {
			d.Decision.Reason = a.Text
		}
		rec := &conversation.AuditRecord{Action: action, By: a.User.ID, ByName: a.User.Name, From: from, To: to,
			DraftText: d.Text, Reason: d.Decision.Reason, ToolCalls: d.ToolCalls, Model: d.Model}
		if to == conversation.DraftSending && d.Kind == conversation.DraftReply {
			d.SentText = sent
			rec.SentText, rec.Diff = sent, lineDiff(d.Text, sent)
		}
		return rec, nil
	})
}

// approve sends the draft (or the edited text) to the customer, or runs an
// approved tool call and continues its turn.
func (k *desk) approve(ctx context.Context, a Action) error {
	d, err := k.Draft(ctx, a.DraftID)
	if err != nil {
		return err
	}
	text := d.Text
	if a.Kind == ActionEdit {
		if a.Text == "" {
			return fmt.Errorf("edit of draft %s has no text", a.DraftID)
		}
		text = a.Text
	}
	if d, err = k.transition(ctx, a, conversation.DraftSending, text); err != nil {
		return err
	}
	k.redraw(ctx, d)
	if d.Kind == conversation.DraftTool {
		return k.resumeTool(ctx, d, toolApproved, "")
	}
	return k.deliver(ctx, d)
}

// deliver posts a draft in "sending" to the customer exactly once: it first
// looks for a reply posted before a crash, and marks the draft sent.
func (k *desk) deliver(ctx context.Context, d conversation.Draft) error {
	p, ok := k.e.platform(d.Thread.Platform())
	if !ok {
		return fmt.Errorf("deliver draft %s: %w", d.ID, errNoPlatform)
	}
	poster, ok := p.(Poster)
	if !ok {
		return fmt.Errorf("deliver draft %s: platform %s cannot post", d.ID, p.Name())
	}
	where := refFromKey(d.Thread)
	ref, found, err := poster.FindPosted(ctx, where, d.ID)
	if err != nil {
		return fmt.Errorf("look for reply of draft %s: %w", d.ID, err)
	}
	if !found {
		if ref, err = poster.Post(ctx, where, d.SentText, d.ID); err != nil {
			return fmt.Errorf("post reply of draft %s: %w", d.ID, err)
		}
	}
	return k.markSent(ctx, d, ref)
}

// markSent records the delivered reply in the draft and the conversation.
func (k *desk) markSent(ctx context.Context, d conversation.Draft, ref MsgRef) error {
	d, err := k.drafts.UpdateDraft(ctx, d.ID, func(x *conversation.Draft) (*conversation.AuditRecord, error) {
		if x.State != conversation.DraftSending {
			return nil, conversation.ErrConflict
		}
		x.State, x.Sent = conversation.DraftSent, ref
		return &conversation.AuditRecord{Action: conversation.AuditSent, From: conversation.DraftSending,
			To: conversation.DraftSent, DraftText: x.Text, SentText: x.SentText, Diff: lineDiff(x.Text, x.SentText),
			Model: x.Model}, nil
	})
	if err != nil {
		return err
	}
	threads := k.e.cfg.Threads
	msg := conversation.Message{Role: conversation.RoleAssistant, Text: d.SentText, Model: d.Model,
		Time: k.e.cfg.Now(), Refs: []MsgRef{ref}}
	if _, err := threads.Append(ctx, d.Thread, msg); err != nil {
		k.log.Warn("store sent reply", "draft", d.ID, "err", err)
	}
	if err := threads.IndexRefs(ctx, d.Thread, ref); err != nil {
		k.log.Warn("index sent reply", "draft", d.ID, "err", err)
	}
	k.redraw(ctx, d)
	return nil
}

// reject records the rejection; a rejected tool call goes back to the
// model as an error result and the turn continues.
func (k *desk) reject(ctx context.Context, a Action) error {
	d, err := k.transition(ctx, a, conversation.DraftRejected, "")
	if err != nil {
		return err
	}
	k.redraw(ctx, d)
	if d.Kind == conversation.DraftTool {
		return k.resumeTool(ctx, d, toolRejected, a.Text)
	}
	return nil
}

// regenerate replaces a pending draft with a new one for the same
// customer message, optionally following the reviewer's instruction.
func (k *desk) regenerate(ctx context.Context, key conversation.ThreadKey, a Action) error {
	d, err := k.transition(ctx, a, conversation.DraftSuperseded, "")
	if err != nil {
		return err
	}
	p, ok := k.e.platform(d.Thread.Platform())
	if !ok {
		return errNoPlatform
	}
	ev := customerEvent(d)
	review, _ := k.reviewChannel(ctx, ev.Thread)
	if review == "" {
		review = d.ReviewChannel
	}
	t := k.e.newTurn(ctx, key, ev, p, drafting{d: k, channel: review, card: d.Card})
	t.instruction = a.Text
	_ = t.drive(ctx, t.run) // reported to the reviewers
	return nil
}

// customerEvent rebuilds the customer's message event of a draft.
func customerEvent(d conversation.Draft) Event {
	return Event{Kind: EventMessage, Thread: refFromKey(d.Thread), Text: d.Question, Message: d.Source.ID,
		User: User{ID: d.Customer, Name: d.CustomerName}, Addressed: true, Time: d.Created}
}

// toolVerdict is a reviewer's verdict on a tool call.
type toolVerdict int

// The verdicts on a tool call.
const (
	toolApproved toolVerdict = iota
	toolRejected
)

// resumeTool runs (or, when rejected, answers) the awaited call of a tool
// draft and continues the paused turn in a new reply.
func (k *desk) resumeTool(ctx context.Context, d conversation.Draft, v toolVerdict, reason string) error {
	p, ok := k.e.platform(d.Thread.Platform())
	if !ok || d.Step == nil {
		return fmt.Errorf("resume tool draft %s: missing platform or step", d.ID)
	}
	ev := customerEvent(d)
	dest, _ := k.route(ctx, ev.Thread)
	t := k.e.newTurn(ctx, d.Thread, ev, p, dest)
	_ = t.drive(ctx, func(ctx context.Context) (outcome, error) { // reported where the turn answers
		done, err := k.settleTool(ctx, t, d, v, reason)
		if err != nil {
			return outcome{}, err
		}
		return t.resume(ctx, *d.Step, done)
	})
	return nil
}

// settleTool gives the awaited call of tool draft d its result (running it
// when approved) and returns the results of the paused step's calls.
func (k *desk) settleTool(ctx context.Context, t *turn, d conversation.Draft, v toolVerdict,
	reason string) (map[string]conversation.ToolRecord, error) {
	done := map[string]conversation.ToolRecord{}
	awaited := conversation.ToolRecord{ID: d.Awaiting}
	for _, r := range d.ToolCalls {
		if r.Result != "" {
			done[r.ID] = r
		}
		if r.ID == d.Awaiting {
			awaited = r
		}
	}
	if v == toolRejected {
		awaited.Result, awaited.IsError = "error: a reviewer rejected this call. "+reason, true
	} else {
		awaited.Result, awaited.IsError = t.runTool(ctx, conversation.ToolCall{ID: awaited.ID, Name: awaited.Name,
			Arguments: awaited.Arguments})
	}
	done[awaited.ID] = awaited
	t.records = append(t.records, awaited)
	if v == toolRejected {
		return done, nil
	}
	_, err := k.drafts.UpdateDraft(ctx, d.ID, func(x *conversation.Draft) (*conversation.AuditRecord, error) {
		x.State = conversation.DraftSent
		return &conversation.AuditRecord{Action: conversation.AuditRan, From: conversation.DraftSending,
			To: conversation.DraftSent, ToolCalls: []conversation.ToolRecord{awaited}}, nil
	})
	return done, err
}

// redeliver finishes a reply draft found in "sending" at start.
func (k *desk) redeliver(ctx context.Context, id string) error {
	d, err := k.Draft(ctx, id)
	if err != nil || d.State != conversation.DraftSending {
		return err
	}
	return k.deliver(ctx, d)
}

// reresume continues a tool draft that was approved but not finished.
func (k *desk) reresume(ctx context.Context, id string) error {
	d, err := k.Draft(ctx, id)
	if err != nil || d.State != conversation.DraftSending {
		return err
	}
	return k.resumeTool(ctx, d, toolApproved, "")
}
