package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"kimibot/bot"
)

// Mode says what the binary was started to do, which decides what the
// configuration must contain.
type Mode int

const (
	// ModeServe runs the bot on Slack and/or Discord: it needs a model key
	// and at least one platform.
	ModeServe Mode = iota
	// ModeChat runs a conversation in the terminal: it needs a model key only.
	ModeChat
)

// String returns "serve" or "chat".
func (m Mode) String() string {
	if m == ModeChat {
		return "chat"
	}
	return "serve"
}

// The model providers kimibot can reach Kimi through.
const (
	// ProviderMoonshot is Moonshot AI's own platform.
	ProviderMoonshot = "moonshot"
	// ProviderOpenRouter is OpenRouter.
	ProviderOpenRouter = "openrouter"
)

// The default API base URLs of the providers.
const (
	moonshotBaseURL   = "https://api.moonshot.ai/v1"
	openRouterBaseURL = "https://openrouter.ai/api/v1"
)

// Config is kimibot's whole configuration, read once from the environment by
// LoadConfig. It holds secrets: log it only through LogValue or String.
type Config struct {
	// Provider is ProviderMoonshot or ProviderOpenRouter.
	Provider string
	// APIKey is the key of Provider.
	APIKey string
	// BaseURL is the provider's OpenAI-compatible API base, without a trailing slash.
	BaseURL string
	// Model is the default model ID; "" means pick a current Kimi model from
	// the provider's live model list at start.
	Model string

	// SlackBotToken is the xoxb- token; it enables Slack.
	SlackBotToken string
	// SlackAppToken is the xapp- token for Socket Mode.
	SlackAppToken string
	// SlackSigningSecret verifies HTTP Events API requests (used without an app token).
	SlackSigningSecret string
	// SlackAPIURL is the Slack Web API base, ending in "/".
	SlackAPIURL string

	// DiscordBotToken enables Discord.
	DiscordBotToken string
	// DiscordAPIURL is the Discord REST base, ending in "/".
	DiscordAPIURL string
	// DiscordShardID is this process's shard, in [0, DiscordShardCount).
	DiscordShardID int
	// DiscordShardCount is the total number of gateway shards.
	DiscordShardCount int

	// DB is the bbolt database file.
	DB string
	// HTTPAddr is the listen address for health, readiness, metrics and Slack HTTP endpoints.
	HTTPAddr string

	// Admins may change channel settings.
	Admins []Principal
	// Approvers may act on support drafts and on tool calls that need approval.
	Approvers []Principal
	// SupportRoutes send customer channels' drafts to review channels.
	SupportRoutes []Route

	// OrdersAPIURL is the order lookup API base, without a trailing slash.
	OrdersAPIURL string
	// OrdersAPIToken is the bearer token for OrdersAPIURL (optional).
	OrdersAPIToken string
	// OrdersFile is a JSON file of sample orders, used instead of OrdersAPIURL.
	OrdersFile string

	// SystemPrompt replaces the built-in system prompt when not empty; it may
	// use {date}, {time} and {bot_name}.
	SystemPrompt string
	// BotName is the name the bot calls itself.
	BotName string
	// Footer shows model, tokens and time under answers.
	Footer bool
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// LogFormat is "text" or "json".
	LogFormat string
	// ToolsNeedingApproval names tools whose calls wait for an approver.
	ToolsNeedingApproval []string
	// OpenRouterProvider is a raw JSON object sent as OpenRouter's "provider" field ("" for none).
	OpenRouterProvider string
	// OpenRouterFallbacks are model IDs OpenRouter may fall back to.
	OpenRouterFallbacks []string
	// MaxSteps caps the model/tool steps of one turn.
	MaxSteps int
	// ReminderAfter is how long a support draft may stay pending before approvers are reminded.
	ReminderAfter time.Duration

	// Kimi holds the model settings, documents, web search, MCP servers and prices.
	Kimi KimiConfig
}

