package kimi

import (
	openai "github.com/sashabaranov/go-openai"

	"kimibot/bot"
)

// builtinFunction is the tool type of Moonshot's built-in functions.
const builtinFunction openai.ToolType = "builtin_function"

// webSearchTool declares Moonshot's $web_search: a builtin_function
// without a schema.
var webSearchTool = map[string]any{"type": string(builtinFunction), "function": map[string]string{"name": bot.WebSearchTool}}

// setWebSearch declares $web_search next to the function tools when the
// request asks for it. Only Moonshot has it, and it needs thinking off,
// so models that always think go without it.
func (c *Client) setWebSearch(req bot.ChatRequest, rule modelRule, tools []openai.Tool, x *call) {
	if !req.WebSearch || c.cfg.Provider != Moonshot || rule.thinkingLocked {
		return
	}
	all := make([]any, 0, len(tools)+1)
	for _, t := range tools {
		all = append(all, t)
	}
	x.top["tools"] = append(all, webSearchTool)
	x.top["tool_choice"] = "auto"
}

// LocksSampling reports whether the model accepts only its own sampling
// settings (temperature, top_p), so that a configured temperature would be
// refused.
func LocksSampling(model string) bool { return ruleFor(model).fixedSampling }
