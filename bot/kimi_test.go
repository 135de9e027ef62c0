package bot_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/kimi"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/internal/testkit"
)

// clock is a settable time source for the engine.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func threadRef(th string) bot.ThreadRef {
	return bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "C1", Thread: th}
}

// rawMessages returns each message of a recorded request as canonical JSON.
func rawMessages(tb testing.TB, r *kimitest.ChatRequest) []string {
	tb.Helper()
	out := make([]string, len(r.Messages))
	for i, m := range r.Messages {
		b, err := json.Marshal(m.Raw)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

func TestPromptPrefixByteIdenticalAcrossMinutesAndTurns(t *testing.T) {
	clk := &clock{now: time.Date(2026, 11, 22, 9, 1, 0, 0, time.UTC)}
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) { c.Now = clk.Now }})
	h.ask(t, message("TP", "first question"), 1)
	clk.Add(17 * time.Minute)
	h.ask(t, message("TP", "second question"), 2)
	clk.Add(3*time.Hour + 41*time.Minute)
	h.ask(t, message("TP", "third question"), 3)
	reqs := h.Kimi.ChatRequests()
	if len(reqs) != 3 {
		t.Fatalf("requests = %d, want 3", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		prev, cur := rawMessages(t, reqs[i-1]), rawMessages(t, reqs[i])
		if len(cur) <= len(prev) {
			t.Fatalf("request %d has %d messages, want more than %d", i, len(cur), len(prev))
		}
		for j := range prev {
			if prev[j] != cur[j] {
				t.Fatalf("request %d message %d changed; the cached prefix breaks:\n%s\n%s", i, j, prev[j], cur[j])
			}
		}
	}
	if sys := reqs[0].Messages[0].Text(); !strings.HasSuffix(sys, "Today is Sunday, 2026-11-22.") ||
		strings.Contains(sys, "09:01") {
		t.Fatalf("system prompt = %q, want the date last and no time of day", sys)
	}
}

func TestStepCapAsksForAnswerWithoutTools(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) { c.MaxSteps = 2 }})
	h.Kimi.Enqueue(
		kimitest.Response{Reasoning: "a", ToolCalls: []kimitest.ToolCall{{Name: "lookup_order", Arguments: `{"order_id":"A1"}`}}},
		kimitest.Response{Reasoning: "b", ToolCalls: []kimitest.ToolCall{{Name: "lookup_order", Arguments: `{"order_id":"A2"}`}}},
		kimitest.Response{Reasoning: "c", Content: "A1 and A2 are not known orders."},
	)
	r := h.ask(t, message("T14", "many steps"), 1)
	if r.Failure() != "" || r.Text() != "A1 and A2 are not known orders." {
		t.Fatalf("text %q failure %q, want the answer of the last call", r.Text(), r.Failure())
	}
	reqs := h.Kimi.ChatRequests()
	if len(reqs) != 3 {
		t.Fatalf("requests = %d, want 2 steps and one last call", len(reqs))
	}
	last := reqs[2]
	if len(last.Tools) != 0 {
		t.Fatalf("last call declares %d tools, want none", len(last.Tools))
	}
	if m := last.Messages[len(last.Messages)-1]; m.Role != "system" || !strings.Contains(m.Text(), "Answer the user now") {
		t.Fatalf("last message = %s %q, want the instruction to answer", m.Role, m.Text())
	}
	// The next turn's history stays valid for the fake's checks.
	if r := h.ask(t, message("T14", "and now?"), 2); r.Failure() != "" {
		t.Fatalf("next turn failed: %q", r.Failure())
	}
}

func TestWebSearchRoundTripIsAToolStepWithItsCost(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) { c.WebSearch = true }})
	h.Kimi.Enqueue(
		kimitest.Response{ToolCalls: []kimitest.ToolCall{{Name: "$web_search"}}},
		kimitest.Response{Content: "Kimi K3 was released this year.",
			Usage: &kimitest.Usage{PromptTokens: 9000, CompletionTokens: 10}},
	)
	r := h.ask(t, message("TW", "what is new with Kimi?"), 1)
	if r.Failure() != "" || r.Text() != "Kimi K3 was released this year." {
		t.Fatalf("text %q failure %q; the fake rejects a $web_search result that is not the call's arguments",
			r.Text(), r.Failure())
	}
	if !containsStatus(r.Statuses(), "searching the web") {
		t.Errorf("statuses = %q, want the search shown as a step", r.Statuses())
	}
	reqs := h.Kimi.ChatRequests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want 2", len(reqs))
	}
	var builtin bool
	for _, raw := range reqs[0].Tools {
		var tool struct {
			Type     string
			Function struct{ Name string }
		}
		_ = json.Unmarshal(raw, &tool)
		builtin = builtin || (tool.Type == "builtin_function" && tool.Function.Name == "$web_search")
	}
	if !builtin || !strings.Contains(string(reqs[0].Thinking), `"disabled"`) {
		t.Fatalf("first request tools %s thinking %s, want $web_search declared and thinking off",
			reqs[0].Tools, reqs[0].Thinking)
	}
	msgs := reqs[1].Messages
	call, res := msgs[len(msgs)-2], msgs[len(msgs)-1]
	if len(call.ToolCalls) != 1 || call.ToolCalls[0].Type != "builtin_function" || res.Role != "tool" ||
		res.Text() != call.ToolCalls[0].Function.Arguments {
		t.Fatalf("call %+v result %q, want the arguments echoed", call.ToolCalls, res.Text())
	}
	h.WaitIdle(t) // the usage is stored once the reply is finished
	u, _, err := h.Store.UsageSum(testCtx(t), conversation.UsageFilter{Thread: string(threadRef("TW").Key())})
	if err != nil {
		t.Fatal(err)
	}
	searchFee, answer := bot.DefaultWebSearchPrice, 9000*0.95e-6+10*4e-6
	if diff := u.Cost - (searchFee + answer + costOfFirstCall(t, reqs[0], h)); diff > 1e-9 || diff < -1e-9 {
		t.Errorf("cost = %.6f, want the search fee %.3f plus the calls", u.Cost, searchFee)
	}
	if f := r.Footer(); f == nil || !near(f.Usage.Cost, u.Cost) {
		t.Errorf("footer = %+v, want the cost of the calls and the search, %.6f", f, u.Cost)
	}
}