// Principal is a user, Slack user group or Discord role named in KIMIBOT_ADMINS
// or KIMIBOT_APPROVERS.
type Principal struct {
	// Platform is "slack" or "discord".
	Platform string
	// Kind is bot.PrincipalUser, bot.PrincipalGroup (a Slack user group,
	// an S… ID) or bot.PrincipalRole (a Discord role).
	Kind bot.PrincipalKind
	// ID is the platform's ID of the user, group or role.
	ID string
}

// String returns the principal in the syntax of the environment variables,
// such as "slack:U123" or "discord:role:456".
func (p Principal) String() string {
	if p.Kind == bot.PrincipalRole {
		return p.Platform + ":role:" + p.ID
	}
	return p.Platform + ":" + p.ID
}

// Route sends drafts for customer messages in channel From to review channel To.
type Route struct {
	// Platform is "slack" or "discord".
	Platform string
	// From is the customer-facing channel ID.
	From string
	// To is the review channel ID.
	To string
}

// String returns the route in the syntax of KIMIBOT_SUPPORT_ROUTES, such as
// "slack:CSUPPORT>CREVIEW".
func (r Route) String() string {
	return r.Platform + ":" + r.From + ">" + r.To
}

// ConfigError lists every problem found in the environment. Its message never
// contains a secret value.
type ConfigError struct {
	// Problems are human-readable descriptions, one per problem.
	Problems []string
}

// Error returns all problems in one message, one per line.
func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("invalid configuration:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	return b.String()
}

// rawConfig is the environment as envconfig reads it: every variable as a
// string, so that conversion can report every problem rather than the first.
type rawConfig struct {
	MoonshotAPIKey       string `envconfig:"MOONSHOT_API_KEY"`
	MoonshotAPIKeyFile   string `envconfig:"MOONSHOT_API_KEY_FILE"`
	OpenRouterAPIKey     string `envconfig:"OPENROUTER_API_KEY"`
	OpenRouterAPIKeyFile string `envconfig:"OPENROUTER_API_KEY_FILE"`
	Provider             string `envconfig:"KIMI_PROVIDER"`
	BaseURL              string `envconfig:"KIMI_BASE_URL"`
	Model                string `envconfig:"KIMI_MODEL"`

	SlackBotToken          string `envconfig:"SLACK_BOT_TOKEN"`
	SlackBotTokenFile      string `envconfig:"SLACK_BOT_TOKEN_FILE"`
	SlackAppToken          string `envconfig:"SLACK_APP_TOKEN"`
	SlackAppTokenFile      string `envconfig:"SLACK_APP_TOKEN_FILE"`
	SlackSigningSecret     string `envconfig:"SLACK_SIGNING_SECRET"`
	SlackSigningSecretFile string `envconfig:"SLACK_SIGNING_SECRET_FILE"`
	SlackAPIURL            string `envconfig:"SLACK_API_URL" default:"https://slack.com/api/"`

	DiscordBotToken     string `envconfig:"DISCORD_BOT_TOKEN"`
	DiscordBotTokenFile string `envconfig:"DISCORD_BOT_TOKEN_FILE"`
	DiscordAPIURL       string `envconfig:"DISCORD_API_URL" default:"https://discord.com/api/v10/"`
	DiscordShardID      string `envconfig:"DISCORD_SHARD_ID" default:"0"`
	DiscordShardCount   string `envconfig:"DISCORD_SHARD_COUNT" default:"1"`

	DB            string `envconfig:"KIMIBOT_DB" default:"kimibot.db"`
	HTTPAddr      string `envconfig:"KIMIBOT_HTTP_ADDR" default:"127.0.0.1:8080"`
	Admins        string `envconfig:"KIMIBOT_ADMINS"`
	Approvers     string `envconfig:"KIMIBOT_APPROVERS"`
	SupportRoutes string `envconfig:"KIMIBOT_SUPPORT_ROUTES"`

	OrdersAPIURL       string `envconfig:"ORDERS_API_URL"`
	OrdersAPIToken     string `envconfig:"ORDERS_API_TOKEN"`
	OrdersAPITokenFile string `envconfig:"ORDERS_API_TOKEN_FILE"`
	OrdersFile         string `envconfig:"ORDERS_FILE"`

	SystemPrompt        string `envconfig:"KIMIBOT_SYSTEM_PROMPT"`
	BotName             string `envconfig:"KIMIBOT_BOT_NAME" default:"kimibot"`
	Footer              string `envconfig:"KIMIBOT_FOOTER" default:"true"`
	LogLevel            string `envconfig:"KIMIBOT_LOG_LEVEL" default:"info"`
	LogFormat           string `envconfig:"KIMIBOT_LOG_FORMAT" default:"text"`
	ToolsApproval       string `envconfig:"KIMIBOT_TOOLS_APPROVAL"`
	OpenRouterProvider  string `envconfig:"OPENROUTER_PROVIDER"`
	OpenRouterFallbacks string `envconfig:"OPENROUTER_FALLBACK_MODELS"`
	MaxSteps            string `envconfig:"KIMIBOT_MAX_STEPS" default:"8"`
	ReminderAfter       string `envconfig:"KIMIBOT_REMINDER_AFTER" default:"30m"`

	KimiThinking              string `envconfig:"KIMI_THINKING"`
	KimiMaxTokens             string `envconfig:"KIMI_MAX_TOKENS"`
	KimiTemperature           string `envconfig:"KIMI_TEMPERATURE"`
	OpenRouterReasoningEffort string `envconfig:"OPENROUTER_REASONING_EFFORT"`
	OpenRouterReferer         string `envconfig:"OPENROUTER_REFERER"`
	OpenRouterTitle           string `envconfig:"OPENROUTER_TITLE" default:"kimibot"`
	WebSearch                 string `envconfig:"KIMIBOT_WEB_SEARCH" default:"false"`
	Prices                    string `envconfig:"KIMIBOT_PRICES"`
	MCPServers                string `envconfig:"KIMIBOT_MCP_SERVERS"`
	MaxFileMB                 string `envconfig:"KIMIBOT_MAX_FILE_MB" default:"20"`
	FileTTL                   string `envconfig:"KIMIBOT_FILE_TTL" default:"72h"`
	HistoryTokens             string `envconfig:"KIMIBOT_HISTORY_TOKENS" default:"0"`
}

