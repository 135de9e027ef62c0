package slack

import (
	"context"
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
// when Kimi sent the first content token), Slack limit violations, and how
// many answers streamed natively: chat.startStream and chat.stopStream are
// Tier 2, so most of the 50 are posted and edited instead.
// Each iteration is one round of 50 streams on a fresh stack; run it with
// -benchtime=1x for a single round.
func BenchmarkConcurrentStreams(b *testing.B) {
	const streams = 50
	var acks, firsts []time.Duration
	var violations, appends, native int
	for range b.N {
		r := streamRound(b, streams)
		acks, firsts = append(acks, r.acks...), append(firsts, r.firsts...)
		violations, appends, native = violations+r.violations, appends+r.appends, native+r.native
	}
	b.ReportMetric(ms(percentile(acks, 50)), "ack-p50-ms")
	b.ReportMetric(ms(percentile(acks, 99)), "ack-p99-ms")
	b.ReportMetric(ms(percentile(firsts, 50)), "first-token-p50-ms")
	b.ReportMetric(ms(percentile(firsts, 99)), "first-token-p99-ms")
	b.ReportMetric(float64(violations), "violations")
	b.ReportMetric(float64(appends)/float64(b.N), "appends/op")
	b.ReportMetric(float64(native)/float64(b.N), "native-streams/op")
	b.ReportMetric(streams, "streams/op")
}

// round is what one round of streams measured.
type round struct {
	acks, firsts                []time.Duration
	violations, appends, native int
}

// streamRound runs one round of streams on a fresh stack.
func streamRound(b *testing.B, streams int) round {
	b.Helper()
	b.StopTimer()
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
		// About two seconds per answer, so that streams append and share
		// the workspace's append budget.
		return kimitest.Response{Content: answer, ChunkSize: 8, Delay: 40 * time.Millisecond,
			OnWrite: func(i int, at time.Time) {
				if i == 1 {
					mu.Lock()
					firstToken[q] = at
					mu.Unlock()
				}
			}}
	})

	b.StartTimer()
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
	// Every answer shows from its first token, so the last final edits
	// wait for the workspace's chat.update budget: up to a minute or so.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err = fake.Wait(ctx, func() bool {
		for ts, th := range threads {
			if msgs := fake.Thread(th.channel, ts); len(msgs) != 1 || msgs[0].Streaming || msgs[0].Shown() != answer {
				return false
			}
		}
		return true
	})
	b.StopTimer()
	for ts, th := range threads {
		if msgs := fake.Thread(th.channel, ts); len(msgs) != 1 || msgs[0].Streaming || msgs[0].Shown() != answer {
			b.Errorf("thread %s/%s shows %s", th.channel, ts, describe(msgs))
		}
	}
	if err != nil || b.Failed() {
		b.Fatalf("not every stream finished: %v", err)
	}

	var res round
	for _, env := range fake.Envelopes() {
		if env.Acks == 0 {
			b.Fatalf("envelope %s never acknowledged", env.ID)
		}
		res.acks = append(res.acks, env.Acked.Sub(env.Sent[0]))
	}
	mu.Lock()
	defer mu.Unlock()
	for ts, th := range threads {
		sent, ok := firstToken[th.question]
		if !ok {
			b.Fatalf("no first token recorded for %q", th.question)
		}
		res.firsts = append(res.firsts, firstText(fake.Thread(th.channel, ts)[0], answer).Sub(sent))
	}
	res.violations, res.appends = len(fake.Violations()), fake.CallCount("chat.appendStream")
	res.native = fake.CallCount("chat.startStream")
	return res
}

// firstText is when a message first showed part of the answer, rather
// than a placeholder.
func firstText(m slacktest.Message, answer string) time.Time {
	for _, st := range m.States {
		if st.Text != "" && strings.HasPrefix(answer, st.Text) {
			return st.Time
		}
	}
	return time.Time{}
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}

// ms converts a duration to milliseconds for reporting.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