// costOfFirstCall is the kimi-k2.6 price of the fake's usage estimate for
// the first call, which asked for the search.
func costOfFirstCall(tb testing.TB, _ *kimitest.ChatRequest, h *harness) float64 {
	tb.Helper()
	msgs, err := h.Store.Messages(testCtx(tb), threadRef("TW").Key())
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range msgs {
		if m.Role == conversation.RoleAssistant && len(m.ToolCalls) > 0 && m.Usage != nil {
			return float64(m.Usage.PromptTokens)*0.95e-6 + float64(m.Usage.CompletionTokens)*4e-6
		}
	}
	tb.Fatal("no stored tool-call step")
	return 0
}

func TestWebSearchPerChannelByAdmins(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) {
		c.Admins = []bot.Principal{{Platform: "test", Kind: bot.PrincipalUser, ID: "UADMIN"}}
	}})
	ctx := testCtx(t)
	cmd := func(user string, args ...string) bot.CommandReply {
		return h.Engine.Commands().Command(ctx, bot.Command{Thread: threadRef(""), User: bot.User{ID: user}, Name: "websearch", Args: args})
	}
	if r := cmd("U1", "on"); !strings.Contains(r.Text, "Only admins") {
		t.Fatalf("non-admin reply = %q", r.Text)
	}
	if r := cmd("UADMIN", "on"); !r.Public || !strings.Contains(r.Text, "on in this channel") {
		t.Fatalf("admin reply = %+v", r)
	}
	h.ask(t, message("TWS", "search please"), 1)
	if tools := string(h.Kimi.ChatRequests()[0].Raw["tools"]); !strings.Contains(tools, "$web_search") {
		t.Fatalf("tools = %s, want $web_search after the admin turned it on", tools)
	}
}

func TestSettingsOnTheWire(t *testing.T) {
	temp := 0.3
	h := MustStart(t, testkit.Options{Model: "moonshot-v1-8k", Configure: func(c *bot.Config) {
		c.Temperature, c.MaxTokens, c.Thinking = &temp, 1000, bot.ThinkingDisabled
	}})
	h.ask(t, message("TS", "hi"), 1)
	req := h.Kimi.ChatRequests()[0]
	if req.Temperature == nil || *req.Temperature != 0.3 || req.MaxCompletionTokens != 1000 {
		t.Fatalf("temperature %v max_completion_tokens %d, want 0.3 and 1000", req.Temperature, req.MaxCompletionTokens)
	}

	// A model that locks sampling gets no temperature; /kimi thinking is per thread.
	h2 := MustStart(t, testkit.Options{Model: "kimi-k2.6", Configure: func(c *bot.Config) { c.Temperature = &temp }})
	ctx := testCtx(t)
	r := h2.Engine.Commands().Command(ctx, bot.Command{Thread: threadRef("TT"), User: bot.User{ID: "U1"}, Name: "thinking", Args: []string{"off"}})
	if !r.Public || !strings.Contains(r.Text, "off") {
		t.Fatalf("thinking off reply = %+v", r)
	}
	h2.ask(t, message("TT", "quick one"), 1)
	h2.ask(t, message("TOther", "other thread"), 2)
	reqs := h2.Kimi.ChatRequests()
	if reqs[0].Temperature != nil || !strings.Contains(string(reqs[0].Thinking), `"disabled"`) {
		t.Fatalf("thread TT: temperature %v thinking %s, want no temperature and thinking off", reqs[0].Temperature, reqs[0].Thinking)
	}
	if strings.Contains(string(reqs[1].Thinking), "disabled") {
		t.Fatalf("other thread: thinking %s, want the default", reqs[1].Thinking)
	}
	if !kimi.LocksSampling("kimi-k2.6") || kimi.LocksSampling("moonshot-v1-8k") {
		t.Fatal("LocksSampling disagrees with the model rules")
	}
}

