package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
)

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// MustScrape reads /metrics of the running bot.
func MustScrape(tb testing.TB, addr string) []sample {
	tb.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		tb.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		tb.Fatalf("scrape: %s %s", resp.Status, body)
	}
	var out []sample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if s, ok := parseSample(sc.Text()); ok {
			out = append(out, s)
		}
	}
	return out
}

// parseSample parses `name{a="b",c="d"} value`; label values hold no commas here.
func parseSample(line string) (sample, bool) {
	if line == "" || strings.HasPrefix(line, "#") {
		return sample{}, false
	}
	sp := strings.LastIndexByte(line, ' ')
	v, err := strconv.ParseFloat(line[sp+1:], 64)
	if err != nil {
		return sample{}, false
	}
	s := sample{name: line[:sp], labels: map[string]string{}, value: v}
	if i := strings.IndexByte(s.name, '{'); i >= 0 {
		for _, kv := range strings.Split(strings.TrimSuffix(s.name[i+1:], "}"), ",") {
			k, val, _ := strings.Cut(kv, "=")
			s.labels[k] = strings.Trim(val, `"`)
		}
		s.name = s.name[:i]
	}
	return s, true
}

// sum adds the samples of name whose labels include want.
func sum(ss []sample, name string, want map[string]string) (float64, bool) {
	total, found := 0.0, false
	for _, s := range ss {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			match = match && s.labels[k] == v
		}
		if match {
			total, found = total+s.value, true
		}
	}
	return total, found
}

func TestMetricsCountAScriptedConversation(t *testing.T) {
	kimi := kimitest.New(t, kimitest.Options{})
	sf := slacktest.Start(t, slacktest.Options{})
	df := discordtest.NewServer(t, discordtest.Options{})
	bot := MustServe(t, []string{"DISCORD_BOT_TOKEN=" + df.Token(), "DISCORD_API_URL=" + df.APIURL(), "MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + kimi.BaseURL(), "KIMI_MODEL=kimi-k3",
		"KIMIBOT_DB=" + filepath.Join(t.TempDir(), "metrics.db"), "KIMIBOT_HTTP_ADDR=127.0.0.1:0",
		"ORDERS_FILE=deploy/sample-orders.json",
		"SLACK_BOT_TOKEN=" + sf.Options().BotToken, "SLACK_APP_TOKEN=" + sf.Options().AppToken, "SLACK_API_URL=" + sf.APIURL()})
	bot.waitReady(t)
	before := MustScrape(t, bot.addr)
	if v, ok := sum(before, "kimibot_build_info", nil); !ok || v != 1 {
		t.Fatalf("kimibot_build_info = %v, %v; want 1", v, ok)
	}
	if _, ok := sum(before, "go_goroutines", nil); !ok {
		t.Fatal("no Go runtime metrics")
	}

	kimi.Enqueue(
		kimitest.Response{Reasoning: "Look it up.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}},
			Usage: &kimitest.Usage{PromptTokens: 120, CachedTokens: 20, CompletionTokens: 15}},
		kimitest.Response{Content: "Order A1001 is on its way.",
			Usage: &kimitest.Usage{PromptTokens: 200, CachedTokens: 100, CompletionTokens: 30}},
	)
	sf.Inject(slacktest.Fault{Method: "assistant.threads.setStatus", Status: http.StatusTooManyRequests, RetryAfter: "1"})
	m := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> where is order A1001?", TS: sf.NewTS()}
	sf.PushEvent(sf.Callback(m.Mention()).Body)
	waitMetric(t, bot, "kimibot_turns_total", map[string]string{"platform": "slack", "outcome": "answered"}, 1)
	// The turn is counted as it ends; its worker then takes it off the queue.
	after := waitSamples(t, bot, "queue empty", func(ss []sample) bool {
		depth, _ := sum(ss, "kimibot_queue_depth", nil)
		return depth == 0
	})

	model := map[string]string{"model": "kimi-k3", "channel": "C1"}
	for kind, want := range map[string]float64{"prompt": 320, "cached": 120, "completion": 45} {
		got, _ := sum(after, "kimibot_tokens_total", map[string]string{"model": "kimi-k3", "channel": "C1", "kind": kind})
		if got != want {
			t.Errorf("%s tokens = %v, want %v (the fake's usage)", kind, got, want)
		}
	}
	if _, ok := sum(after, "kimibot_cost_usd_total", model); !ok {
		t.Error("no cost series for the channel")
	}
	if got, _ := sum(after, "kimibot_tool_calls_total", map[string]string{"tool": "lookup_order", "outcome": "ok"}); got != 1 {
		t.Errorf("lookup_order calls = %v, want 1", got)
	}
	for _, h := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"kimibot_model_first_token_seconds_count", map[string]string{"model": "kimi-k3"}, 2},
		{"kimibot_model_call_duration_seconds_count", map[string]string{"model": "kimi-k3"}, 2},
		{"kimibot_first_visible_seconds_count", map[string]string{"platform": "slack"}, 1},
		{"kimibot_turn_duration_seconds_count", map[string]string{"platform": "slack"}, 1},
		{"kimibot_queue_wait_seconds_count", nil, 1},
	} {
		if got, _ := sum(after, h.name, h.labels); got != h.want {
			t.Errorf("%s = %v, want %v", h.name, got, h.want)
		}
	}
	if got, _ := sum(after, "kimibot_active_streams", nil); got != 0 {
		t.Errorf("active streams = %v after the answer, want 0", got)
	}
	if got, _ := sum(after, "kimibot_queue_depth", nil); got != 0 {
		t.Errorf("queue depth = %v after the answer, want 0", got)
	}
	assertSlackCalls(t, bot, sf)
	limited := map[string]string{"platform": "slack", "method": "assistant.threads.setStatus"}
	if got, _ := sum(MustScrape(t, bot.addr), "kimibot_platform_rate_limited_total", limited); got != 1 {
		t.Errorf("429s of assistant.threads.setStatus = %v, want 1", got)
	}
	assertDiscordCalls(t, bot, df)
	assertDashboardMetricsExist(t, MustScrape(t, bot.addr))
}

