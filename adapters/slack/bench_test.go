package slack

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
	"kimibot/internal/testkit"
)

// BenchmarkConcurrentStreams answers 50 mentions at once in one workspace,
// through Socket Mode, the real engine and storage, and the fake Kimi,
// with production pacing. It reports the Socket Mode ack latency, the
// first-visible-token overhead (when Slack first shows answer text minus
// when Kimi sent the first content token) and Slack limit violations.
// Each iteration is one round of 50 streams on a fresh stack; run it with
// -benchtime=1x for a single round.
func BenchmarkConcurrentStreams(b *testing.B) {
	const streams = 50
	var acks, firsts []time.Duration
	violations := 0
	for range b.N {
		a, f, v := streamRound(b, streams)
		acks, firsts, violations = append(acks, a...), append(firsts, f...), violations+v
	}
	b.ReportMetric(ms(percentile(acks, 50)), "ack-p50-ms")
	b.ReportMetric(ms(percentile(acks, 99)), "ack-p99-ms")
	b.ReportMetric(ms(percentile(firsts, 50)), "first-token-p50-ms")
	b.ReportMetric(ms(percentile(firsts, 99)), "first-token-p99-ms")
	b.ReportMetric(float64(violations), "violations")
	b.ReportMetric(streams, "streams/op")
}

// streamRound runs one round and returns the ack latencies, the
// first-visible overheads and the number of violations.
func streamRound(b *testing.B, streams int) (acks, firsts []time.Duration, violations int) {
	b.Helper()
	fake := slacktest.New(slacktest.Options{})
	defer fake.Close()
	cfg := DefaultConfig()
	cfg.BotToken, cfg.AppToken, cfg.APIURL = fake.Options().BotToken, fake.Options().AppToken, fake.APIURL()
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	stack := testkit.Start(b, a, testkit.Options{Model: "kimi-k2-turbo-preview", NoRecording: true,
		Logger: slog.New(slog.NewTextHandler(testLogOut(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	defer stack.Stop(b)
	waitReady(b, a)

	answer := strings.Repeat("Streaming answer text for the benchmark. ", 10)
	var mu sync.Mutex
	firstToken := map[string]time.Time{}
	stack.Kimi.SetHandler(func(r *kimitest.Request) kimitest.Response {
		q := r.Chat.Messages[len(r.Chat.Messages)-1].Text()
		return kimitest.Response{Content: answer, ChunkSize: 8, Delay: 5 * time.Millisecond,
			OnWrite: func(i int, at time.Time) {
				if i == 1 {
					mu.Lock()
					firstToken[q] = at
					mu.Unlock()
				}
			}}
	})

	b.ResetTimer()
	// Each thread, by its ts, with its channel and question.
	type thread struct{ channel, question string }
	threads := map[string]thread{}
	for i := range streams {
		q := fmt.Sprintf("question %d", i)
		m := slacktest.UserMessage{User: fmt.Sprintf("U%d", i), Channel: fmt.Sprintf("C%d", i%5),
			Text: "<@UKIMIBOT> " + q, TS: fake.NewTS()}
		threads[m.TS] = thread{m.Channel, q}
		fake.PushEvent(fake.Callback(m.Mention()).Body)
		fake.PushEvent(fake.Callback(m.Message()).Body)
	}
	ctx := testContext(b)
	err = fake.Wait(ctx, func() bool { return fake.CallCount("chat.stopStream") >= streams })
	b.StopTimer()
	for ts, th := range threads {
		if msgs := fake.Thread(th.channel, ts); len(msgs) != 1 || msgs[0].Streaming || msgs[0].Shown() != answer {
			err = fmt.Errorf("thread %s is not answered", ts)
		}
	}
	if err != nil {
		for ts, th := range threads {
			if msgs := fake.Thread(th.channel, ts); len(msgs) != 1 || msgs[0].Streaming || msgs[0].Shown() != answer {
				b.Logf("thread %s/%s shows %s", th.channel, ts, describe(msgs))
			}
		}
		b.Fatalf("not every stream finished: %v", err)
	}

	for _, env := range fake.Envelopes() {
		if env.Acks == 0 {
			b.Fatalf("envelope %s never acknowledged", env.ID)
		}
		acks = append(acks, env.Acked.Sub(env.Sent[0]))
	}
	mu.Lock()
	defer mu.Unlock()
	for ts, th := range threads {
		sent, ok := firstToken[th.question]
		if !ok {
			b.Fatalf("no first token recorded for %q", th.question)
		}
		firsts = append(firsts, fake.Thread(th.channel, ts)[0].States[0].Time.Sub(sent))
	}
	return acks, firsts, len(fake.Violations())
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
