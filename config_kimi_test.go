package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kimibot/bot"
	"kimibot/tools/mcp"
)

// defaultKimiConfig is the Kimi configuration of an environment that sets none of it.
func defaultKimiConfig() KimiConfig {
	return KimiConfig{Title: "kimibot", Prices: maps.Clone(bot.DefaultPrices), MaxFileBytes: 20 << 20, FileTTL: 72 * time.Hour}
}

func TestLoadKimiSettings(t *testing.T) {
	cfg := MustLoadConfig(t, ModeChat, map[string]string{
		"OPENROUTER_API_KEY":          "sk-or-1",
		"KIMI_MODEL":                  "moonshotai/kimi-k2-0905",
		"KIMI_THINKING":               "off",
		"KIMI_MAX_TOKENS":             "2048",
		"KIMI_TEMPERATURE":            "0.4",
		"OPENROUTER_REASONING_EFFORT": "High",
		"OPENROUTER_REFERER":          "https://example.com/kimibot",
		"OPENROUTER_TITLE":            "Team Kimi",
		"KIMIBOT_WEB_SEARCH":          "true",
		"KIMIBOT_PRICES":              `{"moonshotai/kimi-k2-0905":{"input":0.4,"output":2}}`,
		"KIMIBOT_MCP_SERVERS":         `[{"name":"fs","command":["mcp-server-filesystem","/srv"]}]`,
		"KIMIBOT_MAX_FILE_MB":         "5",
		"KIMIBOT_FILE_TTL":            "24h",
		"KIMIBOT_HISTORY_TOKENS":      "30000",
	})
	want := defaultKimiConfig()
	temp := 0.4
	want.Thinking, want.MaxTokens, want.Temperature = bot.ThinkingDisabled, 2048, &temp
	want.ReasoningEffort, want.Referer, want.Title = "high", "https://example.com/kimibot", "Team Kimi"
	want.WebSearch, want.MaxFileBytes, want.FileTTL, want.HistoryTokens = true, 5<<20, 24*time.Hour, 30000
	want.Prices["moonshotai/kimi-k2-0905"] = bot.Price{Prompt: 0.4e-6, Completion: 2e-6}
	want.MCPServers = []mcp.Server{{Name: "fs", Command: []string{"mcp-server-filesystem", "/srv"}}}
	got := Config{Kimi: cfg.Kimi}
	for _, d := range diffConfig(got, Config{Kimi: want}) {
		t.Error(d)
	}
}

func TestLoadKimiSettingsProblems(t *testing.T) {
	ce := MustConfigError(t, ModeChat, map[string]string{
		"MOONSHOT_API_KEY":            "sk-moon-1",
		"KIMI_MODEL":                  "kimi-k2.6",
		"KIMI_TEMPERATURE":            "0.7",
		"KIMI_THINKING":               "sometimes",
		"KIMI_MAX_TOKENS":             "0",
		"OPENROUTER_REASONING_EFFORT": "extreme",
		"KIMIBOT_WEB_SEARCH":          "maybe",
		"KIMIBOT_PRICES":              `{"kimi-k2.6":{"input":1}}`,
		"KIMIBOT_MCP_SERVERS":         `[{"name":"x"}]`,
	})
	err := strings.Join(ce.Problems, "\n")
	for _, want := range []string{"KIMI_TEMPERATURE: kimi-k2.6 accepts only its own temperature", "KIMI_THINKING",
		"KIMI_MAX_TOKENS", "OPENROUTER_REASONING_EFFORT", "KIMIBOT_WEB_SEARCH", "KIMIBOT_PRICES", "KIMIBOT_MCP_SERVERS"} {
		if !strings.Contains(err, want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestKimiConfigLogKeepsMCPSecrets(t *testing.T) {
	dir := t.TempDir()
	header, envSecret := filepath.Join(dir, "h"), filepath.Join(dir, "e")
	if err := os.WriteFile(header, []byte("Bearer SECRET-HEADER-1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(envSecret, []byte("SECRET-ENV-2"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := MustLoadConfig(t, ModeChat, map[string]string{"MOONSHOT_API_KEY": "sk-moon-1",
		"KIMIBOT_MCP_SERVERS": `[{"name":"docs","url":"https://mcp.example.com/mcp","header_files":{"Authorization":"` + header +
			`"}},{"name":"fs","command":["srv"],"env_files":{"TOKEN":"` + envSecret + `"}}]`})
	if cfg.Kimi.MCPServers[0].Headers["Authorization"] != "Bearer SECRET-HEADER-1" || cfg.Kimi.MCPServers[1].Env["TOKEN"] != "SECRET-ENV-2" {
		t.Fatalf("secrets not read from their files: %+v", cfg.Kimi.MCPServers)
	}
	var out bytes.Buffer
	slog.New(slog.NewJSONHandler(&out, nil)).Info("start", "config", cfg)
	for _, s := range []string{"SECRET-HEADER-1", "SECRET-ENV-2"} {
		if strings.Contains(out.String()+fmt.Sprintf("%+v %#v", cfg, cfg), s) {
			t.Errorf("log shows %q: %s", s, out.String())
		}
	}
	if !strings.Contains(out.String(), `"mcp_servers":"docs (http), fs (stdio)"`) {
		t.Errorf("log lacks the MCP servers: %s", out.String())
	}
}
