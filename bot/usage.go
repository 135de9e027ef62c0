package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"kimibot/conversation"
)

// noteUsage keeps one model call's usage, with its cost, for the turn to
// store: with its answer when it ends with one, else by flushUsage.
func (t *turn) noteUsage(ctx context.Context, model string, u conversation.Usage) {
	if t.e.cfg.Usage == nil {
		return
	}
	if u.Cost == 0 {
		u.Cost = t.e.cost(ctx, model, u)
	}
	t.unstored = append(t.unstored, conversation.UsageRecord{Time: t.e.cfg.Now(), Platform: t.ev.Thread.Platform,
		Workspace: t.ev.Thread.Workspace, Channel: t.ev.Thread.Channel, Thread: string(t.key), User: t.ev.User.ID,
		Model: model, Usage: u})
}

// flushUsage stores the usage records the turn has not stored yet.
func (t *turn) flushUsage(ctx context.Context) {
	for _, rec := range t.unstored {
		if err := t.e.cfg.Usage.RecordUsage(context.WithoutCancel(ctx), rec); err != nil {
			t.log.Warn("record usage", "err", err)
		}
	}
	t.unstored = nil
}

// cost estimates the USD cost of u from the configured prices (by model
// family, DefaultPrices when none are configured) or the catalog. Cached
// input tokens cost the cache-hit price.
func (e *Engine) cost(ctx context.Context, model string, u conversation.Usage) float64 {
	prices := e.cfg.Prices
	if prices == nil {
		prices = DefaultPrices
	}
	p, ok := priceFor(prices, model)
	if !ok {
		info := e.modelInfo(ctx, model)
		p = Price{Prompt: info.PromptPrice, Completion: info.CompletionPrice, Cached: info.PromptPrice}
	}
	if p.Cached == 0 {
		p.Cached = p.Prompt
	}
	uncached := max(u.PromptTokens-u.CachedTokens, 0)
	return float64(uncached)*p.Prompt + float64(u.CachedTokens)*p.Cached + float64(u.CompletionTokens)*p.Completion
}

// usageRow is one line of /kimi usage.
type usageRow struct {
	label  string
	filter conversation.UsageFilter
}

func (cm *commander) cmdUsage(ctx context.Context, c Command) CommandReply {
	e := cm.e
	if e.cfg.Usage == nil {
		return CommandReply{Text: "Usage accounting is not enabled."}
	}
	now := e.cfg.Now().UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	p := c.Thread.Platform
	rows := []usageRow{
		{"You, today", conversation.UsageFilter{Platform: p, User: c.User.ID, Since: day}},
		{"You, this month", conversation.UsageFilter{Platform: p, User: c.User.ID, Since: month}},
		{"This channel, today", conversation.UsageFilter{Platform: p, Channel: c.Thread.Channel, Since: day}},
		{"This channel, this month", conversation.UsageFilter{Platform: p, Channel: c.Thread.Channel, Since: month}},
		{"This conversation", conversation.UsageFilter{Platform: p, Thread: string(c.Thread.Key())}},
	}
	var b strings.Builder
	b.WriteString("*Usage* (tokens in / out, estimated cost, UTC days)\n")
	for _, r := range rows {
		u, n, err := e.cfg.Usage.UsageSum(ctx, r.filter)
		if err != nil {
			return commandFailed(e.log, "sum usage", err)
		}
		fmt.Fprintf(&b, "• %s: %s in / %s out", r.label, groupDigits(u.PromptTokens), groupDigits(u.CompletionTokens))
		if u.CachedTokens > 0 {
			fmt.Fprintf(&b, " (%s cached)", groupDigits(u.CachedTokens))
		}
		fmt.Fprintf(&b, ", $%.4f, %d calls\n", u.Cost, n)
	}
	cm.usageExtras(ctx, c, rows, &b)
	return CommandReply{Text: strings.TrimRight(b.String(), "\n")}
}

// groupDigits writes n with thousands separators.
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + groupDigits(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
