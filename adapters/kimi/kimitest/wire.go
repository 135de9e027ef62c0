package kimitest

// The JSON shapes the fake writes, per kimi-api.md A3, A4, B3 and B4.

// chunk is one streamed chat.completion.chunk.
type chunk struct {
	ID       string     `json:"id"`
	Object   string     `json:"object"`
	Created  int64      `json:"created"`
	Model    string     `json:"model"`
	Provider string     `json:"provider,omitempty"`
	Error    *orError   `json:"error,omitempty"`
	Choices  []choice   `json:"choices"`
	Usage    *usageJSON `json:"usage,omitempty"`
}

// choice is a streamed choice. NativeFinishReason is written only when
// set: OpenRouter chunks carry a (*string)(nil) there, written as null.
type choice struct {
	Index              int        `json:"index"`
	Delta              delta      `json:"delta"`
	FinishReason       *string    `json:"finish_reason"`
	NativeFinishReason any        `json:"native_finish_reason,omitempty"`
	Usage              *usageJSON `json:"usage,omitempty"`
}

type delta struct {
	Role             string            `json:"role,omitempty"`
	Content          *string           `json:"content,omitempty"`
	ReasoningContent *string           `json:"reasoning_content,omitempty"`
	Reasoning        *string           `json:"reasoning,omitempty"`
	ReasoningDetails []reasoningDetail `json:"reasoning_details,omitempty"`
	ToolCalls        []toolDelta       `json:"tool_calls,omitempty"`
}

type reasoningDetail struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	Format string `json:"format"`
	Index  int    `json:"index"`
}

type toolDelta struct {
	Index    int           `json:"index"`
	ID       string        `json:"id,omitempty"`
	Type     string        `json:"type,omitempty"`
	Function toolDeltaFunc `json:"function"`
}

type toolDeltaFunc struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// usageJSON is the usage object. CachedTokens (top level) is Moonshot's;
// Cost and IsBYOK are OpenRouter's.
type usageJSON struct {
	PromptTokens        int  `json:"prompt_tokens"`
	CompletionTokens    int  `json:"completion_tokens"`
	TotalTokens         int  `json:"total_tokens"`
	CachedTokens        *int `json:"cached_tokens,omitempty"`
	PromptTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
	Cost   *float64 `json:"cost,omitempty"`
	IsBYOK *bool    `json:"is_byok,omitempty"`
}

// completion is a non-stream chat.completion.
type completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	Provider          string             `json:"provider,omitempty"`
	Choices           []completionChoice `json:"choices"`
	Usage             *usageJSON         `json:"usage"`
	SystemFingerprint string             `json:"system_fingerprint,omitempty"`
}

type completionChoice struct {
	Index              int     `json:"index"`
	FinishReason       string  `json:"finish_reason"`
	NativeFinishReason string  `json:"native_finish_reason,omitempty"`
	Message            message `json:"message"`
}

type message struct {
	Role             string            `json:"role"`
	Content          string            `json:"content"`
	ReasoningContent *string           `json:"reasoning_content,omitempty"`
	Reasoning        *string           `json:"reasoning,omitempty"`
	ReasoningDetails []reasoningDetail `json:"reasoning_details,omitempty"`
	ToolCalls        []fullToolCall    `json:"tool_calls,omitempty"`
}

type fullToolCall struct {
	Index    int           `json:"index"`
	ID       string        `json:"id"`
	Type     string        `json:"type"`
	Function toolDeltaFunc `json:"function"`
}

func (t *turn) usageJSON() *usageJSON {
	u := &usageJSON{
		PromptTokens:     t.usage.PromptTokens,
		CompletionTokens: t.usage.CompletionTokens,
		TotalTokens:      t.usage.PromptTokens + t.usage.CompletionTokens,
	}
	u.PromptTokensDetails.CachedTokens = t.usage.CachedTokens
	u.CompletionTokensDetails.ReasoningTokens = t.usage.ReasoningTokens
	if t.flavor == OpenRouter {
		cost, byok := t.usage.Cost, false
		u.Cost, u.IsBYOK = &cost, &byok
	} else {
		cached := t.usage.CachedTokens
		u.CachedTokens = &cached
	}
	return u
}

// reasoningDelta carries a piece of reasoning in the flavour's fields.
func (t *turn) reasoningDelta(piece string) delta {
	if t.flavor == OpenRouter {
		return delta{Reasoning: &piece, ReasoningDetails: details(piece)}
	}
	return delta{ReasoningContent: &piece}
}

func details(text string) []reasoningDetail {
	return []reasoningDetail{{Type: "reasoning.text", Text: text, Format: "unknown", Index: 0}}
}

// completionJSON is the whole answer as one chat.completion.
func (t *turn) completionJSON() completion {
	msg := message{Role: "assistant", Content: t.resp.Content}
	if r := t.reasoning; r != "" && t.flavor == OpenRouter {
		msg.Reasoning, msg.ReasoningDetails = &r, details(r)
	} else if r != "" {
		msg.ReasoningContent = &r
	}
	for i, c := range t.calls {
		msg.ToolCalls = append(msg.ToolCalls, fullToolCall{Index: i, ID: c.ID, Type: callType(c.Name),
			Function: toolDeltaFunc{Name: c.Name, Arguments: c.Arguments}})
	}
	ch := completionChoice{FinishReason: t.finish, Message: msg}
	out := completion{ID: t.id, Object: "chat.completion", Created: t.created, Model: t.model,
		Choices: []completionChoice{ch}, Usage: t.usageJSON()}
	if t.flavor == OpenRouter {
		out.Provider = t.provider
		out.Choices[0].NativeFinishReason = t.finish
	} else {
		out.SystemFingerprint = "fpv0_kimitest"
	}
	return out
}
