package bot

import (
	"context"
	"errors"
	"fmt"

	"kimibot/conversation"
)

// decide applies a reviewer's action to a draft, inside the worker of the
// customer's thread so that decisions and turns never interleave.
func (e *Engine) decide(ctx context.Context, key conversation.ThreadKey, a Action) {
	var err error
	switch a.Kind {
	case ActionApprove, ActionEdit:
		err = e.approve(ctx, a)
	case ActionReject:
		err = e.reject(ctx, a)
	case ActionRegenerate:
		err = e.regenerate(ctx, key, a)
	case actionDeliver:
		err = e.redeliver(ctx, a.DraftID)
	case actionResume:
		err = e.reresume(ctx, a.DraftID)
	default:
		err = fmt.Errorf("unknown action %q", a.Kind)
	}
	switch {
	case errors.Is(err, conversation.ErrConflict):
		e.log.Info("draft already decided", "draft", a.DraftID, "action", a.Kind, "user", a.User.ID)
	case err != nil:
		e.log.Error("apply draft decision", "ref", newRef(), "draft", a.DraftID, "action", a.Kind, "err", err)
	}
}

// transition moves a pending draft to state to, recording the decision and
// its audit record in one transaction.
func (e *Engine) transition(ctx context.Context, a Action, to conversation.DraftState, sent string) (conversation.Draft, error) {
	action := string(a.Kind)
	return e.cfg.Drafts.UpdateDraft(ctx, a.DraftID, func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		if d.State != conversation.DraftPending {
			return nil, conversation.ErrConflict
		}
		from := d.State
		d.State = to
		d.Decision = &conversation.Decision{Action: action, By: a.User.ID, ByName: a.User.Name, At: e.cfg.Now()}
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
func (e *Engine) approve(ctx context.Context, a Action) error {
	d, err := e.Draft(ctx, a.DraftID)
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
	if d, err = e.transition(ctx, a, conversation.DraftSending, text); err != nil {
		return err
	}
	e.redraw(ctx, d)
	if d.Kind == conversation.DraftTool {
		return e.resumeTool(ctx, d, true, "")
	}
	return e.deliver(ctx, d)
}

// deliver posts a draft in "sending" to the customer exactly once: it first
// looks for a reply posted before a crash, and marks the draft sent.
func (e *Engine) deliver(ctx context.Context, d conversation.Draft) error {
	p, ok := e.platform(d.Thread.Platform())
	if !ok {
		return fmt.Errorf("deliver draft %s: %w", d.ID, errNoPlatform)
	}
	poster, ok := p.(Poster)
	if !ok {
		return fmt.Errorf("deliver draft %s: platform %s cannot post", d.ID, p.Name())
	}
	where := refFromKey(d.Thread, false)
	ref, found, err := poster.FindPosted(ctx, where, d.ID)
	if err != nil {
		return fmt.Errorf("look for reply of draft %s: %w", d.ID, err)
	}
	if !found {
		if ref, err = poster.Post(ctx, where, d.SentText, d.ID); err != nil {
			return fmt.Errorf("post reply of draft %s: %w", d.ID, err)
		}
	}
	return e.markSent(ctx, d, ref)
}

// markSent records the delivered reply in the draft and the conversation.
func (e *Engine) markSent(ctx context.Context, d conversation.Draft, ref MsgRef) error {
	d, err := e.cfg.Drafts.UpdateDraft(ctx, d.ID, func(x *conversation.Draft) (*conversation.AuditRecord, error) {
		if x.State != conversation.DraftSending {
			return nil, conversation.ErrConflict
		}
		x.State, x.Sent = conversation.DraftSent, ref
		return &conversation.AuditRecord{Action: "sent", From: conversation.DraftSending, To: conversation.DraftSent,
			DraftText: x.Text, SentText: x.SentText, Diff: lineDiff(x.Text, x.SentText), Model: x.Model}, nil
	})
	if err != nil {
		return err
	}
	msg := conversation.Message{Role: conversation.RoleAssistant, Text: d.SentText, Model: d.Model,
		Time: e.cfg.Now(), Refs: []MsgRef{ref}}
	if _, err := e.cfg.Threads.Append(ctx, d.Thread, msg); err != nil {
		e.log.Warn("store sent reply", "draft", d.ID, "err", err)
	}
	if err := e.cfg.Threads.IndexRefs(ctx, d.Thread, ref); err != nil {
		e.log.Warn("index sent reply", "draft", d.ID, "err", err)
	}
	e.redraw(ctx, d)
	return nil
}

// reject records the rejection; a rejected tool call goes back to the
// model as an error result and the turn continues.
func (e *Engine) reject(ctx context.Context, a Action) error {
	d, err := e.transition(ctx, a, conversation.DraftRejected, "")
	if err != nil {
		return err
	}
	e.redraw(ctx, d)
	if d.Kind == conversation.DraftTool {
		return e.resumeTool(ctx, d, false, a.Text)
	}
	return nil
}

// regenerate replaces a pending draft with a new one for the same
// customer message, optionally following the reviewer's instruction.
func (e *Engine) regenerate(ctx context.Context, key conversation.ThreadKey, a Action) error {
	d, err := e.transition(ctx, a, conversation.DraftSuperseded, "")
	if err != nil {
		return err
	}
	p, ok := e.platform(d.Thread.Platform())
	if !ok {
		return errNoPlatform
	}
	ev := e.customerEvent(d)
	review, _ := e.reviewChannel(ctx, ev.Thread)
	if review == "" {
		review = d.ReviewChannel
	}
	t := e.newTurn(ctx, key, ev, p, review)
	t.instruction, t.card = a.Text, d.Card
	err = e.loop(withLogger(ctx, t.log), t)
	e.observeTurn(t, err)
	if err != nil {
		e.turnFailed(ctx, t, err)
	}
	return nil
}

// customerEvent rebuilds the customer's message event of a draft.
func (e *Engine) customerEvent(d conversation.Draft) Event {
	return Event{Kind: EventMessage, Thread: refFromKey(d.Thread, false), Text: d.Question, Message: d.Source.ID,
		User: User{ID: d.Customer, Name: d.CustomerName}, Addressed: true, Time: d.Created}
}

// pauseForApproval stores the step whose call recs[i] needs approval as a
// tool draft, posts its card, and tells the user the turn waits.
func (e *Engine) pauseForApproval(ctx context.Context, t *turnState, asst conversation.Message,
	recs []conversation.ToolRecord, i int) error {
	step := asst
	d := conversation.Draft{ID: newDraftID(), Kind: conversation.DraftTool, Thread: t.key, Customer: t.ev.User.ID,
		CustomerName: t.ev.User.Name, Question: t.ev.Text, ToolCalls: recs, Awaiting: recs[i].ID, Step: &step,
		Source:        MsgRef{Platform: t.ev.Thread.Platform, Channel: t.ev.Thread.Channel, ID: t.ev.Message},
		ReviewChannel: t.review, Model: t.served, State: conversation.DraftPending}
	if err := e.openDraft(ctx, t.p, d); err != nil {
		return err
	}
	if t.review != "" {
		return nil
	}
	note := fmt.Sprintf("\n\n_Waiting for an approver to allow `%s`._", recs[i].Name)
	if err := t.reply.Append(ctx, note); err != nil {
		return fmt.Errorf("show approval wait: %w", err)
	}
	_, err := t.reply.Finish(ctx, Footer{})
	return err
}

// resumeTool runs (or, when rejected, answers) the awaited call of a tool
// draft and continues the paused turn in a new reply.
func (e *Engine) resumeTool(ctx context.Context, d conversation.Draft, approved bool, reason string) error {
	p, ok := e.platform(d.Thread.Platform())
	if !ok || d.Step == nil {
		return fmt.Errorf("resume tool draft %s: missing platform or step", d.ID)
	}
	ev := e.customerEvent(d)
	review, _ := e.reviewChannel(ctx, ev.Thread)
	t := e.newTurn(ctx, d.Thread, ev, p, review)
	if err := e.openReply(ctx, t); err != nil {
		return err
	}
	done := map[string]conversation.ToolRecord{}
	for _, r := range d.ToolCalls {
		if r.Result != "" {
			done[r.ID] = r
		}
	}
	awaited := conversation.ToolRecord{ID: d.Awaiting}
	for _, r := range d.ToolCalls {
		if r.ID == d.Awaiting {
			awaited = r
		}
	}
	if approved {
		awaited.Result, awaited.IsError = e.runTool(ctx, t, conversation.ToolCall{ID: awaited.ID, Name: awaited.Name,
			Arguments: awaited.Arguments})
	} else {
		awaited.Result, awaited.IsError = "error: a reviewer rejected this call. "+reason, true
	}
	done[awaited.ID] = awaited
	t.records = append(t.records, awaited)
	if approved {
		if _, err := e.cfg.Drafts.UpdateDraft(ctx, d.ID, func(x *conversation.Draft) (*conversation.AuditRecord, error) {
			x.State = conversation.DraftSent
			return &conversation.AuditRecord{Action: "ran", From: conversation.DraftSending, To: conversation.DraftSent,
				ToolCalls: []conversation.ToolRecord{awaited}}, nil
		}); err != nil {
			return err
		}
	}
	paused, err := e.completeStep(ctx, t, *d.Step, done)
	if err == nil && !paused {
		err = e.steps(withLogger(ctx, t.log), t)
	}
	e.observeTurn(t, err)
	if err != nil {
		e.turnFailed(ctx, t, err)
	}
	return nil
}

// redeliver finishes a reply draft found in "sending" at start.
func (e *Engine) redeliver(ctx context.Context, id string) error {
	d, err := e.Draft(ctx, id)
	if err != nil || d.State != conversation.DraftSending {
		return err
	}
	return e.deliver(ctx, d)
}

// reresume continues a tool draft that was approved but not finished.
func (e *Engine) reresume(ctx context.Context, id string) error {
	d, err := e.Draft(ctx, id)
	if err != nil || d.State != conversation.DraftSending {
		return err
	}
	return e.resumeTool(ctx, d, true, "")
}
