package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"kimibot/conversation"
)

// settingReview is the settings name of a channel's runtime support route.
const settingReview = "support_review"

// reviewChannel returns the review channel of t's channel when customer
// messages there are drafted for review instead of answered.
func (e *Engine) reviewChannel(ctx context.Context, t ThreadRef) (string, bool) {
	if e.cfg.Drafts == nil || t.DM {
		return "", false
	}
	if e.cfg.Settings != nil {
		scope := conversation.Scope{Kind: conversation.ScopeChannel, Platform: t.Platform, ID: t.Channel}
		v, err := e.cfg.Settings.Setting(ctx, scope, settingReview)
		switch {
		case err == nil && v == "off":
			return "", false
		case err == nil && v != "":
			return v, true
		case err != nil && !errors.Is(err, conversation.ErrNotFound):
			e.log.Warn("read support route", "channel", t.Channel, "err", err)
		}
	}
	for _, r := range e.cfg.SupportRoutes {
		if r.Platform == t.Platform && r.From == t.Channel {
			return r.To, true
		}
	}
	return "", false
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

// finishDraft stores the answer of a support turn as a pending draft and
// posts its review card; older pending drafts of the thread are superseded.
func (e *Engine) finishDraft(ctx context.Context, t *turnState, asst conversation.Message) error {
	d := conversation.Draft{ID: newDraftID(), Kind: conversation.DraftReply, Thread: t.key,
		Customer: t.ev.User.ID, CustomerName: t.ev.User.Name, Question: t.ev.Text, Text: asst.Text,
		Source:    MsgRef{Platform: t.ev.Thread.Platform, Channel: t.ev.Thread.Channel, ID: t.ev.Message},
		ToolCalls: t.records, Model: t.served, ReviewChannel: t.review, State: conversation.DraftPending,
		Card: t.card}
	return e.openDraft(ctx, t.p, d)
}

// openDraft stores d, redraws the cards it supersedes, and posts (or, when
// d replaces a card, redraws) its own card.
func (e *Engine) openDraft(ctx context.Context, p Platform, d conversation.Draft) error {
	superseded, err := e.cfg.Drafts.CreateDraft(ctx, d)
	if err != nil {
		return fmt.Errorf("store draft: %w", err)
	}
	for _, s := range superseded {
		if s.Card.ID != d.Card.ID {
			e.redraw(ctx, s)
		}
	}
	cards, ok := p.(Cards)
	if !ok {
		return fmt.Errorf("post draft card: platform %s has no cards", p.Name())
	}
	if d.Card.ID != "" {
		return cards.UpdateCard(ctx, d.Card, e.card(ctx, d))
	}
	ref, err := cards.PostCard(ctx, e.cardPlace(d), e.card(ctx, d))
	if err != nil {
		return fmt.Errorf("post draft card: %w", err)
	}
	_, err = e.cfg.Drafts.UpdateDraft(ctx, d.ID, func(x *conversation.Draft) (*conversation.AuditRecord, error) {
		x.Card = ref
		return nil, nil
	})
	return err
}

// cardPlace is where a draft's card goes: the review channel, or for a tool
// call outside support channels the conversation's own thread.
func (e *Engine) cardPlace(d conversation.Draft) ThreadRef {
	th := refFromKey(d.Thread, false)
	if d.ReviewChannel == "" {
		return th
	}
	return ThreadRef{Platform: th.Platform, Workspace: th.Workspace, Channel: d.ReviewChannel}
}

// card renders d for review.
func (e *Engine) card(ctx context.Context, d conversation.Draft) Card {
	c := Card{DraftID: d.ID, Kind: d.Kind, State: d.State, Customer: d.Customer, CustomerName: d.CustomerName,
		Source: d.Source, Thread: refFromKey(d.Thread, false), Question: d.Question, Draft: d.Text,
		ToolCalls: d.ToolCalls, Model: d.Model, Outcome: outcome(d)}
	if d.Kind == conversation.DraftTool {
		c.Draft = ""
		c.ToolCalls = nil
		for _, r := range d.ToolCalls {
			if r.ID == d.Awaiting {
				c.ToolCalls = []conversation.ToolRecord{r}
			}
		}
	}
	if d.State == conversation.DraftPending {
		c.Actions = []ActionKind{ActionApprove, ActionEdit, ActionRegenerate, ActionReject}
		if d.Kind == conversation.DraftTool {
			c.Actions = []ActionKind{ActionApprove, ActionReject}
		}
	}
	return c
}

// outcome describes the state of d for its card.
func outcome(d conversation.Draft) string {
	who, at := "", ""
	if d.Decision != nil {
		who = d.Decision.ByName
		if who == "" {
			who = d.Decision.By
		}
		at = d.Decision.At.UTC().Format("2006-01-02 15:04 UTC")
	}
	switch d.State {
	case conversation.DraftPending:
		return ""
	case conversation.DraftSending:
		return fmt.Sprintf("Approved by %s at %s; sending…", who, at)
	case conversation.DraftSent:
		verb := "Approved"
		if d.Decision != nil && d.Decision.Action == "edit" {
			verb = "Edited and approved"
		}
		return fmt.Sprintf("%s by %s at %s; sent.", verb, who, at)
	case conversation.DraftRejected:
		s := fmt.Sprintf("Rejected by %s at %s.", who, at)
		if d.Decision != nil && d.Decision.Reason != "" {
			s += " Reason: " + d.Decision.Reason
		}
		return s
	case conversation.DraftSuperseded:
		if d.Decision != nil && d.Decision.Action == "regenerate" {
			return fmt.Sprintf("Regenerated by %s at %s.", who, at)
		}
		return "Superseded: the customer wrote again; a newer draft follows."
	}
	return string(d.State)
}

// redraw updates d's card to its current state.
func (e *Engine) redraw(ctx context.Context, d conversation.Draft) {
	p, ok := e.platform(d.Thread.Platform())
	if !ok || d.Card.ID == "" {
		return
	}
	cards, ok := p.(Cards)
	if !ok {
		return
	}
	if err := cards.UpdateCard(ctx, d.Card, e.card(ctx, d)); err != nil {
		e.log.Warn("update draft card", "draft", d.ID, "err", err)
	}
}

// Draft returns a stored draft, for example to prefill an edit modal.
func (e *Engine) Draft(ctx context.Context, id string) (conversation.Draft, error) {
	if e.cfg.Drafts == nil {
		return conversation.Draft{}, ErrUnknownDraft
	}
	d, err := e.cfg.Drafts.Draft(ctx, id)
	if errors.Is(err, conversation.ErrNotFound) {
		return d, ErrUnknownDraft
	}
	return d, err
}

// HandleAction checks that the user may review drafts and queues the
// decision for the draft's thread. It returns ErrNotAllowed (show the user a
// private notice; nothing changes) or ErrUnknownDraft.
func (e *Engine) HandleAction(ctx context.Context, a Action) error {
	if !e.CanApprove(ctx, a.Platform, a.User) {
		return ErrNotAllowed
	}
	d, err := e.Draft(ctx, a.DraftID)
	if err != nil {
		return err
	}
	th := refFromKey(d.Thread, false)
	var keys []string
	if a.DedupeKey != "" {
		keys = []string{a.DedupeKey}
	}
	return e.enqueue(d.Thread, Event{Kind: EventAction, Thread: th, User: a.User, Action: &a, DedupeKeys: keys,
		Time: e.cfg.Now()})
}
