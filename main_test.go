package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/tools/mcp/mcptest"
)

// TestMain lets tests run the real program: a child started with
// KIMIBOT_RUN_MAIN=1 runs main instead of the tests, and one started with
// mcptest.EnvServe=1 is an MCP server on stdio.
func TestMain(m *testing.M) {
	mcptest.ServeIfAsked()
	if os.Getenv("KIMIBOT_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// configPrefixes are the environment variables that configure kimibot.
var configPrefixes = []string{"MOONSHOT_", "OPENROUTER_", "KIMI_", "KIMIBOT_", "SLACK_", "DISCORD_", "ORDERS_"}

// MustRunKimibot runs the program with args, the given environment on top
// of a clean one, and stdin; it returns stdout, stderr and the exit code.
func MustRunKimibot(tb testing.TB, stdin string, env []string, args ...string) (string, string, int) {
	tb.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !hasConfigPrefix(kv) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "KIMIBOT_RUN_MAIN=1"), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		tb.Fatalf("run kimibot: %v", err)
	}
	return out.String(), errb.String(), code
}

func TestChatCommandStreamsToolsAndKeepsHistory(t *testing.T) {
	srv := kimitest.New(t, kimitest.Options{})
	env := []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + srv.BaseURL(),
		"KIMIBOT_DB=" + filepath.Join(t.TempDir(), "chat.db"), "ORDERS_FILE=deploy/sample-orders.json"}
	srv.Enqueue(
		kimitest.Response{Reasoning: "Look it up.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
		kimitest.Response{Content: "Order A1001 is on its way.", ChunkSize: 3},
	)
	out, errOut, code := MustRunKimibot(t, "where is order A1001?\n", env, "chat")
	if code != 0 || !strings.Contains(out, "Order A1001 is on its way.") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "looking up order A1001") {
		t.Errorf("stderr %q does not show the tool status", errOut)
	}
	reqs := srv.ChatRequests()
	if len(reqs) != 2 {
		t.Fatalf("chat requests = %d, want 2", len(reqs))
	}
	tool := reqs[1].Messages[len(reqs[1].Messages)-1]
	if tool.Role != "tool" || !strings.Contains(tool.Text(), "A1001") {
		t.Fatalf("tool result = %q, want the sample order", tool.Text())
	}

	srv.Enqueue(kimitest.Response{Content: "You asked about order A1001."})
	out, errOut, code = MustRunKimibot(t, "what did I ask?\n", env, "chat")
	if code != 0 || !strings.Contains(out, "You asked about order A1001.") {
		t.Fatalf("second run: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	reqs = srv.ChatRequests()
	var roles []string
	for _, m := range reqs[len(reqs)-1].Messages {
		roles = append(roles, m.Role)
	}
	if got := strings.Join(roles, ","); got != "system,user,assistant,tool,assistant,user" {
		t.Fatalf("second run history roles = %s, want the first run's turn kept", got)
	}
}

func TestMissingConfigurationListsEveryProblem(t *testing.T) {
	_, errOut, code := MustRunKimibot(t, "", []string{"SLACK_BOT_TOKEN=not-a-bot-token-SECRET1"})
	if code != 2 {
		t.Fatalf("exit code = %d, want 2; stderr %q", code, errOut)
	}
	for _, want := range []string{"MOONSHOT_API_KEY", "SLACK_BOT_TOKEN"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("message %q does not mention %s", errOut, want)
		}
	}
	if strings.Contains(errOut, "SECRET1") {
		t.Fatalf("message echoes a secret: %q", errOut)
	}
}

func TestVersionCommands(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		out, errOut, code := MustRunKimibot(t, "", nil, arg)
		if code != 0 || !strings.HasPrefix(out, "kimibot ") || !strings.Contains(out, "revision ") {
			t.Fatalf("kimibot %s: exit %d, stdout %q, stderr %q", arg, code, out, errOut)
		}
	}
}

func TestVersionLoggedAtStart(t *testing.T) {
	srv := kimitest.New(t, kimitest.Options{})
	env := []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + srv.BaseURL(), "KIMIBOT_LOG_LEVEL=info",
		"KIMIBOT_DB=" + filepath.Join(t.TempDir(), "chat.db")}
	_, errOut, code := MustRunKimibot(t, "", env, "chat")
	if code != 0 || !strings.Contains(errOut, `msg=starting version=`) || !strings.Contains(errOut, "revision=") {
		t.Fatalf("exit %d, stderr %q; want the version logged at start", code, errOut)
	}
}
