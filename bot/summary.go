package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"kimibot/conversation"
)

// summaryMaxTokens caps the length of one summary.
const summaryMaxTokens = 1024

// summaryResultBytes caps each tool result in the transcript to summarize.
const summaryResultBytes = 2000

const summaryInstruction = "You condense chat conversations. Summarize the conversation the user gives you " +
	"for your own later reference: who asked what, the answers and decisions, facts found with tools " +
	"(order numbers, figures, links), and open questions. Be brief and factual; use the conversation's language."

// budget is the token room for one call: the model's context window, or
// less when HistoryTokens caps the history.
func (t *turn) budget() conversation.Budget {
	b := conversation.Budget{ContextTokens: t.info.ContextLength, ReserveOutput: t.e.cfg.MaxTokens}
	if h := t.e.cfg.HistoryTokens; h > 0 {
		reserve := b.ReserveOutput
		if reserve <= 0 {
			reserve = conversation.DefaultReserveOutput
		}
		if b.ContextTokens <= 0 || h+reserve < b.ContextTokens {
			b = conversation.Budget{ContextTokens: h + reserve, ReserveOutput: reserve}
		}
	}
	return b
}

// systemMessage is the rendered system prompt of a call.
func (t *turn) systemMessage() conversation.Message {
	e := t.e
	return conversation.Message{Role: conversation.RoleSystem,
		Text: e.prompt.render(e.cfg.SystemPrompt, e.cfg.BotName, e.cfg.Now())}
}

// promptCache keeps the rendered system prompt while what it shows (the
// day, or the minute for a prompt with {time}) stays the same.
type promptCache struct {
	mu   sync.Mutex
	key  string
	text string
}

func (c *promptCache) render(tmpl, botName string, now time.Time) string {
	key := now.Format("2006-01-02")
	if strings.Contains(tmpl, "{time}") {
		key = now.Format("2006-01-02 15:04 MST")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != key || c.text == "" {
		c.key, c.text = key, conversation.RenderSystemPrompt(tmpl, botName, now)
	}
	return c.text
}

// summarized returns the thread's messages as the model sees them. When
// they outgrow the budget, the oldest turns (tool-call groups whole) are
// summarized with the model first and the summary is stored with the
// thread. A failed summary is logged; the oldest turns are then dropped.
func (t *turn) summarized(ctx context.Context, msgs []conversation.Message) []conversation.Message {
	msgs = conversation.ApplySummary(msgs)
	old, covers := conversation.Overflow(t.systemMessage(), msgs, t.budget(), t.e.est)
	if old == nil || t.fitsExactly(ctx, msgs) {
		return msgs
	}
	t.status(ctx, "summarizing the earlier conversation…")
	text, err := t.summarize(ctx, old)
	if err != nil {
		t.log.Warn("summarize history", "err", err)
		return msgs
	}
	sum := conversation.Message{Role: conversation.RoleSystem, Text: conversation.SummaryPrefix + text,
		Covers: covers, Model: t.model, Time: t.e.cfg.Now()}
	stored, err := t.e.cfg.Threads.Append(ctx, t.key, sum)
	if err != nil {
		t.log.Warn("store summary", "err", err)
		return msgs
	}
	t.log.Info("summarized history", "messages", len(old), "covers", covers)
	return conversation.ApplySummary(append(msgs, stored...))
}

// fitsExactly asks the provider's tokenizer whether msgs fit the budget
// after all, and teaches the local estimator the exact count.
func (t *turn) fitsExactly(ctx context.Context, msgs []conversation.Message) bool {
	if t.e.cfg.Tokens == nil {
		return false
	}
	full := conversation.BuildHistory(t.systemMessage(), msgs, conversation.Budget{ContextTokens: 1 << 30}, t.e.est)
	n, err := t.e.cfg.Tokens.CountTokens(ctx, ChatRequest{Model: t.model, Messages: withDocuments(full)})
	if err != nil {
		t.log.Debug("count tokens", "err", err)
		return false
	}
	t.e.est.Observe(t.e.est.Estimate(full), n)
	return n <= t.budget().PromptLimit()
}

// summarize asks the model for a summary of msgs, without tools or
// thinking, and accounts its usage with the turn.
func (t *turn) summarize(ctx context.Context, msgs []conversation.Message) (string, error) {
	req := ChatRequest{Model: t.model, MaxTokens: summaryMaxTokens, Thinking: ThinkingDisabled,
		Messages: []conversation.Message{
			{Role: conversation.RoleSystem, Text: summaryInstruction},
			{Role: conversation.RoleUser, Text: conversation.Transcript(msgs, summaryResultBytes)},
		}}
	s, err := t.e.meter.observedStream(ctx, t, req)
	if err != nil {
		return "", fmt.Errorf("start summary: %w", err)
	}
	defer s.Close()
	for {
		c, err := s.Recv()
		switch {
		case errors.Is(err, io.EOF):
			return "", errors.New("summary stream ended without a result")
		case err != nil:
			return "", fmt.Errorf("read summary: %w", err)
		case c.Final != nil:
			u := t.e.priced(ctx, t.model, c.Final.Usage)
			t.usage = t.usage.Add(u)
			t.noteUsage(ctx, t.model, u)
			text := strings.TrimSpace(c.Final.Content)
			if text == "" {
				return "", errors.New("empty summary")
			}
			return text, nil
		}
	}
}