// normalize trims every value and gives variables that are set but empty
// their default, as if they were unset.
func (r *rawConfig) normalize() {
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		s := strings.TrimSpace(v.Field(i).String())
		if s == "" {
			s = v.Type().Field(i).Tag.Get("default")
		}
		v.Field(i).SetString(s)
	}
}

// configVarNames returns the name of every environment variable LoadConfig reads.
func configVarNames() []string {
	t := reflect.TypeFor[rawConfig]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		names = append(names, t.Field(i).Tag.Get("envconfig"))
	}
	return names
}

// LoadConfig reads the configuration from the environment and checks it for
// mode. When anything is wrong it returns a *ConfigError listing every problem.
func LoadConfig(mode Mode) (Config, error) {
	var raw rawConfig
	if err := envconfig.Process("", &raw); err != nil {
		return Config{}, fmt.Errorf("read environment: %w", err)
	}
	raw.normalize()

	l := &loader{raw: raw, mode: mode}
	l.loadModel()
	l.loadPlatforms()
	l.loadServer()
	l.loadAccess()
	l.loadOrders()
	l.loadBehaviour()
	l.loadKimi()
	if len(l.problems) > 0 {
		return Config{}, &ConfigError{Problems: l.problems}
	}
	return l.cfg, nil
}

// loader converts a rawConfig into a Config, collecting problems as it goes.
type loader struct {
	raw      rawConfig
	mode     Mode
	cfg      Config
	problems []string
}

