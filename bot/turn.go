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

// turnState is the state of one turn: a user message and everything the
// model does until it answers.
type turnState struct {
	key    conversation.ThreadKey
	ev     Event
	p      Platform
	reply  Reply
	model  string
	info   ModelInfo
	start  time.Time
	usage  conversation.Usage
	served string
	calls  map[string]bool
	loops  int
	log    *slog.Logger
	// review is the review channel of a support turn: the answer becomes a
	// draft instead of a reply.
	review string
	// records are the tool calls of the turn, for review cards.
	records []conversation.ToolRecord
	// instruction is a reviewer's instruction for a regenerated draft.
	instruction string
	// card is the review card a regenerated draft replaces.
	card MsgRef
}

// newTurn prepares a turn for ev in thread key.
func (e *Engine) newTurn(ctx context.Context, key conversation.ThreadKey, ev Event, p Platform, review string) *turnState {
	t := &turnState{key: key, ev: ev, p: p, start: e.cfg.Now(), calls: map[string]bool{}, review: review,
		log: e.log.With("thread", key, "turn", newRef())}
	ctx = withLogger(ctx, t.log)
	t.model, _ = e.ResolveModel(ctx, ev.Thread, ev.User.ID)
	t.info = e.modelInfo(ctx, t.model)
	return t
}

// turn answers one user message (or drafts an answer in a support
// channel); failures are reported to the user once.
func (e *Engine) turn(ctx context.Context, key conversation.ThreadKey, ev Event, review string) {
	p, ok := e.platform(ev.Thread.Platform)
	if !ok {
		e.log.Error("event for unknown platform", "platform", ev.Thread.Platform, "err", errNoPlatform)
		return
	}
	t := e.newTurn(ctx, key, ev, p, review)
	err := e.runTurn(withLogger(ctx, t.log), t)
	e.observeTurn(t, err)
	if err != nil {
		e.turnFailed(ctx, t, err)
	}
}

func (e *Engine) runTurn(ctx context.Context, t *turnState) error {
	user := e.userMessage(ctx, t)
	if _, err := e.cfg.Threads.Append(ctx, t.key, user); err != nil {
		return fmt.Errorf("store user message: %w", err)
	}
	return e.loop(ctx, t)
}

// turnFailed reports a failed turn: to the user, or for a support turn to
// the review channel, never to the customer.
func (e *Engine) turnFailed(ctx context.Context, t *turnState, err error) {
	if t.review == "" {
		e.reportFailure(withLogger(ctx, t.log), t.p, t.ev, t.reply, err)
		return
	}
	ref := newRef()
	t.log.Error("draft failed", "ref", ref, "err", err)
	if poster, ok := t.p.(Poster); ok {
		where := ThreadRef{Platform: t.ev.Thread.Platform, Workspace: t.ev.Thread.Workspace, Channel: t.review}
		msg := fmt.Sprintf("Could not draft a reply to %s: %s (ref %s)", t.ev.User.Name, userMessage(err), ref)
		if _, perr := poster.Post(ctx, where, msg, ""); perr != nil {
			t.log.Error("report draft failure", "ref", ref, "err", perr)
		}
	}
}

// openReply opens where the answer goes: the platform reply, or a
// collector for a draft.
func (e *Engine) openReply(ctx context.Context, t *turnState) error {
	if t.review != "" {
		t.reply = &collector{}
		return nil
	}
	r, err := t.p.Reply(ctx, ReplyTarget{Thread: t.ev.Thread, User: t.ev.User.ID, Message: t.ev.Message})
	if err != nil {
		return fmt.Errorf("open reply: %w", err)
	}
	t.reply = e.observeReply(t, r)
	return nil
}

// loop opens the reply and runs model steps until an answer.
func (e *Engine) loop(ctx context.Context, t *turnState) error {
	if err := e.openReply(ctx, t); err != nil {
		return err
	}
	e.status(ctx, t, "thinking…")
	return e.steps(ctx, t)
}

func (e *Engine) steps(ctx context.Context, t *turnState) error {
	for range e.cfg.MaxSteps {
		done, err := e.step(ctx, t)
		if err != nil || done {
			return err
		}
	}
	return errTooManySteps
}

