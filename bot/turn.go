package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"kimibot/conversation"
)

// turn is one user message and everything the model does until it
// answers: model steps, tool calls and their results. Where the answer
// goes, the user's thread or the support desk, is its destination.
type turn struct {
	e      *Engine
	key    conversation.ThreadKey
	ev     Event
	p      Platform
	dest   destination
	reply  Reply
	model  string
	info   ModelInfo
	start  time.Time
	usage  conversation.Usage
	served string
	calls  map[string]bool
	loops  int
	log    *slog.Logger
	// records are the tool calls of the turn, for review cards.
	records []conversation.ToolRecord
	// instruction is a reviewer's instruction for a regenerated draft.
	instruction string
	// item is the inbox entry of the event the turn answers, if stored.
	item string
	// record is the record of the turn's platform reply, if recorded.
	record *replyRecord
	// unstored are usage records of model calls not stored yet.
	unstored []conversation.UsageRecord
	// settled is true once the turn's answer was stored together with
	// the removal of its inbox item.
	settled bool
	// asked is the Seq of the stored user message the turn answers.
	asked uint64
}

// outcome is how a turn ended: with an answer, or paused on a tool call
// that waits for an approver.
type outcome struct {
	answer conversation.Message
	reason FinishReason
	pause  *pause
}

// pause is a model step whose tool call recs[awaiting] waits for approval;
// the calls before it carry their results.
type pause struct {
	step     conversation.Message
	recs     []conversation.ToolRecord
	awaiting int
}

// destination is where a turn's result goes: the user's thread (direct)
// or a draft for reviewers (the desk).
type destination interface {
	// open sets up t.reply, where the answer streams.
	open(ctx context.Context, t *turn) error
	// answered delivers the final answer.
	answered(ctx context.Context, t *turn, out outcome) error
	// paused records a tool call that waits for an approver.
	paused(ctx context.Context, t *turn, p pause) error
	// failed reports err once, with a reference ID.
	failed(ctx context.Context, t *turn, err error)
}

// newTurn prepares a turn for ev in thread key.
func (e *Engine) newTurn(ctx context.Context, key conversation.ThreadKey, ev Event, p Platform, dest destination) *turn {
	t := &turn{e: e, key: key, ev: ev, p: p, dest: dest, start: e.cfg.Now(), calls: map[string]bool{},
		log: e.log.With("thread", key, "turn", newRef())}
	ctx = withLogger(ctx, t.log)
	t.model, _ = e.ResolveModel(ctx, ev.Thread, ev.User.ID)
	t.info = e.modelInfo(ctx, t.model)
	return t
}

// drive opens t's reply, runs body and delivers its outcome; a failure is
// reported once through the destination and returned.
func (t *turn) drive(ctx context.Context, body func(ctx context.Context) (outcome, error)) error {
	ctx = withLogger(ctx, t.log)
	defer t.closeReply(ctx)
	defer t.flushUsage(ctx)
	err := t.dest.open(ctx, t)
	if err == nil {
		t.status(ctx, "thinking…")
		var out outcome
		if out, err = body(ctx); err == nil {
			err = t.deliver(ctx, out)
		}
	}
	t.e.meter.observeTurn(t, err)
	if err != nil {
		t.dest.failed(ctx, t, err)
	}
	return err
}

// deliver hands the outcome to the destination.
func (t *turn) deliver(ctx context.Context, out outcome) error {
	if out.pause != nil {
		return t.dest.paused(ctx, t, *out.pause)
	}
	return t.dest.answered(ctx, t, out)
}

// ask stores the user's message and runs the turn to its outcome.
func (t *turn) ask(ctx context.Context) (outcome, error) {
	user := t.userMessage(ctx)
	stored, err := t.e.cfg.Threads.Append(ctx, t.key, user)
	if err != nil {
		return outcome{}, fmt.Errorf("store user message: %w", err)
	}
	t.asked = stored[0].Seq
	return t.run(ctx)
}

// run makes model steps until the turn has an outcome.
func (t *turn) run(ctx context.Context) (outcome, error) {
	for range t.e.cfg.MaxSteps {
		out, done, err := t.step(ctx)
		if err != nil || done {
			return out, err
		}
	}
	return t.lastStep(ctx)
}

