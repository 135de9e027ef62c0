package mcp_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/bot/bottest"
	"kimibot/internal/testkit"
	"kimibot/tools"
	"kimibot/tools/mcp"
	"kimibot/tools/mcp/mcptest"
)

// TestMain lets the test binary be the MCP server: a child started with
// mcptest.EnvServe=1 serves on stdio instead of running the tests.
func TestMain(m *testing.M) {
	mcptest.ServeIfAsked()
	os.Exit(m.Run())
}

func testCtx(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

// stdioServer is the test binary itself, serving MCP on stdio.
func stdioServer() mcp.Server {
	return mcp.Server{Name: "calc", Command: []string{os.Args[0]}, Env: map[string]string{mcptest.EnvServe: "1"}}
}

// MustConnect connects to servers and registers their tools in a new registry.
func MustConnect(tb testing.TB, servers ...mcp.Server) (*tools.Registry, []string) {
	tb.Helper()
	set, err := mcp.Connect(testCtx(tb), servers, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = set.Close() })
	reg := tools.NewRegistry(tools.Options{Timeout: 10 * time.Second})
	names, err := set.Register(testCtx(tb), reg)
	if err != nil {
		tb.Fatal(err)
	}
	return reg, names
}

func TestStdioServerToolCalledByModel(t *testing.T) {
	reg, names := MustConnect(t, stdioServer())
	if strings.Join(names, ",") != "calc_add,calc_fail" && strings.Join(names, ",") != "calc_fail,calc_add" {
		t.Fatalf("registered %v, want calc_add and calc_fail", names)
	}
	p := bottest.NewPlatform("test")
	stack := testkit.Start(t, p, testkit.Options{Configure: func(c *bot.Config) { c.Tools = reg }})
	stack.Kimi.Enqueue(
		kimitest.Response{Reasoning: "Use the calculator.", ToolCalls: []kimitest.ToolCall{
			{Name: "calc_add", Arguments: `{"a":2,"b":3}`}}},
		kimitest.Response{Content: "2 and 3 make 5."},
	)
	ctx := testCtx(t)
	ev := bot.Event{Kind: bot.EventMessage, Thread: bot.ThreadRef{Platform: "test", Workspace: "W", Channel: "C", Thread: "T"},
		User: bot.User{ID: "U1"}, Text: "what is 2+3?", Message: "m1", DedupeKeys: []string{"m1"}, Addressed: true, Time: time.Now()}
	if err := p.Send(ctx, ev); err != nil {
		t.Fatal(err)
	}
	done, err := p.WaitDone(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := done[0]; r.Text() != "2 and 3 make 5." || !strings.Contains(strings.Join(r.Statuses(), "|"), "using add on calc") {
		t.Fatalf("text %q statuses %q failure %q", r.Text(), r.Statuses(), r.Failure())
	}
	reqs := stack.Kimi.ChatRequests()
	if !strings.Contains(string(reqs[0].Raw["tools"]), `"calc_add"`) {
		t.Fatalf("tools on the wire = %s, want calc_add", reqs[0].Raw["tools"])
	}
	msgs := reqs[1].Messages
	if res := msgs[len(msgs)-1]; res.Role != "tool" || res.Text() != "2 + 3 = 5" {
		t.Fatalf("tool result = %s %q, want the MCP server's answer", res.Role, res.Text())
	}
}

func TestToolsValidatedAndErrorsReported(t *testing.T) {
	reg, _ := MustConnect(t, stdioServer())
	ctx := testCtx(t)
	if res := reg.Run(ctx, "calc_add", `{"a":"two","b":3}`); !res.IsError || !strings.Contains(res.Content, "invalid arguments") {
		t.Fatalf("invalid arguments = %+v, want the registry's validation", res)
	}
	if res := reg.Run(ctx, "calc_fail", `{}`); !res.IsError || !strings.Contains(res.Content, "the backend is down") {
		t.Fatalf("failing tool = %+v, want its error", res)
	}
	if err := reg.SetNeedsApproval("calc_add", true); err != nil {
		t.Fatalf("approval for an MCP tool: %v", err)
	}
	for _, s := range reg.Specs() {
		if s.Name == "calc_add" && !s.NeedsApproval {
			t.Fatal("calc_add does not need approval after SetNeedsApproval")
		}
	}
}

func TestStreamableHTTPWithHeaderFromFile(t *testing.T) {
	srv := mcptest.NewHTTP(t, "Authorization", "Bearer mcp-secret")
	secret := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secret, []byte("Bearer mcp-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal([]map[string]any{{"name": "web", "url": srv.URL, "header_files": map[string]string{"Authorization": secret}}})
	servers, err := mcp.ParseServers(string(cfg))
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := MustConnect(t, servers...)
	if res := reg.Run(testCtx(t), "web_add", `{"a":1.5,"b":2}`); res.IsError || res.Content != "1.5 + 2 = 3.5" {
		t.Fatalf("result = %+v", res)
	}
	if n := srv.Refused.Load(); n != 0 {
		t.Fatalf("%d requests refused, want the header on every request", n)
	}
	if _, err := mcp.Connect(testCtx(t), []mcp.Server{{Name: "web", URL: srv.URL}}, nil); err == nil {
		t.Fatal("connected without the header")
	}
}

func TestParseServersRejectsBadEntries(t *testing.T) {
	for _, bad := range []string{
		`{"name":"a"}`,
		`[{"name":"a"}]`,
		`[{"name":"a","command":["x"],"url":"http://h"}]`,
		`[{"name":"a b","command":["x"]}]`,
		`[{"name":"a","command":["x"]},{"name":"a","command":["y"]}]`,
		`[{"name":"a","url":"ftp://h"}]`,
		`[{"name":"a","url":"http://h","header_files":{"X":"/does/not/exist"}}]`,
		`[{"name":"a","command":["x"],"env_files":{"X":"/does/not/exist"}}]`,
		`[{"name":"a","command":["x"],"headers":{"X":"inline secret"}}]`,
	} {
		if _, err := mcp.ParseServers(bad); err == nil {
			t.Errorf("ParseServers(%s) accepted", bad)
		} else if strings.Contains(err.Error(), "inline secret") {
			t.Errorf("error repeats a secret: %v", err)
		}
	}
	if s, err := mcp.ParseServers(""); err != nil || s != nil {
		t.Fatalf("empty = %v, %v", s, err)
	}
}
