package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// setConfigEnv unsets every variable LoadConfig reads (restoring them when
// the test ends), then sets env.
func setConfigEnv(tb testing.TB, env map[string]string) {
	tb.Helper()
	for _, name := range configVarNames() {
		tb.Setenv(name, "")
		if err := os.Unsetenv(name); err != nil {
			tb.Fatalf("unset %s: %v", name, err)
		}
	}
	for name, value := range env {
		tb.Setenv(name, value)
	}
}

// MustLoadConfig loads the configuration from env and fails the test on any problem.
func MustLoadConfig(tb testing.TB, mode Mode, env map[string]string) Config {
	tb.Helper()
	setConfigEnv(tb, env)
	cfg, err := LoadConfig(mode)
	if err != nil {
		tb.Fatalf("LoadConfig(%s): %v", mode, err)
	}
	return cfg
}

// MustConfigError loads the configuration from env and returns the
// *ConfigError it must fail with.
func MustConfigError(tb testing.TB, mode Mode, env map[string]string) *ConfigError {
	tb.Helper()
	setConfigEnv(tb, env)
	cfg, err := LoadConfig(mode)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		tb.Fatalf("LoadConfig(%s) = %v, %v; want a *ConfigError", mode, cfg, err)
	}
	if !reflect.DeepEqual(cfg, Config{}) {
		tb.Errorf("LoadConfig(%s) returned a non-zero Config with its error", mode)
	}
	return ce
}

// defaultConfig is the configuration for a Moonshot key alone in chat mode.
func defaultConfig() Config {
	return Config{
		Provider:          "moonshot",
		APIKey:            "sk-moon-1",
		BaseURL:           "https://api.moonshot.ai/v1",
		SlackAPIURL:       "https://slack.com/api/",
		DiscordAPIURL:     "https://discord.com/api/v10/",
		DiscordShardCount: 1,
		DB:                "kimibot.db",
		HTTPAddr:          "127.0.0.1:8080",
		BotName:           "kimibot",
		Footer:            true,
		LogLevel:          slog.LevelInfo,
		LogFormat:         "text",
		MaxSteps:          8,
		ReminderAfter:     30 * time.Minute,
		Kimi:              defaultKimiConfig(),
	}
}

// diffConfig lists the fields that differ, with both values (test secrets are fake).
func diffConfig(got, want Config) []string {
	var diffs []string
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		gf, wf := g.Field(i).Interface(), w.Field(i).Interface()
		if !reflect.DeepEqual(gf, wf) {
			diffs = append(diffs, fmt.Sprintf("%s = %#v, want %#v", g.Type().Field(i).Name, gf, wf))
		}
	}
	return diffs
}