// resume finishes a paused step (its calls in done keep their results)
// and runs the turn on.
func (t *turn) resume(ctx context.Context, step conversation.Message,
	done map[string]conversation.ToolRecord) (outcome, error) {
	if p, err := t.completeStep(ctx, step, done); err != nil || p != nil {
		return outcome{pause: p}, err
	}
	return t.run(ctx)
}

// step makes one model call and runs the tools it asks for. It reports
// true when the turn has its outcome.
func (t *turn) step(ctx context.Context) (outcome, bool, error) {
	msgs, err := t.e.cfg.Threads.Messages(ctx, t.key)
	if err != nil {
		return outcome{}, false, fmt.Errorf("load history: %w", err)
	}
	req := t.prepare(ctx, msgs)
	comp, err := t.streamInto(ctx, req)
	if err != nil {
		return outcome{}, false, err
	}
	asst := t.account(ctx, req, comp)
	if len(comp.ToolCalls) == 0 {
		return outcome{answer: asst, reason: comp.FinishReason}, true, nil
	}
	t.flushUsage(ctx)
	p, err := t.completeStep(ctx, asst, nil)
	if err != nil || p != nil {
		return outcome{pause: p}, true, err
	}
	t.status(ctx, "thinking…")
	return outcome{}, false, nil
}

// account records a model call's usage and returns its assistant message.
func (t *turn) account(ctx context.Context, req ChatRequest, comp *Completion) conversation.Message {
	t.served = comp.Model
	if t.served == "" {
		t.served = t.model
	}
	usage := t.e.priced(ctx, t.served, comp.Usage)
	t.usage = t.usage.Add(usage)
	t.noteUsage(ctx, t.served, usage)
	if comp.Usage.PromptTokens > 0 {
		t.e.est.Observe(t.e.est.Estimate(req.Messages), comp.Usage.PromptTokens)
	}
	return conversation.Message{Role: conversation.RoleAssistant, Text: comp.Content, Reasoning: comp.Reasoning,
		ReasoningDetails: comp.ReasoningDetails, ToolCalls: comp.ToolCalls, Model: t.served, Usage: &usage,
		Time: t.e.cfg.Now()}
}

// completeStep runs the tool calls of asst not yet in done and stores the
// step. It returns a pause instead when a call waits for approval.
func (t *turn) completeStep(ctx context.Context, asst conversation.Message,
	done map[string]conversation.ToolRecord) (*pause, error) {
	recs, awaiting, err := t.runCalls(ctx, asst.ToolCalls, done)
	if err != nil {
		return nil, err
	}
	if awaiting >= 0 {
		return &pause{step: asst, recs: recs, awaiting: awaiting}, nil
	}
	msgs := []conversation.Message{asst}
	for _, r := range recs {
		msgs = append(msgs, conversation.Message{Role: conversation.RoleTool, ToolCallID: r.ID, ToolName: r.Name,
			Text: r.Result, IsError: r.IsError, Time: t.e.cfg.Now()})
	}
	if _, err := t.e.cfg.Threads.Append(ctx, t.key, msgs...); err != nil {
		return nil, fmt.Errorf("store tool results: %w", err)
	}
	return nil, nil
}

// streamInto streams one model call into the reply and returns its result.
func (t *turn) streamInto(ctx context.Context, req ChatRequest) (*Completion, error) {
	req.OnQueued = func(ahead int) { t.status(ctx, queuedStatus(ahead)) }
	w := t.watch(ctx)
	defer w.end()
	s, err := t.e.meter.observedStream(ctx, t, req)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	for {
		c, err := s.Recv()
		w.seen()
		switch {
		case errors.Is(err, io.EOF):
			return nil, errors.New("model stream ended without a result")
		case err != nil:
			return nil, err
		case c.Final != nil:
			return c.Final, nil
		case c.Content != "":
			if err := t.reply.Append(ctx, c.Content); err != nil {
				return nil, fmt.Errorf("show answer: %w", err)
			}
		case c.ToolName != "":
			t.status(ctx, "calling "+c.ToolName+"…")
		}
	}
}

// status shows s in the reply; a failure to show status is not fatal.
func (t *turn) status(ctx context.Context, s string) {
	if err := t.reply.Status(ctx, s); err != nil {
		t.log.Debug("show status", "err", err)
	}
}

// footer is the small print of the turn's answer.
func (t *turn) footer() Footer {
	return Footer{Model: t.served, Usage: t.usage, Elapsed: t.e.cfg.Now().Sub(t.start)}
}