func (l *loader) addf(format string, args ...any) {
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

// secret is a secret variable after resolving NAME and NAME_FILE.
type secret struct {
	name   string // NAME
	source string // the variable the value came from: NAME or NAME_FILE
	value  string
	// present is true when either variable is set, even if reading it failed,
	// so that a broken file is not also reported as a missing setting.
	present bool
}

// label names the secret in problems, saying which variable it came from.
func (s secret) label() string {
	if s.source != s.name {
		return s.name + " (from " + s.source + ")"
	}
	return s.name
}

// secret resolves a secret from its variable or its _FILE variable.
func (l *loader) secret(name, value, path string) secret {
	s := secret{name: name, source: name, value: value, present: value != "" || path != ""}
	if path == "" {
		return s
	}
	s.source = name + "_FILE"
	if value != "" {
		l.addf("%s and %s are both set; set only one", name, s.source)
		s.value = ""
		return s
	}
	v, err := readSecretFile(path)
	if err != nil {
		l.addf("%s: %v", s.source, err)
		return s
	}
	s.value = v
	return s
}

// maxSecretFile bounds secret files, which hold a single token.
const maxSecretFile = 64 << 10

// readSecretFile returns the trimmed contents of a secret file. Its errors
// name the path and never contain the contents.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %q: %w", path, pathReason(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %q: %w", path, pathReason(err))
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("file %q is larger than %d KiB", path, maxSecretFile>>10)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("file %q is empty", path)
	}
	return v, nil
}