func TestLoadConfigOK(t *testing.T) {
	moonshot := map[string]string{"MOONSHOT_API_KEY": "sk-moon-1"}
	with := func(base map[string]string, extra map[string]string) map[string]string {
		env := make(map[string]string)
		for _, m := range []map[string]string{base, extra} {
			for k, v := range m {
				env[k] = v
			}
		}
		return env
	}
	tests := []struct {
		name string
		mode Mode
		env  map[string]string
		want func(c *Config)
	}{
		{"DefaultsWithMoonshotKey", ModeChat, moonshot, func(c *Config) {}},
		{"OpenRouterKeyInfersProvider", ModeChat, map[string]string{"OPENROUTER_API_KEY": "sk-or-1"}, func(c *Config) {
			c.Provider, c.APIKey, c.BaseURL = "openrouter", "sk-or-1", "https://openrouter.ai/api/v1"
		}},
		{"BothKeysWithProvider", ModeChat, with(moonshot, map[string]string{
			"OPENROUTER_API_KEY": "sk-or-1", "KIMI_PROVIDER": "openrouter",
		}), func(c *Config) {
			c.Provider, c.APIKey, c.BaseURL = "openrouter", "sk-or-1", "https://openrouter.ai/api/v1"
		}},
		{"ProviderCaseAndSpaces", ModeChat, with(moonshot, map[string]string{"KIMI_PROVIDER": " MoonShot "}), func(c *Config) {}},
		{"BaseURLOverrideLosesTrailingSlash", ModeChat, with(moonshot, map[string]string{
			"KIMI_BASE_URL": "https://api.moonshot.cn/v1/", "KIMI_MODEL": "kimi-k2-0905-preview",
		}), func(c *Config) {
			c.BaseURL, c.Model = "https://api.moonshot.cn/v1", "kimi-k2-0905-preview"
		}},
		{"KeyFromFileTrimmed", ModeChat, map[string]string{"MOONSHOT_API_KEY_FILE": "testdata/config/moonshot_key.txt"}, func(c *Config) {
			c.APIKey = "sk-moon-FILE-7f3a"
		}},
		{"EmptyVariablesTakeDefaults", ModeChat, with(moonshot, map[string]string{
			"KIMIBOT_DB": "", "KIMIBOT_MAX_STEPS": "  ", "SLACK_API_URL": "", "KIMIBOT_FOOTER": "", "OPENROUTER_API_KEY": "",
		}), func(c *Config) {}},
		{"ChatModeNeedsNoPlatform", ModeChat, with(moonshot, map[string]string{"SLACK_BOT_TOKEN": "not-a-bot-token"}), func(c *Config) {
			c.SlackBotToken = "not-a-bot-token"
		}},
		{"ServeSlackSocketMode", ModeServe, with(moonshot, map[string]string{
			"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1",
		}), func(c *Config) {
			c.SlackBotToken, c.SlackAppToken = "xoxb-1", "xapp-1"
		}},
		{"ServeSlackHTTPFromFile", ModeServe, with(moonshot, map[string]string{
			"SLACK_BOT_TOKEN_FILE": "testdata/config/slack_bot_token.txt", "SLACK_SIGNING_SECRET": "sign-1",
		}), func(c *Config) {
			c.SlackBotToken, c.SlackSigningSecret = "xoxb-FILE-9c1e", "sign-1"
		}},
		{"ServeDiscordShardsLocalURLs", ModeServe, with(moonshot, map[string]string{
			"DISCORD_BOT_TOKEN_FILE": "testdata/config/discord_token.txt",
			"DISCORD_API_URL":        "http://127.0.0.1:9999/api/v10",
			"SLACK_API_URL":          "http://127.0.0.1:8888/api",
			"DISCORD_SHARD_ID":       "1",
			"DISCORD_SHARD_COUNT":    "2",
		}), func(c *Config) {
			c.DiscordBotToken = "discord-FILE-8e5f"
			c.DiscordAPIURL, c.SlackAPIURL = "http://127.0.0.1:9999/api/v10/", "http://127.0.0.1:8888/api/"
			c.DiscordShardID, c.DiscordShardCount = 1, 2
		}},
		{"AccessLists", ModeChat, with(moonshot, map[string]string{
			"KIMIBOT_ADMINS":         "slack:U123, discord:42,,slack:U123",
			"KIMIBOT_APPROVERS":      "slack:W1,Slack:S2,discord:3,discord:role:4",
			"KIMIBOT_SUPPORT_ROUTES": "slack:CSUPPORT>CREVIEW, discord:123>456,slack:GPRIV>CREVIEW",
		}), func(c *Config) {
			c.Admins = []Principal{{"slack", "user", "U123"}, {"discord", "user", "42"}}
			c.Approvers = []Principal{{"slack", "user", "W1"}, {"slack", "group", "S2"}, {"discord", "user", "3"}, {"discord", "role", "4"}}
			c.SupportRoutes = []Route{{"slack", "CSUPPORT", "CREVIEW"}, {"discord", "123", "456"}, {"slack", "GPRIV", "CREVIEW"}}
		}},
		{"OrdersAPI", ModeChat, with(moonshot, map[string]string{
			"ORDERS_API_URL": "http://127.0.0.1:7000/", "ORDERS_API_TOKEN_FILE": "testdata/config/moonshot_key.txt",
		}), func(c *Config) {
			c.OrdersAPIURL, c.OrdersAPIToken = "http://127.0.0.1:7000", "sk-moon-FILE-7f3a"
		}},
		{"OrdersFile", ModeChat, with(moonshot, map[string]string{"ORDERS_FILE": "testdata/config/orders.json"}), func(c *Config) {
			c.OrdersFile = "testdata/config/orders.json"
		}},
		{"Extras", ModeChat, with(moonshot, map[string]string{
			"KIMIBOT_SYSTEM_PROMPT":      "You are {bot_name}. Today is {date}.",
			"KIMIBOT_BOT_NAME":           "Kimi",
			"KIMIBOT_FOOTER":             "false",
			"KIMIBOT_LOG_LEVEL":          "DEBUG",
			"KIMIBOT_LOG_FORMAT":         "JSON",
			"KIMIBOT_TOOLS_APPROVAL":     "lookup_order, refund-order",
			"OPENROUTER_PROVIDER":        `{"order":["moonshotai"],"allow_fallbacks":false}`,
			"OPENROUTER_FALLBACK_MODELS": "moonshotai/kimi-k2, moonshotai/kimi-k2-thinking",
			"KIMIBOT_MAX_STEPS":          "3",
			"KIMIBOT_REMINDER_AFTER":     "90s",
			"KIMIBOT_HTTP_ADDR":          ":0",
			"KIMIBOT_DB":                 "/var/lib/kimibot/bot.db",
		}), func(c *Config) {
			c.SystemPrompt, c.BotName, c.Footer = "You are {bot_name}. Today is {date}.", "Kimi", false
			c.LogLevel, c.LogFormat = slog.LevelDebug, "json"
			c.ToolsNeedingApproval = []string{"lookup_order", "refund-order"}
			c.OpenRouterProvider = `{"order":["moonshotai"],"allow_fallbacks":false}`
			c.OpenRouterFallbacks = []string{"moonshotai/kimi-k2", "moonshotai/kimi-k2-thinking"}
			c.MaxSteps, c.ReminderAfter, c.HTTPAddr, c.DB = 3, 90*time.Second, ":0", "/var/lib/kimibot/bot.db"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustLoadConfig(t, tt.mode, tt.env)
			want := defaultConfig()
			tt.want(&want)
			for _, d := range diffConfig(got, want) {
				t.Error(d)
			}
		})
	}
}

