package bot

import (
	"context"
	"fmt"
	"strings"

	"kimibot/conversation"
)

// finalInstruction asks for the answer when the step cap is reached.
const finalInstruction = "You have used every tool step allowed for this message. Do not call tools. " +
	"Answer the user now with what you have found, and say plainly what is still missing."

// prepare builds the request for the next model call: the history
// (summarized when it outgrows the budget) and the settings of the thread
// and channel: thinking, temperature and web search.
func (t *turn) prepare(ctx context.Context, msgs []conversation.Message) ChatRequest {
	req := t.request(t.summarized(ctx, msgs))
	req.Thinking = t.e.thinkingFor(ctx, t.ev.Thread)
	req.Temperature = t.e.cfg.Temperature
	if t.e.webSearchFor(ctx, t.ev.Thread) {
		// Moonshot's search needs thinking off.
		req.WebSearch, req.Thinking = true, ThinkingDisabled
	}
	return req
}

// lastStep is the call made at the step cap: no tools, and an instruction
// to answer with what the turn has found.
func (t *turn) lastStep(ctx context.Context) (outcome, error) {
	msgs, err := t.e.cfg.Threads.Messages(ctx, t.key)
	if err != nil {
		return outcome{}, fmt.Errorf("load history: %w", err)
	}
	req := t.prepare(ctx, msgs)
	req.Tools, req.WebSearch = nil, false
	req.Messages = append(req.Messages, conversation.Message{Role: conversation.RoleSystem, Text: finalInstruction})
	t.status(ctx, "writing the answer…")
	comp, err := t.streamInto(ctx, req)
	if err != nil {
		return outcome{}, err
	}
	asst := t.account(ctx, req, comp)
	if len(comp.ToolCalls) > 0 || strings.TrimSpace(comp.Content) == "" {
		return outcome{}, errTooManySteps
	}
	return outcome{answer: asst, reason: comp.FinishReason}, nil
}

// cacheHits adds the share of input tokens served from the provider's
// context cache, for the rows that have any.
func (e *Engine) cacheHits(ctx context.Context, rows []usageRow, b *strings.Builder) {
	var parts []string
	for _, r := range rows {
		u, _, err := e.cfg.Usage.UsageSum(ctx, r.filter)
		if err != nil || u.PromptTokens == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", strings.ToLower(r.label[:1])+r.label[1:],
			100*float64(u.CachedTokens)/float64(u.PromptTokens)))
	}
	if len(parts) > 0 {
		fmt.Fprintf(b, "• Cache hit rate (input tokens): %s\n", strings.Join(parts, "; "))
	}
}

// usageExtras adds the cache hit rates, the account balance and the conversation's summary to
// /kimi usage.
func (e *Engine) usageExtras(ctx context.Context, c Command, rows []usageRow, b *strings.Builder) {
	e.cacheHits(ctx, rows, b)
	if e.cfg.Balance != nil {
		bal, err := e.cfg.Balance.Balance(ctx)
		if err != nil {
			e.log.Warn("read account balance", "err", err)
		} else {
			fmt.Fprintf(b, "• Account balance: $%.2f (cash $%.2f, vouchers $%.2f)\n", bal.Available, bal.Cash, bal.Voucher)
		}
	}
	msgs, err := e.cfg.Threads.Messages(ctx, c.Thread.Key())
	if err != nil {
		return
	}
	if sum, ok := conversation.LatestSummary(msgs); ok {
		text := strings.TrimPrefix(sum.Text, conversation.SummaryPrefix)
		if len(text) > 600 {
			text = strings.ToValidUTF8(text[:600], "") + "…"
		}
		fmt.Fprintf(b, "• Earlier turns of this conversation are summarized:\n> %s\n",
			strings.ReplaceAll(text, "\n", "\n> "))
	}
}
