package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
	"kimibot/tools/mcp"
	"kimibot/tools/mcp/mcptest"
)

func TestChatCallsMCPToolFromSpawnedServer(t *testing.T) {
	srv := kimitest.New(t, kimitest.Options{})
	servers, _ := json.Marshal([]map[string]any{{"name": "calc", "command": []string{os.Args[0]},
		"env": map[string]string{mcptest.EnvServe: "1"}}})
	env := []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + srv.BaseURL(),
		"KIMIBOT_DB=" + filepath.Join(t.TempDir(), "chat.db"), "KIMIBOT_MCP_SERVERS=" + string(servers)}
	srv.Enqueue(
		kimitest.Response{Reasoning: "Add them.", ToolCalls: []kimitest.ToolCall{{Name: "calc_add", Arguments: `{"a":20,"b":22}`}}},
		kimitest.Response{Content: "20 and 22 make 42."},
	)
	out, errOut, code := MustRunKimibot(t, "what is 20+22?\n", env, "chat")
	if code != 0 || !strings.Contains(out, "20 and 22 make 42.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	reqs := srv.ChatRequests()
	if len(reqs) != 2 || !strings.Contains(string(reqs[0].Raw["tools"]), "calc_add") {
		t.Fatalf("requests %d, tools %s", len(reqs), reqs[0].Raw["tools"])
	}
	if res := reqs[1].Messages[len(reqs[1].Messages)-1]; res.Role != "tool" || res.Text() != "20 + 22 = 42" {
		t.Fatalf("tool result %s %q, want the MCP server's answer", res.Role, res.Text())
	}
}

func TestStartAcceptsOpenRouterAlias(t *testing.T) {
	srv := kimitest.New(t, kimitest.Options{Flavor: kimitest.OpenRouter})
	env := []string{"OPENROUTER_API_KEY=test-key", "KIMI_BASE_URL=" + srv.BaseURL(), "KIMI_MODEL=~moonshotai/kimi-latest",
		"KIMIBOT_DB=" + filepath.Join(t.TempDir(), "chat.db")}
	out, errOut, code := MustRunKimibot(t, "hello\n", env, "chat")
	if code != 0 || !strings.Contains(out, "You said: hello") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if reqs := srv.ChatRequests(); len(reqs) != 1 || reqs[0].Model != "~moonshotai/kimi-latest" {
		t.Fatalf("requests = %+v, want the alias sent as is", reqs)
	}
}

func TestStartRefusesTemperatureForLockedModel(t *testing.T) {
	srv := kimitest.New(t, kimitest.Options{})
	env := []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + srv.BaseURL(), "KIMI_TEMPERATURE=0.3",
		"KIMIBOT_DB=" + filepath.Join(t.TempDir(), "chat.db")}
	_, errOut, code := MustRunKimibot(t, "hello\n", env, "chat")
	if code == 0 || !strings.Contains(errOut, "accepts only its own temperature") {
		t.Fatalf("exit %d, stderr %q, want the picked model's locked sampling explained", code, errOut)
	}
	if n := len(srv.ChatRequests()); n != 0 {
		t.Fatalf("%d chat requests, want none", n)
	}
}

func TestBuildToolsAppliesApprovalToMCPTools(t *testing.T) {
	servers := []mcp.Server{{Name: "calc", Command: []string{os.Args[0]}, Env: map[string]string{mcptest.EnvServe: "1"}}}
	cfg := Config{ToolsNeedingApproval: []string{"calc_add"}, Kimi: KimiConfig{MCPServers: servers}}
	reg, set, err := buildTools(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	approval := map[string]bool{}
	for _, s := range reg.Specs() {
		approval[s.Name] = s.NeedsApproval
	}
	if !approval["calc_add"] || approval["calc_fail"] {
		t.Fatalf("approval = %v, want calc_add only", approval)
	}
	cfg.ToolsNeedingApproval = []string{"calc_mul"}
	if _, _, err := buildTools(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil ||
		!strings.Contains(err.Error(), "KIMIBOT_TOOLS_APPROVAL") {
		t.Fatalf("unknown tool in the approval list: %v", err)
	}
}

func TestSettingsFromEnvironmentReachTheWire(t *testing.T) {
	t.Run("Moonshot", func(t *testing.T) {
		srv := kimitest.New(t, kimitest.Options{})
		env := []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + srv.BaseURL(), "KIMI_MODEL=kimi-k2.6",
			"KIMI_THINKING=off", "KIMI_MAX_TOKENS=777", "KIMIBOT_DB=" + filepath.Join(t.TempDir(), "chat.db")}
		if _, errOut, code := MustRunKimibot(t, "hello\n", env, "chat"); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		req := srv.ChatRequests()[0]
		if string(req.Thinking) != `{"type":"disabled"}` || req.MaxCompletionTokens != 777 {
			t.Fatalf("thinking %s max_completion_tokens %d", req.Thinking, req.MaxCompletionTokens)
		}
	})
	t.Run("OpenRouter", func(t *testing.T) {
		srv := kimitest.New(t, kimitest.Options{Flavor: kimitest.OpenRouter})
		env := []string{"OPENROUTER_API_KEY=test-key", "KIMI_BASE_URL=" + srv.BaseURL(), "KIMI_MODEL=moonshotai/kimi-k2-0905",
			"KIMI_TEMPERATURE=0.4", "OPENROUTER_REASONING_EFFORT=low", "OPENROUTER_REFERER=https://example.com/bot",
			"OPENROUTER_TITLE=Team Kimi", "KIMIBOT_DB=" + filepath.Join(t.TempDir(), "chat.db")}
		if _, errOut, code := MustRunKimibot(t, "hello\n", env, "chat"); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var chat kimitest.Request
		for _, r := range srv.Requests() {
			if r.Chat != nil {
				chat = r
			}
		}
		if chat.Chat.Temperature == nil || *chat.Chat.Temperature != 0.4 || !strings.Contains(string(chat.Chat.Reasoning), `"effort":"low"`) {
			t.Fatalf("temperature %v reasoning %s", chat.Chat.Temperature, chat.Chat.Reasoning)
		}
		if chat.Header.Get("HTTP-Referer") != "https://example.com/bot" || chat.Header.Get("X-Title") != "Team Kimi" {
			t.Fatalf("headers %v", chat.Header)
		}
	})
}

func TestCheckListsMCPTools(t *testing.T) {
	w := MustCheckWorld(t, worldOptions{scopes: append(slices.Clone(slacktest.DefaultScopes), "channels:read")})
	servers, _ := json.Marshal([]map[string]any{
		{"name": "calc", "command": []string{os.Args[0]}, "env": map[string]string{mcptest.EnvServe: "1"}},
		{"name": "gone", "command": []string{filepath.Join(t.TempDir(), "no-such-server")}},
	})
	out, errOut, code := MustRunKimibot(t, "", w.with("KIMIBOT_MCP_SERVERS="+string(servers)), "check")
	if code == 0 {
		t.Fatalf("exit 0 with a server that cannot start\n%s%s", out, errOut)
	}
	if row, _ := rowOf(out, "MCP server calc"); !strings.HasPrefix(row, "ok ") || !strings.Contains(row, "calc_add") {
		t.Errorf("calc row = %q, want ok with its tools\n%s", row, out)
	}
	if row, fix := rowOf(out, "MCP server gone"); !strings.HasPrefix(row, "fail ") || !strings.Contains(fix, "KIMIBOT_MCP_SERVERS") {
		t.Errorf("gone row = %q fix %q, want a failure naming the variable\n%s", row, fix, out)
	}
}
