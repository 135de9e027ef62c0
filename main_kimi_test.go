package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kimibot/adapters/kimi/kimitest"
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
