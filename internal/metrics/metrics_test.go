package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"kimibot/conversation"
	"kimibot/internal/buildinfo"
)

// drafts is a DraftLister with fixed drafts.
type drafts struct {
	list []conversation.Draft
	err  error
}

func (d drafts) DraftsByState(_ context.Context, states ...conversation.DraftState) ([]conversation.Draft, error) {
	var out []conversation.Draft
	for _, x := range d.list {
		for _, s := range states {
			if x.State == s {
				out = append(out, x)
			}
		}
	}
	return out, d.err
}

func TestObserverCounts(t *testing.T) {
	m := New(Options{})
	m.TurnFinished("slack", "answered", 2*time.Second)
	u := conversation.Usage{PromptTokens: 100, CachedTokens: 30, CompletionTokens: 12, Cost: 0.25}
	m.ModelCall("slack", "kimi-k3", "C1", u, 300*time.Millisecond, time.Second)
	m.ModelCall("slack", "kimi-k3", "C1", u, 0, time.Second)
	m.ToolCall("lookup_order", "ok")
	m.Stream(1)
	m.Stream(1)
	m.Stream(-1)
	m.QueueDepth(3)
	m.QueueWait(time.Millisecond)
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{testutil.ToFloat64(m.turns.WithLabelValues("slack", "answered")), 1, "turns"},
		{testutil.ToFloat64(m.tokens.WithLabelValues("kimi-k3", "C1", "prompt")), 200, "prompt tokens"},
		{testutil.ToFloat64(m.tokens.WithLabelValues("kimi-k3", "C1", "cached")), 60, "cached tokens"},
		{testutil.ToFloat64(m.tokens.WithLabelValues("kimi-k3", "C1", "completion")), 24, "completion tokens"},
		{testutil.ToFloat64(m.cost.WithLabelValues("kimi-k3", "C1")), 0.5, "cost"},
		{testutil.ToFloat64(m.toolCalls.WithLabelValues("lookup_order", "ok")), 1, "tool calls"},
		{testutil.ToFloat64(m.streams), 1, "streams"},
		{testutil.ToFloat64(m.queueDepth), 3, "queue depth"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestRequestsCountWritesAnd429s(t *testing.T) {
	m := New(Options{})
	r := m.Requests("slack")
	r.Request("chat.update", true, http.StatusOK)
	r.Request("chat.update", true, http.StatusTooManyRequests)
	r.Request("users.info", false, http.StatusOK)
	if got := testutil.ToFloat64(m.writes.WithLabelValues("slack", "chat.update")); got != 2 {
		t.Errorf("writes = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.rateLimited.WithLabelValues("slack", "chat.update")); got != 1 {
		t.Errorf("429s = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.platformCalls.WithLabelValues("slack", "users.info")); got != 1 {
		t.Errorf("requests = %v, want 1", got)
	}
}

func TestDraftsByStateAtScrape(t *testing.T) {
	d := drafts{list: []conversation.Draft{
		{ID: "1", Kind: conversation.DraftReply, State: conversation.DraftPending},
		{ID: "2", Kind: conversation.DraftReply, State: conversation.DraftPending},
		{ID: "3", Kind: conversation.DraftTool, State: conversation.DraftSending},
		{ID: "4", Kind: conversation.DraftReply, State: conversation.DraftSent},
	}}
	want := `
# HELP kimibot_drafts Support drafts waiting for a decision (pending) or being sent (sending), by kind.
# TYPE kimibot_drafts gauge
kimibot_drafts{kind="reply",state="pending"} 2
kimibot_drafts{kind="reply",state="sending"} 0
kimibot_drafts{kind="tool",state="pending"} 0
kimibot_drafts{kind="tool",state="sending"} 1
# HELP kimibot_drafts_scrape_errors 1 when the drafts could not be read at this scrape.
# TYPE kimibot_drafts_scrape_errors gauge
kimibot_drafts_scrape_errors 0
`
	if err := testutil.CollectAndCompare(&draftCollector{drafts: d}, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	broken := &draftCollector{drafts: drafts{err: errors.New("disk gone")}}
	if err := testutil.CollectAndCompare(broken, strings.NewReader(`
# HELP kimibot_drafts_scrape_errors 1 when the drafts could not be read at this scrape.
# TYPE kimibot_drafts_scrape_errors gauge
kimibot_drafts_scrape_errors 1
`), "kimibot_drafts_scrape_errors"); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerServesBuildInfoAndRuntime(t *testing.T) {
	m := New(Options{Build: buildinfo.Info{Version: "v1.2.3", Revision: "abc123", GoVersion: "go1.26.0"}})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`kimibot_build_info{goversion="go1.26.0",revision="abc123",version="v1.2.3"} 1`,
		"go_goroutines", "process_"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// BenchmarkHotPath measures what a streamed answer adds per model call and
// per platform request.
func BenchmarkHotPath(b *testing.B) {
	m := New(Options{})
	r := m.Requests("slack")
	u := conversation.Usage{PromptTokens: 100, CachedTokens: 30, CompletionTokens: 12, Cost: 0.001}
	b.ReportAllocs()
	for b.Loop() {
		m.ModelCall("slack", "kimi-k3", "C1", u, 300*time.Millisecond, time.Second)
		r.Request("chat.appendStream", true, http.StatusOK)
		m.Stream(1)
		m.Stream(-1)
	}
}