func TestOpenRouterSettingsOnTheWire(t *testing.T) {
	h := MustStart(t, testkit.Options{Flavor: kimitest.OpenRouter, ConfigureKimi: func(c *kimi.Config) {
		c.ReasoningEffort, c.Referer, c.Title = "high", "https://example.com/kimibot", "Team Kimi"
	}})
	h.ask(t, message("TOR", "hi"), 1)
	var chat kimitest.Request
	for _, r := range h.Kimi.Requests() {
		if r.Chat != nil {
			chat = r
		}
	}
	if got := string(chat.Chat.Reasoning); !strings.Contains(got, `"effort":"high"`) {
		t.Fatalf("reasoning = %s, want effort high", got)
	}
	if chat.Header.Get("HTTP-Referer") != "https://example.com/kimibot" || chat.Header.Get("X-Title") != "Team Kimi" {
		t.Fatalf("headers = %v", chat.Header)
	}
}

func TestReasoningDetailsKeptOnEveryAssistantMessage(t *testing.T) {
	h := MustStart(t, testkit.Options{Flavor: kimitest.OpenRouter})
	h.Kimi.Enqueue(kimitest.Response{Reasoning: "Greeting back.", Content: "Hello!"})
	h.ask(t, message("TRD", "hello"), 1)
	h.ask(t, message("TRD", "again"), 2)
	msgs := h.Kimi.ChatRequests()[1].Messages
	var asst *kimitest.ChatMessage
	for i := range msgs {
		if msgs[i].Role == "assistant" {
			asst = &msgs[i]
		}
	}
	if asst == nil || !strings.Contains(string(asst.ReasoningDetails), "Greeting back.") {
		t.Fatalf("earlier plain answer = %+v, want its reasoning_details sent back", asst)
	}
}

func TestOpenRouterAliasServes(t *testing.T) {
	h := MustStart(t, testkit.Options{Flavor: kimitest.OpenRouter, Model: "~moonshotai/kimi-latest"})
	r := h.ask(t, message("TAL", "hi"), 1)
	if r.Failure() != "" || r.Footer() == nil || r.Footer().Model != "moonshotai/kimi-k3" {
		t.Fatalf("failure %q footer %+v, want the alias served by the model it resolves to", r.Failure(), r.Footer())
	}
	reply := h.Engine.Commands().Command(testCtx(t), bot.Command{Thread: threadRef("TAL"), User: bot.User{ID: "U1"}, Name: "model",
		Args: []string{"~moonshotai/kimi-latest", "thread"}})
	if !strings.Contains(reply.Text, "Using `~moonshotai/kimi-latest`") {
		t.Fatalf("model reply = %q, want the alias accepted", reply.Text)
	}
}

func TestCostUsesCachedPriceAndUsageShowsBalance(t *testing.T) {
	h := MustStart(t, testkit.Options{Model: "kimi-k2.5", Configure: func(c *bot.Config) {
		c.Balance = c.Model.(bot.Balance)
	}})
	h.Kimi.Enqueue(kimitest.Response{Content: "ok",
		Usage: &kimitest.Usage{PromptTokens: 1_000_000, CachedTokens: 800_000, CompletionTokens: 100_000}})
	h.ask(t, message("TC", "hi"), 1)
	h.WaitIdle(t)
	r := h.Engine.Commands().Command(testCtx(t), bot.Command{Thread: threadRef("TC"), User: bot.User{ID: "U1"}, Name: "usage"})
	// 200k uncached at $0.60/M + 800k cached at $0.10/M + 100k out at $3/M.
	for _, want := range []string{"This conversation: 1,000,000 in / 100,000 out (800,000 cached), $0.5000",
		"Cache hit rate (input tokens): you, today 80%;", "this conversation 80%",
		"Account balance: $49.58"} {
		if !strings.Contains(r.Text, want) {
			t.Fatalf("usage = %s\nwant %q", r.Text, want)
		}
	}
}

func TestParsePricesOverridesDefaults(t *testing.T) {
	p, err := bot.ParsePrices(`{"kimi-k2.6":{"input":1,"cached":0.2,"output":5},"my-model":{"input":2,"output":3}}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := p["kimi-k2.6"]; !near(got.Prompt, 1e-6) || !near(got.Cached, 0.2e-6) || !near(got.Completion, 5e-6) {
		t.Errorf("kimi-k2.6 = %+v", got)
	}
	if _, ok := p["kimi-k2.5"]; !ok {
		t.Error("defaults lost")
	}
	for _, bad := range []string{`{"m":{"input":1}}`, `{"m":{"input":-1,"output":1}}`, `[1]`, `{"m":{"inputs":1,"output":1}}`} {
		if _, err := bot.ParsePrices(bad); err == nil {
			t.Errorf("ParsePrices(%s) accepted", bad)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }
