package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"kimibot/conversation"
)

// direct is the destination of an ordinary turn: the answer streams into
// the user's own thread.
type direct struct{}

var _ destination = direct{}

// open opens the platform reply, recorded with its first message so that
// a restart can finish it if a crash leaves it half-written.
func (direct) open(ctx context.Context, t *turn) error {
	target := ReplyTarget{Thread: t.ev.Thread, User: t.ev.User.ID, Message: t.ev.Message}
	if t.recordReply(ctx) {
		target.Opened = t.opened
	}
	r, err := t.p.Reply(ctx, target)
	if err != nil {
		return fmt.Errorf("open reply: %w", err)
	}
	t.reply = t.e.meter.observeReply(t, r)
	return nil
}

// answered stores the answer and completes the reply with its footer.
func (direct) answered(ctx context.Context, t *turn, out outcome) error {
	switch out.reason {
	case FinishLength:
		if err := t.reply.Append(ctx, "\n\n_(The answer reached the length limit and was cut off.)_"); err != nil {
			return fmt.Errorf("show answer: %w", err)
		}
	case FinishContentFilter:
		return contentFiltered{}
	}
	if out.answer.Text == "" {
		if err := t.reply.Append(ctx, "_(The model returned an empty answer.)_"); err != nil {
			return fmt.Errorf("show answer: %w", err)
		}
	}
	if t.e.cfg.Turns == nil {
		if err := t.storeAnswer(ctx, out.answer); err != nil {
			return err
		}
	}
	refs, err := t.reply.Finish(ctx, t.footer())
	if err != nil {
		if t.e.cfg.Turns != nil {
			if serr := t.storeAnswer(ctx, out.answer); serr != nil {
				t.log.Warn("store answer of an unfinished reply", "err", serr)
			}
		}
		return fmt.Errorf("finish reply: %w", err)
	}
	return t.end(ctx, out.answer, refs)
}

// storeAnswer appends the answer to the thread.
func (t *turn) storeAnswer(ctx context.Context, answer conversation.Message) error {
	if _, err := t.e.cfg.Threads.Append(ctx, t.key, answer); err != nil {
		return fmt.Errorf("store answer: %w", err)
	}
	return nil
}

// end stores what an answered turn leaves once its reply is finished:
// with a TurnStore the answer, the reply's messages, the usage, the end of
// the reply record and the removal of the inbox item, in one transaction;
// else the reply's messages only, the rest having its own writes.
func (t *turn) end(ctx context.Context, answer conversation.Message, refs []MsgRef) error {
	if t.e.cfg.Turns == nil {
		if len(refs) > 0 {
			if err := t.e.cfg.Threads.IndexRefs(ctx, t.key, refs...); err != nil {
				t.log.Warn("index reply messages", "err", err)
			}
		}
		return nil
	}
	end := conversation.TurnEnd{Thread: t.key, Messages: []conversation.Message{answer}, AnswerTo: t.asked,
		Refs: refs, Usage: t.unstored, Item: t.item}
	if rec := t.record; rec != nil {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.stored && !rec.closed {
			end.Reply = rec.id
		}
	}
	if _, err := t.e.cfg.Turns.EndTurn(context.WithoutCancel(ctx), end); err != nil {
		return fmt.Errorf("store answer: %w", err)
	}
	t.unstored, t.settled = nil, true
	if t.record != nil {
		t.record.closed = true
	}
	return nil
}

// paused posts the tool call's card in the thread and tells the user the
// answer waits for an approver.
func (direct) paused(ctx context.Context, t *turn, p pause) error {
	if err := t.e.desk.holdTool(ctx, t, p, ""); err != nil {
		return err
	}
	note := fmt.Sprintf("\n\n_Waiting for an approver to allow `%s`._", p.recs[p.awaiting].Name)
	if err := t.reply.Append(ctx, note); err != nil {
		return fmt.Errorf("show approval wait: %w", err)
	}
	_, err := t.reply.Finish(ctx, Footer{})
	return err
}

func (direct) failed(ctx context.Context, t *turn, err error) {
	if t.item != "" && errors.Is(context.Cause(ctx), errShutdown) {
		err = errRestarting
	}
	t.e.reportFailure(ctx, t.p, t.ev, t.reply, err)
}

// replyRecord is the stored record of a turn's platform reply: written
// with the reply's first message, so that a restart can finish the reply
// if a crash leaves it half-written, and removed once the reply is done.
type replyRecord struct {
	mu     sync.Mutex
	id     string
	stored bool
	closed bool
}

// recordReply names the record of the reply about to open and reports
// whether replies are recorded at all.
func (t *turn) recordReply(context.Context) bool {
	if t.e.cfg.Replies == nil {
		return false
	}
	t.record = &replyRecord{id: "r" + newRef() + newRef()}
	return true
}

// opened records a new platform message of the turn's reply: the first
// one creates the record, later ones are added to it. The adapter calls
// it before it writes more to the message.
func (t *turn) opened(ref MsgRef, mode ReplyMode) {
	rec, replies := t.record, t.e.cfg.Replies
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var err error
	switch {
	case rec.closed:
		return
	case !rec.stored:
		err = replies.OpenReply(context.Background(), conversation.ReplyRecord{ID: rec.id, Thread: t.key, Item: t.item,
			Platform: t.p.Name(), Refs: []MsgRef{ref}, Mode: mode, State: conversation.ReplyStreaming, Started: t.start})
		rec.stored = err == nil
	default:
		_, err = replies.UpdateReply(context.Background(), rec.id, func(r *conversation.ReplyRecord) error {
			r.Refs, r.Mode = append(r.Refs, ref), mode
			return nil
		})
	}
	if err != nil {
		t.log.Warn("record reply message", "message", ref.ID, "err", err)
		return
	}
	t.log.Debug("reply message recorded", "message", ref.ID, "mode", mode)
}

// closeReply forgets the record of the turn's reply, once it is finished;
// a message the adapter opens after this is not recorded.
func (t *turn) closeReply(ctx context.Context) {
	rec := t.record
	if rec == nil {
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.closed = true
	if !rec.stored {
		return
	}
	if err := t.e.cfg.Replies.CloseReply(context.WithoutCancel(ctx), rec.id); err != nil {
		t.log.Warn("close reply record", "err", err)
	}
}

// contentFiltered is the error for an answer stopped by the provider's filter.
type contentFiltered struct{}

func (contentFiltered) Error() string { return "answer stopped by content filter" }
func (contentFiltered) UserMessage() string {
	return "Kimi declined to continue this answer (content filter)."
}
