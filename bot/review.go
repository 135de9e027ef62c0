package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"kimibot/conversation"
)

// lineDiff is a line-based diff of a to b: unchanged lines start with two
// spaces, removed ones with "- " and added ones with "+ ". It is empty when
// a equals b.
func lineDiff(a, b string) string {
	if a == b {
		return ""
	}
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// lcs[i][j] is the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, "  "+x[i])
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, "- "+x[i])
			i++
		default:
			out = append(out, "+ "+y[j])
			j++
		}
	}
	return strings.Join(out, "\n")
}

func (e *Engine) cmdSupport(ctx context.Context, c Command) CommandReply {
	if e.cfg.Drafts == nil {
		return CommandReply{Text: "The support desk is not enabled."}
	}
	if !e.IsAdmin(ctx, c.Thread.Platform, c.User) {
		return CommandReply{Text: "Only admins can route a channel to reviewers."}
	}
	if len(c.Args) == 0 {
		if review, ok := e.reviewChannel(ctx, c.Thread); ok {
			return CommandReply{Text: fmt.Sprintf("Customer messages here go to review channel %s.", review)}
		}
		return CommandReply{Text: "This channel is not routed to reviewers. Use `support <review channel>`."}
	}
	target := c.Args[0]
	if target == c.Thread.Channel {
		return CommandReply{Text: "The review channel must be another channel than the customer channel."}
	}
	scope := conversation.Scope{Kind: conversation.ScopeChannel, Platform: c.Thread.Platform, ID: c.Thread.Channel}
	if err := e.cfg.Settings.SetSetting(ctx, scope, settingReview, target); err != nil {
		return e.commandFailed("store support route", err)
	}
	if target == "off" {
		return CommandReply{Text: "The bot answers here directly again; drafts are no longer sent for review.", Public: true}
	}
	return CommandReply{Text: fmt.Sprintf("Customer messages in this channel are now drafted and sent to review "+
		"channel %s; nothing reaches the customer before an approver decides.", target), Public: true}
}

func (e *Engine) cmdPending(ctx context.Context, c Command) CommandReply {
	if e.cfg.Drafts == nil {
		return CommandReply{Text: "The support desk is not enabled."}
	}
	if !e.CanApprove(ctx, c.Thread.Platform, c.User) && !e.IsAdmin(ctx, c.Thread.Platform, c.User) {
		return CommandReply{Text: "Only approvers can list pending drafts."}
	}
	drafts, err := e.cfg.Drafts.DraftsByState(ctx, conversation.DraftPending)
	if err != nil {
		return e.commandFailed("list pending drafts", err)
	}
	var b strings.Builder
	n := 0
	for _, d := range drafts {
		if d.Thread.Platform() != c.Thread.Platform {
			continue
		}
		n++
		fmt.Fprintf(&b, "• %s from %s, waiting %s", kindText(d), nameOr(d.CustomerName, d.Customer),
			e.cfg.Now().Sub(d.Created).Round(time.Minute))
		if link := e.link(ctx, d.Card); link != "" {
			fmt.Fprintf(&b, " — %s", link)
		}
		fmt.Fprintf(&b, "\n  “%s”\n", clip(d.Question, 120))
	}
	if n == 0 {
		return CommandReply{Text: "Nothing is waiting for review."}
	}
	return CommandReply{Text: fmt.Sprintf("*%d waiting for review*\n%s", n, strings.TrimRight(b.String(), "\n"))}
}

func kindText(d conversation.Draft) string {
	if d.Kind == conversation.DraftTool {
		return "Tool call"
	}
	return "Reply"
}

func nameOr(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}

// link returns a permalink to ref, or "" when the platform has none.
func (e *Engine) link(ctx context.Context, ref MsgRef) string {
	p, ok := e.platform(ref.Platform)
	if !ok || ref.ID == "" {
		return ""
	}
	l, ok := p.(Linker)
	if !ok {
		return ""
	}
	s, err := l.Permalink(ctx, ref)
	if err != nil {
		e.log.Debug("permalink", "err", err)
	}
	return s
}

// reconcile finishes drafts left in "sending" by a crash: a reply that
// was posted is found and recorded, one that was not is posted once.
func (e *Engine) reconcile(ctx context.Context) {
	if e.cfg.Drafts == nil {
		return
	}
	drafts, err := e.cfg.Drafts.DraftsByState(ctx, conversation.DraftSending)
	if err != nil {
		e.log.Error("list drafts being sent", "err", err)
		return
	}
	for _, d := range drafts {
		var err error
		if d.Kind == conversation.DraftTool {
			err = e.enqueue(d.Thread, Event{Kind: EventAction, Thread: refFromKey(d.Thread, false),
				Action: &Action{Kind: actionResume, DraftID: d.ID}})
		} else {
			err = e.enqueue(d.Thread, Event{Kind: EventAction, Thread: refFromKey(d.Thread, false),
				Action: &Action{Kind: actionDeliver, DraftID: d.ID}})
		}
		if err != nil {
			e.log.Error("queue draft reconciliation", "draft", d.ID, "err", err)
		}
	}
}

// Internal actions queued by reconcile.
const (
	actionDeliver ActionKind = "deliver"
	actionResume  ActionKind = "resume"
)

// remind posts one reminder for each draft pending longer than ReminderAfter.
func (e *Engine) remind(ctx context.Context) {
	drafts, err := e.cfg.Drafts.DraftsByState(ctx, conversation.DraftPending)
	if err != nil {
		e.log.Error("list pending drafts", "err", err)
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
		where := e.cardPlace(d)
		where.Thread = d.Card.ID
		text := fmt.Sprintf("Reminder: this %s from %s has waited %s for review.", strings.ToLower(kindText(d)),
			nameOr(d.CustomerName, d.Customer), now.Sub(d.Created).Round(time.Minute))
		if _, err := poster.Post(ctx, where, text, ""); err != nil {
			e.log.Warn("post draft reminder", "draft", d.ID, "err", err)
			continue
		}
		_, err := e.cfg.Drafts.UpdateDraft(ctx, d.ID, func(x *conversation.Draft) (*conversation.AuditRecord, error) {
			x.RemindedAt = now
			return nil, nil
		})
		if err != nil {
			e.log.Warn("record draft reminder", "draft", d.ID, "err", err)
		}
	}
}

// supervise sends reminders until ctx ends.
func (e *Engine) supervise(ctx context.Context, every time.Duration) {
	if e.cfg.Drafts == nil {
		return
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		e.remind(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