func TestLoadConfigProblems(t *testing.T) {
	key := "sk-moon-1"
	tests := []struct {
		name string
		mode Mode
		env  map[string]string
		// want holds one substring per expected problem, in order.
		want []string
	}{
		{"ErrNoKey", ModeChat, nil, []string{"no API key: set MOONSHOT_API_KEY or OPENROUTER_API_KEY"}},
		{"ErrBothKeys", ModeChat, map[string]string{"MOONSHOT_API_KEY": key, "OPENROUTER_API_KEY": "sk-or-1"},
			[]string{"MOONSHOT_API_KEY and OPENROUTER_API_KEY are both set; set KIMI_PROVIDER to choose"}},
		{"ErrUnknownProvider", ModeChat, map[string]string{"MOONSHOT_API_KEY": key, "KIMI_PROVIDER": "kimi"},
			[]string{`KIMI_PROVIDER: "kimi" is not one of moonshot, openrouter`}},
		{"ErrUnknownProviderNoKey", ModeChat, map[string]string{"KIMI_PROVIDER": "kimi"},
			[]string{`KIMI_PROVIDER: "kimi"`, "no API key"}},
		{"ErrProviderKeyMissing", ModeChat, map[string]string{"MOONSHOT_API_KEY": key, "KIMI_PROVIDER": "openrouter"},
			[]string{"KIMI_PROVIDER is openrouter but OPENROUTER_API_KEY is not set"}},
		{"ErrBadURLs", ModeChat, map[string]string{
			"MOONSHOT_API_KEY": key,
			"KIMI_BASE_URL":    "ftp://api.moonshot.ai/v1",
			"SLACK_API_URL":    "slack.com/api/",
			"DISCORD_API_URL":  "http://",
			"ORDERS_API_URL":   "/orders",
		}, []string{
			`KIMI_BASE_URL: "ftp://api.moonshot.ai/v1" is not an absolute http(s) URL with a host`,
			`SLACK_API_URL: "slack.com/api/" is not an absolute`,
			`DISCORD_API_URL: "http://" is not an absolute`,
			`ORDERS_API_URL: "/orders" is not an absolute`,
		}},
		{"ErrUnparsableURL", ModeChat, map[string]string{"MOONSHOT_API_KEY": key, "KIMI_BASE_URL": "http://a b/%zz"},
			[]string{`KIMI_BASE_URL: "http://a b/%zz" is not a valid URL`}},
		{"ErrKeyAndFileBothSet", ModeChat, map[string]string{
			"MOONSHOT_API_KEY": key, "MOONSHOT_API_KEY_FILE": "testdata/config/moonshot_key.txt",
		}, []string{"MOONSHOT_API_KEY and MOONSHOT_API_KEY_FILE are both set; set only one"}},
		{"ErrKeyFileMissing", ModeChat, map[string]string{"MOONSHOT_API_KEY_FILE": "testdata/config/missing.txt"},
			[]string{`MOONSHOT_API_KEY_FILE: cannot read "testdata/config/missing.txt": no such file or directory`}},
		{"ErrKeyFileEmpty", ModeChat, map[string]string{"OPENROUTER_API_KEY_FILE": "testdata/config/empty.txt"},
			[]string{`OPENROUTER_API_KEY_FILE: file "testdata/config/empty.txt" is empty`}},
		{"ErrKeyFileIsDirectory", ModeChat, map[string]string{"MOONSHOT_API_KEY_FILE": "testdata/config"},
			[]string{`MOONSHOT_API_KEY_FILE: cannot read "testdata/config"`}},
		{"ErrServeWithoutPlatform", ModeServe, map[string]string{"MOONSHOT_API_KEY": key},
			[]string{"no platform: set SLACK_BOT_TOKEN or DISCORD_BOT_TOKEN"}},
		{"ErrSlackWithoutAppTokenOrSigningSecret", ModeServe, map[string]string{"MOONSHOT_API_KEY": key, "SLACK_BOT_TOKEN": "xoxb-1"},
			[]string{"SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP events) is"}},
		{"ErrSlackTokenPrefixes", ModeServe, map[string]string{
			"MOONSHOT_API_KEY": key, "SLACK_BOT_TOKEN": "abc-1", "SLACK_APP_TOKEN": "xoxb-1",
		}, []string{`SLACK_BOT_TOKEN must start with "xoxb-"`, `SLACK_APP_TOKEN must start with "xapp-"`}},
		{"ErrSlackTokenPrefixFromFile", ModeServe, map[string]string{
			"MOONSHOT_API_KEY": key, "SLACK_BOT_TOKEN_FILE": "testdata/config/bad_bot_token.txt", "SLACK_SIGNING_SECRET": "s",
		}, []string{`SLACK_BOT_TOKEN (from SLACK_BOT_TOKEN_FILE) must start with "xoxb-"`}},
		{"ErrSlackAppTokenWithoutBotToken", ModeServe, map[string]string{
			"MOONSHOT_API_KEY": key, "DISCORD_BOT_TOKEN": "d", "SLACK_APP_TOKEN": "xapp-1",
		}, []string{"SLACK_APP_TOKEN is set but SLACK_BOT_TOKEN is not"}},
		{"ErrBrokenTokenFileIsNotMissingPlatform", ModeServe, map[string]string{
			"MOONSHOT_API_KEY": key, "DISCORD_BOT_TOKEN_FILE": "testdata/config/empty.txt",
		}, []string{`DISCORD_BOT_TOKEN_FILE: file "testdata/config/empty.txt" is empty`}},
		{"ErrAdmins", ModeChat, map[string]string{
			"MOONSHOT_API_KEY": key, "KIMIBOT_ADMINS": "slack:C123,teams:U1,discord:abc,discord:role:9,slack:S1,slack:U9",
		}, []string{
			`KIMIBOT_ADMINS: "slack:C123": want slack:U…`,
			`KIMIBOT_ADMINS: "teams:U1": platform must be slack or discord`,
			`KIMIBOT_ADMINS: "discord:abc": want discord:<user ID>`,
		}},
		{"ErrApprovers", ModeChat, map[string]string{
			"MOONSHOT_API_KEY": key, "KIMIBOT_APPROVERS": "slack:,discord:role:,slack:X1,U123,slack:S1",
		}, []string{
			`KIMIBOT_APPROVERS: "slack:"`,
			`KIMIBOT_APPROVERS: "discord:role:"`,
			`KIMIBOT_APPROVERS: "slack:X1"`,
			`KIMIBOT_APPROVERS: "U123": platform must be slack or discord`,
		}},
		{"ErrRoutes", ModeChat, map[string]string{
			"MOONSHOT_API_KEY":       key,
			"KIMIBOT_SUPPORT_ROUTES": "slack:C1,slack:C1>C1,discord:1>x,matrix:a>b,slack:C1>C2,slack:C1>C3,slack:U1>C2",
		}, []string{
			`KIMIBOT_SUPPORT_ROUTES: "slack:C1": want platform:FROM>TO`,
			`KIMIBOT_SUPPORT_ROUTES: "slack:C1>C1": FROM and TO are the same channel`,
			`KIMIBOT_SUPPORT_ROUTES: "discord:1>x": FROM and TO must be discord channel IDs`,
			`KIMIBOT_SUPPORT_ROUTES: "matrix:a>b": platform must be slack or discord`,
			`KIMIBOT_SUPPORT_ROUTES: "slack:C1>C3": channel C1 is already routed`,
			`KIMIBOT_SUPPORT_ROUTES: "slack:U1>C2": FROM and TO must be slack channel IDs`,
		}},
		{"ErrOrdersURLAndFile", ModeChat, map[string]string{
			"MOONSHOT_API_KEY": key, "ORDERS_API_URL": "http://127.0.0.1:7000", "ORDERS_FILE": "testdata/config/orders.json",
		}, []string{"ORDERS_API_URL and ORDERS_FILE are both set; set only one"}},
		{"ErrOrdersFileMissing", ModeChat, map[string]string{"MOONSHOT_API_KEY": key, "ORDERS_FILE": "testdata/config/nope.json"},
			[]string{`ORDERS_FILE: cannot read "testdata/config/nope.json"`}},
		{"ErrNumbersAndWords", ModeChat, map[string]string{
			"MOONSHOT_API_KEY":       key,
			"DISCORD_SHARD_ID":       "x",
			"DISCORD_SHARD_COUNT":    "0",
			"KIMIBOT_HTTP_ADDR":      "8080",
			"KIMIBOT_FOOTER":         "maybe",
			"KIMIBOT_LOG_LEVEL":      "loud",
			"KIMIBOT_LOG_FORMAT":     "xml",
			"KIMIBOT_MAX_STEPS":      "0",
			"KIMIBOT_REMINDER_AFTER": "soon",
		}, []string{
			`DISCORD_SHARD_ID: "x" is not an integer`,
			`DISCORD_SHARD_COUNT: 0 is less than 1`,
			`KIMIBOT_HTTP_ADDR: "8080" is not host:port`,
			`KIMIBOT_FOOTER: "maybe" is not true or false`,
			`KIMIBOT_LOG_LEVEL: "loud" is not one of debug, info, warn, error`,
			`KIMIBOT_LOG_FORMAT: "xml" is not text or json`,
			`KIMIBOT_MAX_STEPS: 0 is less than 1`,
			`KIMIBOT_REMINDER_AFTER: "soon" is not a duration`,
		}},
		{"ErrShardOutOfRangeNegativeDurationBadPort", ModeChat, map[string]string{
			"MOONSHOT_API_KEY": key, "DISCORD_SHARD_ID": "2", "DISCORD_SHARD_COUNT": "2",
			"KIMIBOT_REMINDER_AFTER": "-1m", "KIMIBOT_HTTP_ADDR": "127.0.0.1:99999",
		}, []string{
			"DISCORD_SHARD_ID 2 must be less than DISCORD_SHARD_COUNT 2",
			`KIMIBOT_HTTP_ADDR: "127.0.0.1:99999" is not host:port`,
			"KIMIBOT_REMINDER_AFTER: -1m0s is not above zero",
		}},
		{"ErrOpenRouterProviderArray", ModeChat, map[string]string{"MOONSHOT_API_KEY": key, "OPENROUTER_PROVIDER": "[1]"},
			[]string{"OPENROUTER_PROVIDER: must be a JSON object"}},
		{"ErrOpenRouterProviderNull", ModeChat, map[string]string{"MOONSHOT_API_KEY": key, "OPENROUTER_PROVIDER": "null"},
			[]string{"OPENROUTER_PROVIDER: must be a JSON object"}},
		{"ErrOpenRouterProviderSyntax", ModeChat, map[string]string{"MOONSHOT_API_KEY": key, "OPENROUTER_PROVIDER": "{bad"},
			[]string{"OPENROUTER_PROVIDER: not valid JSON"}},
		{"ErrToolNames", ModeChat, map[string]string{"MOONSHOT_API_KEY": key, "KIMIBOT_TOOLS_APPROVAL": "lookup_order,bad name!"},
			[]string{`KIMIBOT_TOOLS_APPROVAL: "bad name!" is not a tool name`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustConfigError(t, tt.mode, tt.env).Problems
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i, want := range tt.want {
				if !strings.Contains(got[i], want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i], want)
				}
			}
		})
	}
}

