package kimi

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"kimibot/bot"
	"kimibot/conversation"
)

// chunk is one streamed event of Moonshot or OpenRouter, with the fields
// go-openai's own chunk type drops.
type chunk struct {
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *chunkUsage   `json:"usage"`
	Error   *apiError     `json:"error"`
}

type chunkChoice struct {
	Index              int         `json:"index"`
	Delta              chunkDelta  `json:"delta"`
	FinishReason       string      `json:"finish_reason"`
	NativeFinishReason string      `json:"native_finish_reason"`
	Usage              *chunkUsage `json:"usage"`
}

type chunkDelta struct {
	Content          string            `json:"content"`
	ReasoningContent string            `json:"reasoning_content"`
	Reasoning        string            `json:"reasoning"`
	ReasoningDetails []json.RawMessage `json:"reasoning_details"`
	ToolCalls        []chunkToolCall   `json:"tool_calls"`
}

type chunkToolCall struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// chunkUsage covers both Moonshot's (cached_tokens at the top) and
// OpenRouter's (cost) usage objects.
type chunkUsage struct {
	PromptTokens        int     `json:"prompt_tokens"`
	CompletionTokens    int     `json:"completion_tokens"`
	TotalTokens         int     `json:"total_tokens"`
	CachedTokens        int     `json:"cached_tokens"`
	Cost                float64 `json:"cost"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

// toolAcc accumulates one tool call from its deltas.
type toolAcc struct {
	index int
	id    string
	name  string
	args  strings.Builder
}

// accumulator is the state of one streamed answer.
type accumulator struct {
	model        string
	finish       string
	nativeFinish string
	content      strings.Builder
	reasoning    strings.Builder
	details      []*detail
	tools        []*toolAcc
	usage        conversation.Usage
}

// decodeChunk decodes one event's data payload into acc and appends the
// chunks to pass on to out. An error object in the event, or a finish
// reason of "error", yields an *Error after any chunks of the same event.
// Plain text deltas take a fast path (decodeDelta).
func decodeChunk(data []byte, acc *accumulator, out []bot.Chunk) ([]bot.Chunk, error) {
	if more, ok := decodeDelta(data, acc, out); ok {
		return more, nil
	}
	return decodeFull(data, acc, out)
}

// decodeFull is decodeChunk for any event.
func decodeFull(data []byte, acc *accumulator, out []bot.Chunk) ([]bot.Chunk, error) {
	var c chunk
	if err := json.Unmarshal(data, &c); err != nil {
		return out, &Error{Kind: Stream, Message: "decode stream chunk: " + err.Error()}
	}
	if c.Model != "" {
		acc.model = c.Model
	}
	if c.Usage != nil {
		acc.setUsage(c.Usage)
	}
	failed := false
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue
		}
		out = acc.addDelta(&ch.Delta, out)
		if ch.Usage != nil {
			acc.setUsage(ch.Usage)
		}
		if ch.FinishReason != "" {
			acc.finish, acc.nativeFinish = ch.FinishReason, ch.NativeFinishReason
			failed = ch.FinishReason == "error"
		}
	}
	switch {
	case c.Error != nil:
		return out, newAPIError(0, c.Error, nil)
	case failed:
		return out, &Error{Kind: ProviderDown, Code: acc.nativeFinish, Message: "the provider ended the answer with an error"}
	}
	return out, nil
}

// addDelta adds one delta's text, reasoning and tool-call pieces.
func (acc *accumulator) addDelta(d *chunkDelta, out []bot.Chunk) []bot.Chunk {
	reasoning := d.ReasoningContent
	if reasoning == "" {
		reasoning = d.Reasoning
	}
	if reasoning != "" {
		acc.reasoning.WriteString(reasoning)
		out = append(out, bot.Chunk{Reasoning: reasoning})
	}
	if d.Content != "" {
		acc.content.WriteString(d.Content)
		out = append(out, bot.Chunk{Content: d.Content})
	}
	for _, raw := range d.ReasoningDetails {
		acc.addDetail(raw)
	}
	for i := range d.ToolCalls {
		if name := acc.addToolDelta(&d.ToolCalls[i]); name != "" {
			out = append(out, bot.Chunk{ToolName: name})
		}
	}
	return out
}

// addToolDelta adds a tool-call delta to the call with the same index and
// returns the call's name when this delta is the first to carry it.
func (acc *accumulator) addToolDelta(d *chunkToolCall) (newName string) {
	t := acc.toolFor(d)
	if d.ID != "" && t.id == "" {
		t.id = d.ID
	}
	if d.Function.Name != "" && t.name == "" {
		t.name = d.Function.Name
		newName = t.name
	}
	t.args.WriteString(d.Function.Arguments)
	return newName
}

// toolFor finds the call a delta belongs to, by index. A delta without an
// index continues the last call, or starts a new one when it has a new ID.
func (acc *accumulator) toolFor(d *chunkToolCall) *toolAcc {
	var idx int
	switch {
	case d.Index != nil:
		idx = *d.Index
	case len(acc.tools) == 0:
		idx = 0
	default:
		last := acc.tools[len(acc.tools)-1]
		if d.ID == "" || d.ID == last.id {
			return last
		}
		idx = slices.MaxFunc(acc.tools, byIndex).index + 1
	}
	for _, t := range acc.tools {
		if t.index == idx {
			return t
		}
	}
	t := &toolAcc{index: idx}
	acc.tools = append(acc.tools, t)
	return t
}

// setUsage records the latest usage report.
func (acc *accumulator) setUsage(u *chunkUsage) {
	acc.usage = conversation.Usage{
		PromptTokens:     u.PromptTokens,
		CachedTokens:     u.CachedTokens,
		CompletionTokens: u.CompletionTokens,
		TotalTokens:      u.TotalTokens,
		Cost:             u.Cost,
	}
	if u.PromptTokensDetails != nil && u.PromptTokensDetails.CachedTokens != 0 {
		acc.usage.CachedTokens = u.PromptTokensDetails.CachedTokens
	}
	if u.CompletionTokensDetails != nil {
		acc.usage.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
	}
}

func byIndex(a, b *toolAcc) int { return cmp.Compare(a.index, b.index) }

// completion assembles the whole answer.
func (acc *accumulator) completion() *bot.Completion {
	c := &bot.Completion{
		Model:            acc.model,
		FinishReason:     bot.FinishReason(acc.finish),
		Content:          acc.content.String(),
		Reasoning:        acc.reasoning.String(),
		Usage:            acc.usage,
		ReasoningDetails: acc.detailsJSON(),
	}
	tools := slices.Clone(acc.tools)
	slices.SortStableFunc(tools, byIndex)
	for _, t := range tools {
		args := t.args.String()
		if strings.TrimSpace(args) == "" {
			args = "{}"
		}
		c.ToolCalls = append(c.ToolCalls, conversation.ToolCall{ID: t.id, Name: t.name, Arguments: args})
	}
	return c
}
