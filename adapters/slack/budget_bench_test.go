package slack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
)

// Shape of the answers the budget benchmarks stream: about 4,000
// characters in 100 chunks, 30 ms apart (three seconds), after a first
// token 200 ms after the reply opens.
const (
	budgetAnswers    = 50
	budgetChunks     = 100
	budgetChunkEvery = 30 * time.Millisecond
	budgetFirstAfter = 200 * time.Millisecond
	// defaultBudgetWindow is Slack's minute compressed tenfold, in the
	// fake and the adapter alike: every per-minute budget and the
	// per-channel post pace are ten times Slack's, against answers of real
	// length. SLACK_BENCH_WINDOW (such as "1m") overrides it.
	defaultBudgetWindow = 6 * time.Second
)

// budgetWindow is the limit window the budget benchmarks run with.
func budgetWindow(b *testing.B) time.Duration {
	if s := os.Getenv("SLACK_BENCH_WINDOW"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			b.Fatalf("SLACK_BENCH_WINDOW=%q: want a duration", s)
		}
		return d
	}
	return defaultBudgetWindow
}

// budgetChunk is chunk i of every benchmark answer (40 characters).
func budgetChunk(i int) string {
	if i%10 == 9 {
		return fmt.Sprintf("Sentence %03d ends this paragraph here.\n\n", i)
	}
	return fmt.Sprintf("Sentence %03d of a streamed answer text. ", i)
}

// budgetText is the whole benchmark answer.
var budgetText = func() string {
	var b strings.Builder
	for i := range budgetChunks {
		b.WriteString(budgetChunk(i))
	}
	return b.String()
}()

// budgetRun is what one round of answers measured.
type budgetRun struct {
	firsts, intervals, finals []time.Duration
	liveUpdates               []int
	violations, whole, native int
}

// BenchmarkWorkspaceBudget streams 50 answers of about three seconds at
// once in one workspace through the adapter, with Slack's limits in the
// fake (compressed as budgetWindow says): "channels" puts each answer in
// its own channel, "one-channel" all 50 in one. It reports the
// first-visible-text overhead (Slack first shows answer text minus the
// first Append), the interval between visible changes of an answer, how
// many visible changes each answer had while it streamed, the lag of the
// final text after Finish, limit violations, the answers shown only once
// complete, and how many streamed natively.
func BenchmarkWorkspaceBudget(b *testing.B) {
	for _, bc := range []struct {
		name     string
		channels int
	}{{"channels", budgetAnswers}, {"one-channel", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			var all budgetRun
			for range b.N {
				r := budgetRound(b, bc.channels)
				all.firsts = append(all.firsts, r.firsts...)
				all.intervals = append(all.intervals, r.intervals...)
				all.finals = append(all.finals, r.finals...)
				all.liveUpdates = append(all.liveUpdates, r.liveUpdates...)
				all.violations += r.violations
				all.whole += r.whole
				all.native += r.native
			}
			all.report(b)
		})
	}
}

func (r budgetRun) report(b *testing.B) {
	b.ReportMetric(ms(percentile(r.firsts, 50)), "first-visible-p50-ms")
	b.ReportMetric(ms(percentile(r.firsts, 95)), "first-visible-p95-ms")
	b.ReportMetric(ms(percentile(r.intervals, 50)), "update-interval-p50-ms")
	b.ReportMetric(ms(percentile(r.intervals, 100)), "update-interval-max-ms")
	b.ReportMetric(ms(percentile(r.finals, 50)), "final-lag-p50-ms")
	b.ReportMetric(ms(percentile(r.finals, 100)), "final-lag-max-ms")
	minLive := 0
	for i, n := range r.liveUpdates {
		if i == 0 || n < minLive {
			minLive = n
		}
	}
	b.ReportMetric(float64(minLive), "live-updates-min")
	b.ReportMetric(float64(r.violations), "violations")
	b.ReportMetric(float64(r.whole)/float64(b.N), "whole-at-end/op")
	b.ReportMetric(float64(r.native)/float64(b.N), "native/op")
}

// budgetTimes are the moments one answer's writer saw.
type budgetTimes struct {
	first, last, finish time.Time
}

// budgetRound streams one round of answers on a fresh fake and adapter.
func budgetRound(b *testing.B, channels int) budgetRun {
	b.Helper()
	b.StopTimer()
	window := budgetWindow(b)
	fake := slacktest.New(slacktest.Options{Window: window, PostInterval: window / 60})
	defer fake.Close()
	a := MustAdapter(b, fake, func(c *Config) {
		c.LimitWindow, c.MinEditInterval, c.RetryWait = window, time.Second, 2*time.Second
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	targets := make([]bot.ReplyTarget, budgetAnswers)
	for i := range targets {
		targets[i] = threadTarget(fmt.Sprintf("C%d", i%channels), fmt.Sprintf("1700000000.%06d", i))
	}
	times := make([]budgetTimes, budgetAnswers)
	b.StartTimer()
	var wg sync.WaitGroup
	for i, to := range targets {
		wg.Go(func() { times[i] = streamBudgetAnswer(b, a, to) })
	}
	wg.Wait()
	b.StopTimer()
	return budgetFigures(b, fake, targets, times)
}

// streamBudgetAnswer writes one scripted answer and finishes it.
func streamBudgetAnswer(b *testing.B, a *Adapter, to bot.ReplyTarget) budgetTimes {
	ctx := context.Background()
	r, err := a.Reply(ctx, to)
	if err != nil {
		b.Error(err)
		return budgetTimes{}
	}
	_ = r.Status(ctx, "thinking…")
	var t budgetTimes
	time.Sleep(budgetFirstAfter)
	tick := time.NewTicker(budgetChunkEvery)
	defer tick.Stop()
	for i := range budgetChunks {
		if i > 0 {
			<-tick.C
		}
		if i == 0 {
			t.first = time.Now()
		}
		if err := r.Append(ctx, budgetChunk(i)); err != nil {
			b.Errorf("append: %v", err)
		}
	}
	t.last = time.Now()
	t.finish = time.Now()
	fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if _, err := r.Finish(fctx, bot.Footer{}); err != nil {
		b.Errorf("finish: %v", err)
	}
	return t
}

// budgetFigures reads what the fake shows of every answer.
func budgetFigures(b *testing.B, fake *slacktest.Server, targets []bot.ReplyTarget, times []budgetTimes) budgetRun {
	var run budgetRun
	for i, to := range targets {
		msgs := fake.Thread(to.Thread.Channel, to.Thread.Thread)
		if len(msgs) != 1 || msgs[0].Shown() != budgetText || msgs[0].Streaming {
			b.Fatalf("answer %d shows %s", i, describe(msgs))
		}
		m, t := msgs[0], times[i]
		first := firstText(m, budgetText)
		run.firsts = append(run.firsts, first.Sub(t.first))
		if !first.Before(t.last) {
			run.whole++
		}
		live := 0
		for j, st := range m.States {
			if st.Time.Before(first) {
				continue
			}
			if st.Time.Before(t.finish) {
				live++
			}
			if j > 0 && !m.States[j-1].Time.Before(first) {
				run.intervals = append(run.intervals, st.Time.Sub(m.States[j-1].Time))
			}
		}
		run.liveUpdates = append(run.liveUpdates, live)
		run.finals = append(run.finals, m.States[len(m.States)-1].Time.Sub(t.finish))
		if m.Streamed {
			run.native++
		}
	}
	run.violations = len(fake.Violations())
	return run
}