// pathReason strips the operation and path from a *fs.PathError, which the
// caller already names.
func pathReason(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadModel resolves the provider, its key, the base URL and the model.
func (l *loader) loadModel() {
	moonshot := l.secret("MOONSHOT_API_KEY", l.raw.MoonshotAPIKey, l.raw.MoonshotAPIKeyFile)
	openRouter := l.secret("OPENROUTER_API_KEY", l.raw.OpenRouterAPIKey, l.raw.OpenRouterAPIKeyFile)
	l.cfg.Provider, l.cfg.APIKey = l.chooseProvider(moonshot, openRouter)

	l.cfg.BaseURL = strings.TrimRight(l.httpURL("KIMI_BASE_URL", l.raw.BaseURL), "/")
	if l.raw.BaseURL == "" {
		switch l.cfg.Provider {
		case ProviderMoonshot:
			l.cfg.BaseURL = moonshotBaseURL
		case ProviderOpenRouter:
			l.cfg.BaseURL = openRouterBaseURL
		}
	}
	l.cfg.Model = l.raw.Model
}

// chooseProvider picks the provider from KIMI_PROVIDER or from the key that
// is set, and returns it with its key.
func (l *loader) chooseProvider(moonshot, openRouter secret) (provider, key string) {
	keys := map[string]secret{ProviderMoonshot: moonshot, ProviderOpenRouter: openRouter}
	if l.raw.Provider != "" {
		name := strings.ToLower(l.raw.Provider)
		s, known := keys[name]
		switch {
		case !known:
			l.addf("KIMI_PROVIDER: %q is not one of %s, %s", l.raw.Provider, ProviderMoonshot, ProviderOpenRouter)
		case !s.present:
			l.addf("KIMI_PROVIDER is %s but %s is not set", name, s.name)
		default:
			return name, s.value
		}
		if known || moonshot.present || openRouter.present {
			return "", ""
		}
	}
	switch {
	case moonshot.present && openRouter.present:
		l.addf("MOONSHOT_API_KEY and OPENROUTER_API_KEY are both set; set KIMI_PROVIDER to choose")
	case moonshot.present:
		return ProviderMoonshot, moonshot.value
	case openRouter.present:
		return ProviderOpenRouter, openRouter.value
	default:
		l.addf("no API key: set MOONSHOT_API_KEY or OPENROUTER_API_KEY (or their _FILE variants)")
	}
	return "", ""
}

// httpURL checks that value, when set, is an absolute http(s) URL with a host.
func (l *loader) httpURL(name, value string) string {
	if value == "" {
		return ""
	}
	u, err := url.Parse(value)
	if err != nil {
		l.addf("%s: %q is not a valid URL", name, value)
		return ""
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		l.addf("%s: %q is not an absolute http(s) URL with a host", name, redactURL(value))
		return ""
	}
	return value
}

// withSlash makes a non-empty base URL end in "/".
func withSlash(s string) string {
	if s == "" || strings.HasSuffix(s, "/") {
		return s
	}
	return s + "/"
}

// loadPlatforms reads the Slack and Discord settings and, in serve mode,
// checks that at least one platform is complete.
func (l *loader) loadPlatforms() {
	r := l.raw
	bot := l.secret("SLACK_BOT_TOKEN", r.SlackBotToken, r.SlackBotTokenFile)
	app := l.secret("SLACK_APP_TOKEN", r.SlackAppToken, r.SlackAppTokenFile)
	signing := l.secret("SLACK_SIGNING_SECRET", r.SlackSigningSecret, r.SlackSigningSecretFile)
	discord := l.secret("DISCORD_BOT_TOKEN", r.DiscordBotToken, r.DiscordBotTokenFile)

	l.cfg.SlackBotToken, l.cfg.SlackAppToken = bot.value, app.value
	l.cfg.SlackSigningSecret, l.cfg.DiscordBotToken = signing.value, discord.value
	l.cfg.SlackAPIURL = withSlash(l.httpURL("SLACK_API_URL", r.SlackAPIURL))
	l.cfg.DiscordAPIURL = withSlash(l.httpURL("DISCORD_API_URL", r.DiscordAPIURL))
	l.loadShards()
	if l.mode == ModeServe {
		l.checkServe(bot, app, signing, discord)
	}
}

// checkServe reports what serve mode is missing or cannot use.
func (l *loader) checkServe(bot, app, signing, discord secret) {
	if !bot.present && !discord.present {
		l.addf("no platform: set SLACK_BOT_TOKEN or DISCORD_BOT_TOKEN (or their _FILE variants)")
	}
	if bot.present && !app.present && !signing.present {
		l.addf("SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP events) is")
	}
	for _, s := range []secret{app, signing} {
		if s.present && !bot.present {
			l.addf("%s is set but SLACK_BOT_TOKEN is not", s.name)
		}
	}
	l.checkPrefix(bot, "xoxb-")
	l.checkPrefix(app, "xapp-")
}

// checkPrefix reports a token without its expected prefix, never echoing the token.
func (l *loader) checkPrefix(s secret, prefix string) {
	if s.value != "" && !strings.HasPrefix(s.value, prefix) {
		l.addf("%s must start with %q", s.label(), prefix)
	}
}

// loadShards reads the Discord shard settings.
func (l *loader) loadShards() {
	id, okID := l.intAtLeast("DISCORD_SHARD_ID", l.raw.DiscordShardID, 0)
	count, okCount := l.intAtLeast("DISCORD_SHARD_COUNT", l.raw.DiscordShardCount, 1)
	if okID && okCount && id >= count {
		l.addf("DISCORD_SHARD_ID %d must be less than DISCORD_SHARD_COUNT %d", id, count)
	}
	l.cfg.DiscordShardID, l.cfg.DiscordShardCount = id, count
}

// intAtLeast parses an integer variable whose value must be at least least.
func (l *loader) intAtLeast(name, value string, least int) (int, bool) {
	n, err := strconv.Atoi(value)
	if err != nil {
		l.addf("%s: %q is not an integer", name, value)
		return 0, false
	}
	if n < least {
		l.addf("%s: %d is less than %d", name, n, least)
		return 0, false
	}
	return n, true
}

// loadServer reads the database path and the HTTP listen address.
func (l *loader) loadServer() {
	l.cfg.DB = l.raw.DB
	l.cfg.HTTPAddr = l.raw.HTTPAddr
	_, port, err := net.SplitHostPort(l.raw.HTTPAddr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		l.addf("KIMIBOT_HTTP_ADDR: %q is not host:port", l.raw.HTTPAddr)
	}
}

// loadOrders reads the order lookup backend.
func (l *loader) loadOrders() {
	r := l.raw
	l.cfg.OrdersAPIURL = strings.TrimRight(l.httpURL("ORDERS_API_URL", r.OrdersAPIURL), "/")
	l.cfg.OrdersAPIToken = l.secret("ORDERS_API_TOKEN", r.OrdersAPIToken, r.OrdersAPITokenFile).value
	l.cfg.OrdersFile = r.OrdersFile
	if r.OrdersAPIURL != "" && r.OrdersFile != "" {
		l.addf("ORDERS_API_URL and ORDERS_FILE are both set; set only one")
		return
	}
	if r.OrdersFile == "" {
		return
	}
	info, err := os.Stat(r.OrdersFile)
	switch {
	case err != nil:
		l.addf("ORDERS_FILE: cannot read %q: %v", r.OrdersFile, pathReason(err))
	case info.IsDir():
		l.addf("ORDERS_FILE: %q is a directory", r.OrdersFile)
	}
}

// loadBehaviour reads the settings that shape answers, logs and tools.
func (l *loader) loadBehaviour() {
	r := l.raw
	l.cfg.SystemPrompt = r.SystemPrompt
	l.cfg.BotName = r.BotName
	footer, err := strconv.ParseBool(r.Footer)
	if err != nil {
		l.addf("KIMIBOT_FOOTER: %q is not true or false", r.Footer)
	}
	l.cfg.Footer = footer
	if err := l.cfg.LogLevel.UnmarshalText([]byte(r.LogLevel)); err != nil {
		l.addf("KIMIBOT_LOG_LEVEL: %q is not one of debug, info, warn, error", r.LogLevel)
	}
	l.cfg.LogFormat = strings.ToLower(r.LogFormat)
	if l.cfg.LogFormat != "text" && l.cfg.LogFormat != "json" {
		l.addf("KIMIBOT_LOG_FORMAT: %q is not text or json", r.LogFormat)
	}
	l.cfg.ToolsNeedingApproval = l.toolNames("KIMIBOT_TOOLS_APPROVAL", r.ToolsApproval)
	l.cfg.OpenRouterProvider = l.jsonObject("OPENROUTER_PROVIDER", r.OpenRouterProvider)
	l.cfg.OpenRouterFallbacks = splitList(r.OpenRouterFallbacks)
	l.cfg.MaxSteps, _ = l.intAtLeast("KIMIBOT_MAX_STEPS", r.MaxSteps, 1)
	l.cfg.ReminderAfter = l.positiveDuration("KIMIBOT_REMINDER_AFTER", r.ReminderAfter)
}

// toolNames parses a comma list of tool names, reporting each bad name.
func (l *loader) toolNames(name, value string) []string {
	items := splitList(value)
	out := items[:0]
	for _, item := range items {
		if !toolName.MatchString(item) {
			l.addf("%s: %q is not a tool name (letters, digits, _ and -, up to 64)", name, item)
			continue
		}
		out = append(out, item)
	}
	return out
}

// jsonObject checks that value, when set, is a JSON object.
func (l *loader) jsonObject(name, value string) string {
	if value == "" {
		return ""
	}
	var v any
	if err := json.Unmarshal([]byte(value), &v); err != nil {
		l.addf("%s: not valid JSON: %v", name, err)
		return ""
	}
	if _, ok := v.(map[string]any); !ok {
		l.addf("%s: must be a JSON object", name)
		return ""
	}
	return value
}

// positiveDuration parses a duration variable that must be above zero.
func (l *loader) positiveDuration(name, value string) time.Duration {
	d, err := time.ParseDuration(value)
	switch {
	case err != nil:
		l.addf("%s: %q is not a duration such as 30m or 1h", name, value)
	case d <= 0:
		l.addf("%s: %s is not above zero", name, d)
	}
	return d
}
