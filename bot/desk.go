package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"kimibot/conversation"
)

// settingReview is the settings name of a channel's runtime support route.
const settingReview = "support_review"

// desk is the support desk: it routes customer channels to review
// channels, keeps drafts and tool calls that wait for a human, posts and
// redraws their cards, applies decisions, reminds reviewers and, after a
// restart, finishes what was being sent. It is off without a DraftStore.
type desk struct {
	e      *Engine
	drafts conversation.DraftStore
	log    *slog.Logger
}

func newDesk(e *Engine) *desk { return &desk{e: e, drafts: e.cfg.Drafts, log: e.log} }

// route returns where a message in t's channel goes: a draft for the
// review channel when the channel is routed (true), else the thread.
func (k *desk) route(ctx context.Context, t ThreadRef) (destination, bool) {
	if review, ok := k.reviewChannel(ctx, t); ok {
		return drafting{d: k, channel: review}, true
	}
	return direct{}, false
}

// reviewChannel returns the review channel of t's channel when customer
// messages there are drafted for review instead of answered.
func (k *desk) reviewChannel(ctx context.Context, t ThreadRef) (string, bool) {
	if k.drafts == nil || t.DM {
		return "", false
	}
	if s := k.e.cfg.Settings; s != nil {
		scope := conversation.Scope{Kind: conversation.ScopeChannel, Platform: t.Platform, ID: t.Channel}
		v, err := s.Setting(ctx, scope, settingReview)
		switch {
		case err == nil && v == "off":
			return "", false
		case err == nil && v != "":
			return v, true
		case err != nil && !errors.Is(err, conversation.ErrNotFound):
			k.log.Warn("read support route", "channel", t.Channel, "err", err)
		}
	}
	for _, r := range k.e.cfg.SupportRoutes {
		if r.Platform == t.Platform && r.From == t.Channel {
			return r.To, true
		}
	}
	return "", false
}

// CanApprove reports whether u may decide on drafts and tool calls.
func (k *desk) CanApprove(ctx context.Context, platform string, u User) bool {
	return k.e.matches(ctx, platform, u, k.e.cfg.Approvers)
}

// Draft returns a stored draft, for example to prefill an edit modal.
func (k *desk) Draft(ctx context.Context, id string) (conversation.Draft, error) {
	if k.drafts == nil {
		return conversation.Draft{}, ErrUnknownDraft
	}
	dr, err := k.drafts.Draft(ctx, id)
	if errors.Is(err, conversation.ErrNotFound) {
		return dr, ErrUnknownDraft
	}
	return dr, err
}

// HandleAction checks that the user may review drafts and queues the
// decision for the draft's thread. It returns ErrNotAllowed (show the user a
// private notice; nothing changes) or ErrUnknownDraft.
func (k *desk) HandleAction(ctx context.Context, a Action) error {
	if !k.CanApprove(ctx, a.Platform, a.User) {
		return ErrNotAllowed
	}
	dr, err := k.Draft(ctx, a.DraftID)
	if err != nil {
		return err
	}
	var keys []string
	if a.DedupeKey != "" {
		keys = []string{a.DedupeKey}
	}
	return k.e.inbox.accept(ctx, dr.Thread, Event{Kind: EventAction, Thread: refFromKey(dr.Thread), User: a.User,
		Action: &a, DedupeKeys: keys, Time: k.e.cfg.Now()})
}

// drafting is the destination of a support turn: the answer becomes a
// draft whose card waits in the review channel.
type drafting struct {
	d       *desk
	channel string
	// card is the card a regenerated draft replaces.
	card MsgRef
}

var _ destination = drafting{}

func (r drafting) open(_ context.Context, t *turn) error {
	t.reply = &collector{}
	return nil
}

func (r drafting) answered(ctx context.Context, t *turn, out outcome) error {
	dr := conversation.Draft{ID: newDraftID(), Kind: conversation.DraftReply, Thread: t.key,
		Customer: t.ev.User.ID, CustomerName: t.ev.User.Name, Question: t.ev.Text, Text: out.answer.Text,
		Source:    MsgRef{Platform: t.ev.Thread.Platform, Channel: t.ev.Thread.Channel, ID: t.ev.Message},
		ToolCalls: t.records, Model: t.served, ReviewChannel: r.channel, State: conversation.DraftPending,
		Card: r.card}
	return r.d.openDraft(ctx, t.p, dr)
}

func (r drafting) paused(ctx context.Context, t *turn, p pause) error {
	return r.d.holdTool(ctx, t, p, r.channel)
}

// failed tells the review channel, never the customer.
func (r drafting) failed(ctx context.Context, t *turn, err error) {
	ref := newRef()
	t.log.Error("draft failed", "ref", ref, "err", err)
	poster, ok := t.p.(Poster)
	if !ok {
		return
	}
	where := ThreadRef{Platform: t.ev.Thread.Platform, Workspace: t.ev.Thread.Workspace, Channel: r.channel}
	msg := fmt.Sprintf("Could not draft a reply to %s: %s (ref %s)", t.ev.User.Name, userMessage(err), ref)
	if _, perr := poster.Post(ctx, where, msg, ""); perr != nil {
		t.log.Error("report draft failure", "ref", ref, "err", perr)
	}
}

// collector is the Reply of a support turn: it keeps the text for the draft.
type collector struct {
	mu   sync.Mutex
	text strings.Builder
}

var _ Reply = (*collector)(nil)

func (c *collector) Status(context.Context, string) error { return nil }

func (c *collector) Append(_ context.Context, s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.text.WriteString(s)
	return nil
}

func (c *collector) Finish(context.Context, Footer) ([]MsgRef, error) { return nil, nil }
func (c *collector) Fail(context.Context, string) error               { return nil }

// newDraftID returns a draft ID short enough for Discord nonces (25 chars).
func newDraftID() string { return "d" + newRef() + newRef()[:4] }

// holdTool stores the step whose call waits for approval as a tool draft
// and posts its card: in review (a review channel) or, when review is
// empty, in the conversation's own thread.
func (k *desk) holdTool(ctx context.Context, t *turn, p pause, review string) error {
	step := p.step
	dr := conversation.Draft{ID: newDraftID(), Kind: conversation.DraftTool, Thread: t.key, Customer: t.ev.User.ID,
		CustomerName: t.ev.User.Name, Question: t.ev.Text, ToolCalls: p.recs, Awaiting: p.recs[p.awaiting].ID,
		Step: &step, Source: MsgRef{Platform: t.ev.Thread.Platform, Channel: t.ev.Thread.Channel, ID: t.ev.Message},
		ReviewChannel: review, Model: t.served, State: conversation.DraftPending}
	return k.openDraft(ctx, t.p, dr)
}