// step makes one model call and runs the tools it asks for. It reports
// true when the turn is over: answered, drafted, or paused for approval.
func (e *Engine) step(ctx context.Context, t *turnState) (bool, error) {
	msgs, err := e.cfg.Threads.Messages(ctx, t.key)
	if err != nil {
		return false, fmt.Errorf("load history: %w", err)
	}
	req := e.request(t, msgs)
	comp, err := e.streamInto(ctx, t, req)
	if err != nil {
		return false, err
	}
	t.usage = t.usage.Add(comp.Usage)
	t.served = comp.Model
	if t.served == "" {
		t.served = t.model
	}
	e.recordUsage(ctx, t, t.served, comp.Usage)
	if comp.Usage.PromptTokens > 0 {
		e.est.Observe(e.est.Estimate(req.Messages), comp.Usage.PromptTokens)
	}
	usage := comp.Usage
	asst := conversation.Message{Role: conversation.RoleAssistant, Text: comp.Content, Reasoning: comp.Reasoning,
		ReasoningDetails: comp.ReasoningDetails, ToolCalls: comp.ToolCalls, Model: t.served, Usage: &usage,
		Time: e.cfg.Now()}
	if len(comp.ToolCalls) == 0 {
		if t.review != "" {
			return true, e.finishDraft(ctx, t, asst)
		}
		return true, e.finish(ctx, t, asst, comp.FinishReason)
	}
	paused, err := e.completeStep(ctx, t, asst, nil)
	if err != nil || paused {
		return paused, err
	}
	e.status(ctx, t, "thinking…")
	return false, nil
}

// completeStep runs the tool calls of asst not yet in done and stores the
// step. It reports true when a call waits for approval instead.
func (e *Engine) completeStep(ctx context.Context, t *turnState, asst conversation.Message,
	done map[string]conversation.ToolRecord) (bool, error) {
	recs, awaiting, err := e.runCalls(ctx, t, asst.ToolCalls, done)
	if err != nil {
		return false, err
	}
	if awaiting >= 0 {
		return true, e.pauseForApproval(ctx, t, asst, recs, awaiting)
	}
	msgs := []conversation.Message{asst}
	for _, r := range recs {
		msgs = append(msgs, conversation.Message{Role: conversation.RoleTool, ToolCallID: r.ID, ToolName: r.Name,
			Text: r.Result, IsError: r.IsError, Time: e.cfg.Now()})
	}
	if _, err := e.cfg.Threads.Append(ctx, t.key, msgs...); err != nil {
		return false, fmt.Errorf("store tool results: %w", err)
	}
	return false, nil
}

// streamInto streams one model call into the reply and returns its result.
func (e *Engine) streamInto(ctx context.Context, t *turnState, req ChatRequest) (*Completion, error) {
	s, err := e.observedStream(ctx, t, req)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	for {
		c, err := s.Recv()
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
			e.status(ctx, t, "calling "+c.ToolName+"…")
		}
	}
}

// finish stores the answer and completes the reply with its footer.
func (e *Engine) finish(ctx context.Context, t *turnState, asst conversation.Message, reason string) error {
	switch reason {
	case "length":
		if err := t.reply.Append(ctx, "\n\n_(The answer reached the length limit and was cut off.)_"); err != nil {
			return fmt.Errorf("show answer: %w", err)
		}
	case "content_filter":
		return contentFiltered{}
	}
	if asst.Text == "" {
		if err := t.reply.Append(ctx, "_(The model returned an empty answer.)_"); err != nil {
			return fmt.Errorf("show answer: %w", err)
		}
	}
	if _, err := e.cfg.Threads.Append(ctx, t.key, asst); err != nil {
		return fmt.Errorf("store answer: %w", err)
	}
	refs, err := t.reply.Finish(ctx, Footer{Model: t.served, Usage: t.usage, Elapsed: e.cfg.Now().Sub(t.start)})
	if err != nil {
		return fmt.Errorf("finish reply: %w", err)
	}
	if len(refs) > 0 {
		if err := e.cfg.Threads.IndexRefs(ctx, t.key, refs...); err != nil {
			t.log.Warn("index reply messages", "err", err)
		}
	}
	return nil
}

// status shows s in the reply; a failure to show status is not fatal.
func (e *Engine) status(ctx context.Context, t *turnState, s string) {
	if err := t.reply.Status(ctx, s); err != nil {
		t.log.Debug("show status", "err", err)
	}
}

// contentFiltered is the error for an answer stopped by the provider's filter.
type contentFiltered struct{}

func (contentFiltered) Error() string { return "answer stopped by content filter" }
func (contentFiltered) UserMessage() string {
	return "Kimi declined to continue this answer (content filter)."
}