func TestConfigErrorListsEveryProblem(t *testing.T) {
	ce := MustConfigError(t, ModeServe, map[string]string{
		"KIMIBOT_LOG_FORMAT": "xml",
		"KIMIBOT_ADMINS":     "slack:C1,discord:x",
	})
	want := []string{"no API key", "no platform", `"slack:C1"`, `"discord:x"`, "KIMIBOT_LOG_FORMAT"}
	msg := ce.Error()
	lines := strings.Split(msg, "\n")
	if lines[0] != "invalid configuration:" {
		t.Errorf("first line = %q, want %q", lines[0], "invalid configuration:")
	}
	if len(lines) != len(want)+1 {
		t.Fatalf("message has %d lines, want %d:\n%s", len(lines), len(want)+1, msg)
	}
	for _, w := range want {
		i := slices.IndexFunc(lines[1:], func(l string) bool { return strings.HasPrefix(l, "  - ") && strings.Contains(l, w) })
		if i < 0 {
			t.Errorf("message lacks a %q problem line:\n%s", w, msg)
		}
	}
}

// readTestFile returns the trimmed contents of a testdata file.
func readTestFile(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// secretVars are the variables whose values are secret.
var secretVars = []string{
	"MOONSHOT_API_KEY", "OPENROUTER_API_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
	"SLACK_SIGNING_SECRET", "DISCORD_BOT_TOKEN", "ORDERS_API_TOKEN",
}

func TestConfigNoSecretInError(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"EveryVariableInvalid", map[string]string{
			"MOONSHOT_API_KEY":          "sk-moon-SECRET111",
			"OPENROUTER_API_KEY":        "sk-or-SECRET222",
			"SLACK_BOT_TOKEN":           "abc-SECRET123",
			"SLACK_APP_TOKEN":           "xoxb-SECRET444",
			"SLACK_SIGNING_SECRET":      "SECRET555",
			"SLACK_SIGNING_SECRET_FILE": "testdata/config/moonshot_key.txt",
			"DISCORD_BOT_TOKEN":         "SECRET666",
			"DISCORD_BOT_TOKEN_FILE":    "testdata/config/discord_token.txt",
			"ORDERS_API_TOKEN":          "SECRET777",
			"ORDERS_API_TOKEN_FILE":     "testdata/config/empty.txt",
			"ORDERS_API_URL":            "ftp://ops:pw-SECRET888@127.0.0.1/",
		}},
		{"SecretsFromFiles", map[string]string{
			"KIMI_PROVIDER":           "moonshot",
			"OPENROUTER_API_KEY_FILE": "testdata/config/slack_bot_token.txt",
			"SLACK_BOT_TOKEN_FILE":    "testdata/config/bad_bot_token.txt",
			"SLACK_APP_TOKEN_FILE":    "testdata/config/discord_token.txt",
		}},
	}
	fileSecrets := []string{
		readTestFile(t, "testdata/config/moonshot_key.txt"),
		readTestFile(t, "testdata/config/discord_token.txt"),
		readTestFile(t, "testdata/config/slack_bot_token.txt"),
		readTestFile(t, "testdata/config/bad_bot_token.txt"),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce := MustConfigError(t, ModeServe, tt.env)
			msg := ce.Error()
			if len(ce.Problems) < 3 {
				t.Errorf("got %d problems, want at least 3:\n%s", len(ce.Problems), msg)
			}
			secrets := append(slices.Clone(fileSecrets), "pw-SECRET888")
			for _, name := range secretVars {
				if v := tt.env[name]; v != "" {
					secrets = append(secrets, v)
				}
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("message contains secret %q:\n%s", s, msg)
				}
			}
		})
	}
}

