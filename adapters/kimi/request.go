package kimi

import (
	"encoding/json"
	"errors"

	openai "github.com/sashabaranov/go-openai"

	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/tools"
)

// reasoningPlaceholder stands in for missing reasoning on assistant
// tool-call messages of thinking models; Moonshot accepts it.
const reasoningPlaceholder = " "

// moonshotEfforts are the reasoning_effort values Moonshot accepts.
var moonshotEfforts = map[string]bool{"low": true, "high": true, "max": true}

// emptySchema is sent for tools without parameters.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// buildRequest turns a ChatRequest into go-openai's request plus the extras
// go-openai cannot express. thinks says whether the model will think.
func (c *Client) buildRequest(req bot.ChatRequest, thinks bool) (openai.ChatCompletionRequest, *call, error) {
	rule := ruleFor(req.Model)
	x := &call{top: make(map[string]any)}
	out := openai.ChatCompletionRequest{
		Model:    req.Model,
		Messages: make([]openai.ChatCompletionMessage, 0, len(req.Messages)),
		Stream:   true,
	}
	for i, m := range req.Messages {
		out.Messages = append(out.Messages, c.message(i, m, thinks, x))
	}
	if req.Partial {
		last := len(req.Messages) - 1
		if last < 0 || req.Messages[last].Role != conversation.RoleAssistant {
			return out, nil, errors.New("partial mode needs an assistant message last")
		}
		x.setMsg(last, "partial", true)
	}
	out.Tools = functionTools(req.Tools)
	if len(out.Tools) > 0 {
		out.ToolChoice = "auto"
	}
	c.setWebSearch(req, rule, out.Tools, x)
	c.setSampling(req, rule, x)
	c.setThinking(req, rule, x)
	if c.cfg.Provider == OpenRouter {
		out.MaxTokens = req.MaxTokens
		c.setRouting(x)
	} else {
		out.MaxCompletionTokens = req.MaxTokens
		out.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
	}
	return out, x, nil
}

// message converts one stored message; fields go-openai cannot send go to x.
func (c *Client) message(i int, m conversation.Message, thinks bool, x *call) openai.ChatCompletionMessage {
	out := openai.ChatCompletionMessage{Role: string(m.Role), Content: m.Text}
	switch m.Role {
	case conversation.RoleUser:
		if len(m.Parts) > 0 {
			out.Content, out.MultiContent = "", userParts(m)
		}
	case conversation.RoleTool:
		out.ToolCallID, out.Name = m.ToolCallID, m.ToolName
	case conversation.RoleAssistant:
		c.assistant(i, m, thinks, &out, x)
	}
	if out.Content == "" && len(out.MultiContent) == 0 && len(out.ToolCalls) == 0 {
		// go-openai omits an empty content; the API wants the field.
		x.setMsg(i, "content", "")
	}
	return out
}

// assistant fills an assistant message's tool calls and reasoning.
func (c *Client) assistant(i int, m conversation.Message, thinks bool, out *openai.ChatCompletionMessage, x *call) {
	for _, tc := range m.ToolCalls {
		args := tc.Arguments
		if args == "" {
			args = "{}"
		}
		typ := openai.ToolTypeFunction
		if tc.Name == bot.WebSearchTool {
			typ = builtinFunction
		}
		out.ToolCalls = append(out.ToolCalls, openai.ToolCall{
			ID: tc.ID, Type: typ,
			Function: openai.FunctionCall{Name: tc.Name, Arguments: args},
		})
	}
	reasoning := m.Reasoning
	if reasoning == "" && thinks && len(m.ToolCalls) > 0 {
		reasoning = reasoningPlaceholder
	}
	if c.cfg.Provider != OpenRouter {
		out.ReasoningContent = reasoning
		return
	}
	if reasoning != "" {
		x.setMsg(i, "reasoning", reasoning)
	}
	if len(m.ReasoningDetails) > 0 && json.Valid(m.ReasoningDetails) {
		x.setMsg(i, "reasoning_details", m.ReasoningDetails)
	}
}

// userParts builds the content parts of a user message with images.
func userParts(m conversation.Message) []openai.ChatMessagePart {
	parts := make([]openai.ChatMessagePart, 0, len(m.Parts)+1)
	if m.Text != "" {
		parts = append(parts, openai.ChatMessagePart{Type: openai.ChatMessagePartTypeText, Text: m.Text})
	}
	for _, p := range m.Parts {
		switch p.Type {
		case conversation.PartImage:
			parts = append(parts, openai.ChatMessagePart{
				Type:     openai.ChatMessagePartTypeImageURL,
				ImageURL: &openai.ChatMessageImageURL{URL: p.ImageURL},
			})
		case conversation.PartText:
			if p.Text != "" {
				parts = append(parts, openai.ChatMessagePart{Type: openai.ChatMessagePartTypeText, Text: p.Text})
			}
		}
	}
	return parts
}

// functionTools declares the tools as functions.
func functionTools(specs []tools.Spec) []openai.Tool {
	out := make([]openai.Tool, 0, len(specs))
	for _, s := range specs {
		params := s.Parameters
		if len(params) == 0 {
			params = emptySchema
		}
		out = append(out, openai.Tool{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
			Name: s.Name, Description: s.Description, Parameters: params,
		}})
	}
	return out
}

// setSampling applies the model's temperature rule. The temperature goes
// through the extras so that an explicit 0 is sent.
func (c *Client) setSampling(req bot.ChatRequest, rule modelRule, x *call) {
	if req.Temperature == nil || rule.fixedSampling {
		return
	}
	t := *req.Temperature
	if rule.maxTemperature > 0 {
		t = min(max(t, 0), rule.maxTemperature)
	}
	x.top["temperature"] = t
}

// setThinking asks for thinking on or off the way the provider wants it.
func (c *Client) setThinking(req bot.ChatRequest, rule modelRule, x *call) {
	mode := req.Thinking
	if mode == bot.ThinkingDisabled && rule.thinkingLocked {
		mode = bot.ThinkingDefault
	}
	if c.cfg.Provider == OpenRouter {
		r := map[string]any{}
		if mode != bot.ThinkingDefault {
			r["enabled"] = mode == bot.ThinkingEnabled
		}
		if c.cfg.ReasoningEffort != "" && mode != bot.ThinkingDisabled {
			r["effort"] = c.cfg.ReasoningEffort
		}
		if len(r) > 0 {
			x.top["reasoning"] = r
		}
		return
	}
	if mode != bot.ThinkingDefault && rule.toggle {
		x.top["thinking"] = map[string]string{"type": string(mode)}
	}
	if rule.effort && moonshotEfforts[c.cfg.ReasoningEffort] && mode != bot.ThinkingDisabled {
		x.top["reasoning_effort"] = c.cfg.ReasoningEffort
	}
}

// setRouting adds OpenRouter's provider preferences and fallback models.
func (c *Client) setRouting(x *call) {
	if len(c.cfg.ProviderPrefs) > 0 {
		x.top["provider"] = c.cfg.ProviderPrefs
	}
	if len(c.cfg.FallbackModels) > 0 {
		x.top["models"] = c.cfg.FallbackModels
	}
}
