package bot

import (
	"context"
	"errors"
	"strings"

	"kimibot/conversation"
)

// The settings names of per-thread and per-channel switches.
const (
	// SettingThinking is a thread's thinking mode: "on" or "off".
	SettingThinking = "thinking"
	// SettingWebSearch is a channel's web search switch: "on" or "off".
	SettingWebSearch = "web_search"
)

// setting reads one setting, "" when unset or unreadable.
func (e *Engine) setting(ctx context.Context, scope conversation.Scope, name string) string {
	if e.cfg.Settings == nil || scope.ID == "" {
		return ""
	}
	v, err := e.cfg.Settings.Setting(ctx, scope, name)
	if err != nil && !errors.Is(err, conversation.ErrNotFound) {
		e.log.Warn("read setting", "name", name, "scope", scope.Kind, "err", err)
	}
	return v
}

// thinkingFor returns the thinking mode of thread t: the thread's
// /kimi thinking choice, else the configured default.
func (e *Engine) thinkingFor(ctx context.Context, t ThreadRef) Thinking {
	scope := conversation.Scope{Kind: conversation.ScopeThread, Platform: t.Platform, ID: string(t.Key())}
	switch e.setting(ctx, scope, SettingThinking) {
	case "on":
		return ThinkingEnabled
	case "off":
		return ThinkingDisabled
	}
	return e.cfg.Thinking
}

// webSearchFor reports whether $web_search is offered in t's channel: the
// channel's switch, else KIMIBOT_WEB_SEARCH.
func (e *Engine) webSearchFor(ctx context.Context, t ThreadRef) bool {
	scope := conversation.Scope{Kind: conversation.ScopeChannel, Platform: t.Platform, ID: t.Channel}
	switch e.setting(ctx, scope, SettingWebSearch) {
	case "on":
		return true
	case "off":
		return false
	}
	return e.cfg.WebSearch
}

// onOff parses a switch argument.
func onOff(arg string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(arg)) {
	case "on", "true", "yes", "enable", "enabled":
		return "on", true
	case "off", "false", "no", "disable", "disabled":
		return "off", true
	case "default", "reset":
		return "", true
	}
	return "", false
}

func (e *Engine) cmdThinking(ctx context.Context, c Command) CommandReply {
	if len(c.Args) == 0 {
		mode := e.thinkingFor(ctx, c.Thread)
		text := map[Thinking]string{ThinkingEnabled: "on", ThinkingDisabled: "off",
			ThinkingDefault: "the model's default"}[mode]
		return CommandReply{Text: "Thinking in this conversation: " + text + ". Use `thinking on` or `thinking off`."}
	}
	v, ok := onOff(c.Args[0])
	if !ok {
		return CommandReply{Text: "Use `thinking on`, `thinking off` or `thinking default`."}
	}
	if e.cfg.Settings == nil {
		return CommandReply{Text: "Settings are not stored here."}
	}
	scope := conversation.Scope{Kind: conversation.ScopeThread, Platform: c.Thread.Platform, ID: string(c.Thread.Key())}
	if err := e.cfg.Settings.SetSetting(ctx, scope, SettingThinking, v); err != nil {
		return e.commandFailed("store thinking choice", err)
	}
	switch v {
	case "on":
		return CommandReply{Text: "Thinking is on in this conversation (for models that can think).", Public: true}
	case "off":
		return CommandReply{Text: "Thinking is off in this conversation (for models that can turn it off).", Public: true}
	}
	return CommandReply{Text: "Thinking is back to the default in this conversation.", Public: true}
}

func (e *Engine) cmdWebSearch(ctx context.Context, c Command) CommandReply {
	if len(c.Args) == 0 {
		state := "off"
		if e.webSearchFor(ctx, c.Thread) {
			state = "on"
		}
		return CommandReply{Text: "Web search in this channel: " + state + ". Admins can change it with " +
			"`websearch on` or `websearch off`."}
	}
	v, ok := onOff(c.Args[0])
	if !ok {
		return CommandReply{Text: "Use `websearch on`, `websearch off` or `websearch default`."}
	}
	if !e.IsAdmin(ctx, c.Thread.Platform, c.User) {
		return CommandReply{Text: "Only admins can turn web search on or off for a channel."}
	}
	if e.cfg.Settings == nil {
		return CommandReply{Text: "Settings are not stored here."}
	}
	scope := conversation.Scope{Kind: conversation.ScopeChannel, Platform: c.Thread.Platform, ID: c.Thread.Channel}
	if err := e.cfg.Settings.SetSetting(ctx, scope, SettingWebSearch, v); err != nil {
		return e.commandFailed("store web search choice", err)
	}
	if e.webSearchFor(ctx, c.Thread) {
		return CommandReply{Text: "Web search is on in this channel: Kimi may search the web (Moonshot only; " +
			"thinking is off while it is available).", Public: true}
	}
	return CommandReply{Text: "Web search is off in this channel.", Public: true}
}
