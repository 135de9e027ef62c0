package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"kimibot/conversation"
)

func (k *desk) cmdSupport(ctx context.Context, c Command) CommandReply {
	e := k.e
	if k.drafts == nil {
		return CommandReply{Text: "The support desk is not enabled."}
	}
	if !e.IsAdmin(ctx, c.Thread.Platform, c.User) {
		return CommandReply{Text: "Only admins can route a channel to reviewers."}
	}
	if len(c.Args) == 0 {
		if review, ok := k.reviewChannel(ctx, c.Thread); ok {
			return CommandReply{Text: fmt.Sprintf("Customer messages here go to review channel %s.", review)}
		}
		return CommandReply{Text: "This channel is not routed to reviewers. Use `support <review channel>`."}
	}
	target := c.Args[0]
	if slices.Contains(c.Args, "off") {
		target = "off"
	}
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

func (k *desk) cmdPending(ctx context.Context, c Command) CommandReply {
	e := k.e
	if k.drafts == nil {
		return CommandReply{Text: "The support desk is not enabled."}
	}
	if !k.CanApprove(ctx, c.Thread.Platform, c.User) && !e.IsAdmin(ctx, c.Thread.Platform, c.User) {
		return CommandReply{Text: "Only approvers can list pending drafts."}
	}
	drafts, err := k.drafts.DraftsByState(ctx, conversation.DraftPending)
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