func TestConfigLogValueRedactsSecrets(t *testing.T) {
	secrets := map[string]string{
		"MOONSHOT_API_KEY":     "sk-moon-SECRET111",
		"SLACK_BOT_TOKEN":      "xoxb-SECRET123",
		"SLACK_APP_TOKEN":      "xapp-SECRET444",
		"SLACK_SIGNING_SECRET": "SECRET555",
		"DISCORD_BOT_TOKEN":    "SECRET666",
		"ORDERS_API_TOKEN":     "SECRET777",
	}
	env := map[string]string{"ORDERS_API_URL": "http://ops:pw-SECRET888@127.0.0.1:7000", "KIMIBOT_APPROVERS": "slack:S1,discord:role:2"}
	for k, v := range secrets {
		env[k] = v
	}
	cfg := MustLoadConfig(t, ModeServe, env)

	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("start", "config", cfg)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("start", "config", cfg)
	outputs := map[string]string{
		"text": text.String(), "json": js.String(),
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg), "%s": fmt.Sprint(&cfg),
	}
	for name, out := range outputs {
		for _, s := range append(slices.Collect(maps.Values(secrets)), "pw-SECRET888") {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains secret %q:\n%s", name, s, out)
			}
		}
	}

	var rec struct {
		Config map[string]map[string]any `json:"config"`
	}
	if err := json.Unmarshal(js.Bytes(), &rec); err != nil {
		t.Fatalf("decode JSON log %s: %v", js.String(), err)
	}
	want := map[string]map[string]any{
		"kimi":    {"api_key": "set", "provider": "moonshot", "base_url": "https://api.moonshot.ai/v1"},
		"slack":   {"bot_token": "set", "app_token": "set", "signing_secret": "set"},
		"discord": {"bot_token": "set", "shard_count": float64(1)},
		"orders":  {"api_token": "set", "api_url": "http://ops:xxxxx@127.0.0.1:7000"},
		"bot":     {"approvers": "slack:S1,discord:role:2", "footer": true, "log_level": "INFO"},
	}
	for group, fields := range want {
		for k, v := range fields {
			if got := rec.Config[group][k]; got != v {
				t.Errorf("config.%s.%s = %#v, want %#v", group, k, got, v)
			}
		}
	}

	chat := MustLoadConfig(t, ModeChat, map[string]string{"OPENROUTER_API_KEY": "sk-or-1"})
	js.Reset()
	slog.New(slog.NewJSONHandler(&js, nil)).Info("start", "config", chat)
	for _, field := range []string{`"bot_token":"unset"`, `"app_token":"unset"`, `"signing_secret":"unset"`, `"api_token":"unset"`} {
		if !strings.Contains(js.String(), field) {
			t.Errorf("JSON log lacks %s:\n%s", field, js.String())
		}
	}
}

