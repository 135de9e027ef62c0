package bot_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"kimibot/adapters/kimi"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/internal/testkit"
)

// Ten mentions at once in ten threads, on an account that allows one
// request in flight and three per (compressed) minute: every thread is
// answered and the provider never sees a request over its limits.
func TestSimultaneousMentionsStayWithinAccountLimits(t *testing.T) {
	const window = 300 * time.Millisecond
	fake := kimitest.New(t, kimitest.Options{})
	fake.SetLimits(kimitest.Limits{MaxConcurrency: 1, RequestsPerWindow: 3, Window: window})
	fake.SetHandler(func(r *kimitest.Request) kimitest.Response {
		return kimitest.Response{Content: "answer to " + r.Chat.Messages[len(r.Chat.Messages)-1].Text(), ChunkSize: 5}
	})
	client, err := kimi.New(kimi.Config{APIKey: fake.APIKey(), BaseURL: fake.BaseURL(),
		RetryBase: time.Millisecond, RetryMax: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler),
		Limits: kimi.Limits{MaxConcurrency: 1, RequestsPerWindow: 3, Window: window}})
	if err != nil {
		t.Fatal(err)
	}
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) { c.Model, c.Catalog = client, client }})

	const n = 10
	ctx := testCtx(t)
	for i := range n {
		if err := h.p.Send(ctx, message(fmt.Sprintf("LIM%d", i), fmt.Sprintf("question %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	replies, err := h.p.WaitDone(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	answered, queued := map[string]bool{}, 0
	for _, r := range replies {
		if f := r.Failure(); f != "" {
			t.Errorf("reply failed: %s", f)
		}
		answered[r.Text()] = true
		if containsStatus(r.Statuses(), " ahead…") {
			queued++
		}
	}
	if queued == 0 {
		t.Error("no waiting answer showed its place in the queue")
	}
	for i := range n {
		if want := fmt.Sprintf("answer to question %d", i); !answered[want] {
			t.Errorf("no reply %q among %d replies", want, len(replies))
		}
	}
	if v := fake.Violations(); v != 0 {
		t.Errorf("Kimi refused %d requests over the account's limits, want 0", v)
	}
	if got := len(fake.ChatRequests()); got != n {
		t.Errorf("chat requests = %d, want %d (none refused, none retried)", got, n)
	}
}
