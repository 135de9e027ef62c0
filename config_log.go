package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// LogValue renders the configuration for logs with every secret replaced by
// "set" or "unset".
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Group("kimi",
			"provider", c.Provider,
			"api_key", secretState(c.APIKey),
			"base_url", redactURL(c.BaseURL),
			"model", c.Model,
			"openrouter_provider", c.OpenRouterProvider,
			"openrouter_fallbacks", c.OpenRouterFallbacks),
		slog.Group("slack",
			"bot_token", secretState(c.SlackBotToken),
			"app_token", secretState(c.SlackAppToken),
			"signing_secret", secretState(c.SlackSigningSecret),
			"api_url", redactURL(c.SlackAPIURL)),
		slog.Group("discord",
			"bot_token", secretState(c.DiscordBotToken),
			"api_url", redactURL(c.DiscordAPIURL),
			"shard_id", c.DiscordShardID,
			"shard_count", c.DiscordShardCount),
		slog.Group("orders",
			"api_url", redactURL(c.OrdersAPIURL),
			"api_token", secretState(c.OrdersAPIToken),
			"file", c.OrdersFile),
		c.behaviourAttr(),
		c.Kimi.logAttr(),
	)
}

// behaviourAttr is the LogValue group of non-secret settings.
func (c Config) behaviourAttr() slog.Attr {
	prompt := "default"
	if c.SystemPrompt != "" {
		prompt = fmt.Sprintf("custom (%d chars)", len(c.SystemPrompt))
	}
	return slog.Group("bot",
		"db", c.DB,
		"http_addr", c.HTTPAddr,
		"admins", joinStrings(c.Admins),
		"approvers", joinStrings(c.Approvers),
		"support_routes", joinStrings(c.SupportRoutes),
		"system_prompt", prompt,
		"bot_name", c.BotName,
		"footer", c.Footer,
		"log_level", c.LogLevel.String(),
		"log_format", c.LogFormat,
		"tools_needing_approval", c.ToolsNeedingApproval,
		"max_steps", c.MaxSteps,
		"reminder_after", c.ReminderAfter)
}

// String renders the configuration as LogValue does, so that printing a
// Config with the fmt package never shows a secret.
func (c Config) String() string {
	return c.LogValue().String()
}

// GoString is String, for the %#v verb.
func (c Config) GoString() string {
	return c.String()
}

func secretState(s string) string {
	if s == "" {
		return "unset"
	}
	return "set"
}

// redactURL hides any password embedded in a URL and otherwise returns it unchanged.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		return u.Redacted()
	}
	return s
}

func joinStrings[T fmt.Stringer](items []T) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.String()
	}
	return strings.Join(parts, ",")
}

var _ slog.LogValuer = Config{}
var _ fmt.Stringer = Config{}
var _ fmt.GoStringer = Config{}
var _ error = (*ConfigError)(nil)