var metricName = regexp.MustCompile(`\b(?:kimibot|go|process)_[a-z_]+\b`)

// assertDashboardMetricsExist checks that every metric the Grafana
// dashboard queries is one the program exports.
func assertDashboardMetricsExist(t *testing.T, ss []sample) {
	t.Helper()
	raw, err := os.ReadFile("deploy/grafana/kimibot.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	exported := map[string]bool{}
	for _, s := range ss {
		exported[s.name] = true
	}
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				if !exported[name] {
					t.Errorf("panel %q queries %s, which /metrics does not export", p.Title, name)
				}
			}
		}
	}
	if queries < 10 {
		t.Fatalf("dashboard has %d queries", queries)
	}
}

// assertDiscordCalls answers a DM on Discord, with one 429 on the first
// message post, and compares the request counters with the fake's calls.
func assertDiscordCalls(t *testing.T, bot *servedBot, df *discordtest.Server) {
	t.Helper()
	user := df.AddUser("ada", false)
	dm := df.DMChannel(user.ID)
	df.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Status: http.StatusTooManyRequests,
		RetryAfter: 50 * time.Millisecond})
	df.SendMessage(discordtest.Incoming{Channel: dm, Author: user, Content: "hello from discord"})
	waitMetric(t, bot, "kimibot_turns_total", map[string]string{"platform": "discord", "outcome": "answered"}, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ss := MustScrape(t, bot.addr)
		calls, writes := df.Calls(), 0.0
		for _, c := range calls {
			if c.Method != http.MethodGet {
				writes++
			}
		}
		all, _ := sum(ss, "kimibot_platform_requests_total", map[string]string{"platform": "discord"})
		gotWrites, _ := sum(ss, "kimibot_platform_writes_total", map[string]string{"platform": "discord"})
		limited, _ := sum(ss, "kimibot_platform_rate_limited_total",
			map[string]string{"platform": "discord", "method": "POST /channels/{id}/messages"})
		if all == float64(len(calls)) && gotWrites == writes && limited == 1 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("discord requests %v writes %v 429s %v; the fake saw %d calls, %v writes", all, gotWrites, limited,
				len(calls), writes)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// assertSlackCalls compares the request counters with the calls the fake
// recorded, once both have settled (the adapter may still be clearing the
// thread status when the turn ends).
func assertSlackCalls(t *testing.T, bot *servedBot, sf *slacktest.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ss := MustScrape(t, bot.addr)
		byMethod := map[string]float64{}
		for _, c := range sf.Calls() {
			byMethod[c.Method]++
		}
		mismatch := ""
		for method, n := range byMethod {
			if got, _ := sum(ss, "kimibot_platform_requests_total", map[string]string{"platform": "slack", "method": method}); got != n {
				mismatch = method
			}
		}
		writes, _ := sum(ss, "kimibot_platform_writes_total", map[string]string{"platform": "slack"})
		posted := byMethod["chat.postMessage"] + byMethod["chat.startStream"] + byMethod["chat.update"] +
			byMethod["chat.appendStream"] + byMethod["chat.stopStream"] + byMethod["assistant.threads.setStatus"]
		if mismatch == "" && writes == posted && writes > 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("slack requests never matched the fake's calls (method %q, writes %v, want %v)\n%v",
				mismatch, writes, posted, byMethod)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitMetric scrapes until the sum of name with labels reaches want; the
// counters have no event to wait on from outside the process.
func waitMetric(t *testing.T, bot *servedBot, name string, labels map[string]string, want float64) []sample {
	t.Helper()
	return waitSamples(t, bot, name, func(ss []sample) bool {
		got, _ := sum(ss, name, labels)
		if got > want {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		return got == want
	})
}

// waitSamples scrapes /metrics, which has no event to wait on, until ok
// holds for its samples, and returns them.
func waitSamples(t *testing.T, bot *servedBot, what string, ok func([]sample) bool) []sample {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		ss := MustScrape(t, bot.addr)
		if ok(ss) {
			return ss
		}
		select {
		case <-ctx.Done():
			t.Fatalf("metrics never showed %s:\n%s", what, bot.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
