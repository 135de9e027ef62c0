package main

import (
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"kimibot/adapters/kimi"
	"kimibot/bot"
	"kimibot/tools/mcp"
)

// KimiConfig holds what shapes Kimi's answers and what Kimi may use:
// thinking, output and sampling settings, OpenRouter's extras, documents,
// web search, MCP servers, history size and prices.
type KimiConfig struct {
	// Thinking is the default thinking mode ("" leaves it to the model).
	Thinking bot.Thinking
	// MaxTokens caps each answer; 0 leaves it to the provider.
	MaxTokens int
	// Temperature is sent to models that take one; nil sends none.
	Temperature *float64
	// ReasoningEffort is OpenRouter's reasoning.effort (and kimi-k3's reasoning_effort).
	ReasoningEffort string
	// Referer and Title identify the app to OpenRouter.
	Referer, Title string
	// WebSearch offers Moonshot's $web_search in every channel by default.
	WebSearch bool
	// Prices are USD per token by model, Moonshot's published prices by default.
	Prices map[string]bot.Price
	// MCPServers are the MCP servers whose tools the model may call; their
	// header values are secrets.
	MCPServers []mcp.Server
	// MaxFileBytes caps each attached document.
	MaxFileBytes int64
	// FileTTL is how long uploaded documents are kept.
	FileTTL time.Duration
	// HistoryTokens caps the history sent per call; 0 uses the model's context.
	HistoryTokens int
}

// openRouterEfforts are the reasoning efforts OpenRouter accepts.
var openRouterEfforts = []string{"max", "xhigh", "high", "medium", "low", "minimal", "none"}

// loadKimi reads the Kimi settings.
func (l *loader) loadKimi() {
	r, k := l.raw, &l.cfg.Kimi
	switch strings.ToLower(r.KimiThinking) {
	case "":
	case "on", "true", "enabled":
		k.Thinking = bot.ThinkingEnabled
	case "off", "false", "disabled":
		k.Thinking = bot.ThinkingDisabled
	default:
		l.addf("KIMI_THINKING: %q is not on or off", r.KimiThinking)
	}
	if r.KimiMaxTokens != "" {
		k.MaxTokens, _ = l.intAtLeast("KIMI_MAX_TOKENS", r.KimiMaxTokens, 1)
	}
	l.loadTemperature()
	k.ReasoningEffort = strings.ToLower(r.OpenRouterReasoningEffort)
	if k.ReasoningEffort != "" && !slices.Contains(openRouterEfforts, k.ReasoningEffort) {
		l.addf("OPENROUTER_REASONING_EFFORT: %q is not one of %s", r.OpenRouterReasoningEffort,
			strings.Join(openRouterEfforts, ", "))
	}
	k.Referer = l.httpURL("OPENROUTER_REFERER", r.OpenRouterReferer)
	k.Title = r.OpenRouterTitle
	var err error
	if k.WebSearch, err = strconv.ParseBool(r.WebSearch); err != nil {
		l.addf("KIMIBOT_WEB_SEARCH: %q is not true or false", r.WebSearch)
	}
	if k.Prices, err = bot.ParsePrices(r.Prices); err != nil {
		l.addf("KIMIBOT_PRICES: %v", err)
	}
	if k.MCPServers, err = mcp.ParseServers(r.MCPServers); err != nil {
		l.addf("KIMIBOT_MCP_SERVERS: %v", err)
	}
	mb, _ := l.intAtLeast("KIMIBOT_MAX_FILE_MB", r.MaxFileMB, 1)
	k.MaxFileBytes = int64(mb) << 20
	k.FileTTL = l.positiveDuration("KIMIBOT_FILE_TTL", r.FileTTL)
	k.HistoryTokens, _ = l.intAtLeast("KIMIBOT_HISTORY_TOKENS", r.HistoryTokens, 0)
}

// loadTemperature reads KIMI_TEMPERATURE and refuses it for a configured
// model that accepts only its own sampling settings.
func (l *loader) loadTemperature() {
	v := l.raw.KimiTemperature
	if v == "" {
		return
	}
	t, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil:
		l.addf("KIMI_TEMPERATURE: %q is not a number", v)
	case t < 0 || t > 2:
		l.addf("KIMI_TEMPERATURE: %g is not between 0 and 2", t)
	case l.cfg.Model != "" && kimi.LocksSampling(l.cfg.Model):
		l.addf("KIMI_TEMPERATURE: %s accepts only its own temperature; unset KIMI_TEMPERATURE", l.cfg.Model)
	default:
		l.cfg.Kimi.Temperature = &t
	}
}

// logAttr is the LogValue group of the Kimi settings. MCP servers are
// shown by name and kind only: their headers and environment may hold
// secrets.
func (k KimiConfig) logAttr() slog.Attr {
	temp := "default"
	if k.Temperature != nil {
		temp = strconv.FormatFloat(*k.Temperature, 'g', -1, 64)
	}
	servers := make([]string, 0, len(k.MCPServers))
	for _, s := range k.MCPServers {
		kind := "stdio"
		if s.URL != "" {
			kind = "http"
		}
		servers = append(servers, s.Name+" ("+kind+")")
	}
	return slog.Group("features",
		"thinking", string(k.Thinking),
		"max_tokens", k.MaxTokens,
		"temperature", temp,
		"reasoning_effort", k.ReasoningEffort,
		"openrouter_referer", redactURL(k.Referer),
		"openrouter_title", k.Title,
		"web_search", k.WebSearch,
		"priced_models", len(k.Prices),
		"mcp_servers", strings.Join(servers, ", "),
		"max_file_bytes", k.MaxFileBytes,
		"file_ttl", k.FileTTL,
		"history_tokens", k.HistoryTokens)
}