func TestConfigPrincipalAndRouteStringRoundTrip(t *testing.T) {
	in := map[string]string{
		"MOONSHOT_API_KEY":       "k",
		"KIMIBOT_APPROVERS":      "slack:U1,slack:S2,discord:3,discord:role:4",
		"KIMIBOT_SUPPORT_ROUTES": "slack:CSUPPORT>CREVIEW,discord:123>456",
	}
	cfg := MustLoadConfig(t, ModeChat, in)
	if got := joinStrings(cfg.Approvers); got != in["KIMIBOT_APPROVERS"] {
		t.Errorf("approvers = %q, want %q", got, in["KIMIBOT_APPROVERS"])
	}
	if got := joinStrings(cfg.SupportRoutes); got != in["KIMIBOT_SUPPORT_ROUTES"] {
		t.Errorf("routes = %q, want %q", got, in["KIMIBOT_SUPPORT_ROUTES"])
	}
}

func TestConfigVarNames(t *testing.T) {
	want := []string{
		"MOONSHOT_API_KEY", "MOONSHOT_API_KEY_FILE", "OPENROUTER_API_KEY", "OPENROUTER_API_KEY_FILE",
		"KIMI_PROVIDER", "KIMI_BASE_URL", "KIMI_MODEL",
		"SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN_FILE", "SLACK_APP_TOKEN", "SLACK_APP_TOKEN_FILE",
		"SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET_FILE", "SLACK_API_URL",
		"DISCORD_BOT_TOKEN", "DISCORD_BOT_TOKEN_FILE", "DISCORD_API_URL", "DISCORD_SHARD_ID", "DISCORD_SHARD_COUNT",
		"KIMIBOT_DB", "KIMIBOT_HTTP_ADDR", "KIMIBOT_ADMINS", "KIMIBOT_APPROVERS", "KIMIBOT_SUPPORT_ROUTES",
		"ORDERS_API_URL", "ORDERS_API_TOKEN", "ORDERS_API_TOKEN_FILE", "ORDERS_FILE",
		"KIMIBOT_SYSTEM_PROMPT", "KIMIBOT_BOT_NAME", "KIMIBOT_FOOTER", "KIMIBOT_LOG_LEVEL", "KIMIBOT_LOG_FORMAT",
		"KIMIBOT_TOOLS_APPROVAL", "OPENROUTER_PROVIDER", "OPENROUTER_FALLBACK_MODELS",
		"KIMIBOT_MAX_STEPS", "KIMIBOT_REMINDER_AFTER",
		"KIMI_THINKING", "KIMI_MAX_TOKENS", "KIMI_TEMPERATURE", "OPENROUTER_REASONING_EFFORT", "OPENROUTER_REFERER",
		"OPENROUTER_TITLE", "KIMIBOT_WEB_SEARCH", "KIMIBOT_PRICES", "KIMIBOT_MCP_SERVERS", "KIMIBOT_MAX_FILE_MB",
		"KIMIBOT_FILE_TTL", "KIMIBOT_HISTORY_TOKENS",
	}
	got := configVarNames()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("configVarNames() = %v\nwant %v", got, want)
	}
}
