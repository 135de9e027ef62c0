package discord

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/bot"
)

// Shape of the answers the budget benchmarks stream: 1,800 characters in
// 100 chunks, 30 ms apart (three seconds), after a first token 200 ms
// after the reply opens.
const (
	budgetAnswers    = 50
	budgetChunks     = 100
	budgetChunkEvery = 30 * time.Millisecond
	budgetFirstAfter = 200 * time.Millisecond
)

// budgetChunk is chunk i of answer k (18 characters). Every write of
// answer k starts with "aKK ", which tells the answers apart in the fake.
func budgetChunk(k, i int) string { return fmt.Sprintf("a%02d s%03d goes on. ", k, i) }

func budgetText(k int) string {
	var b strings.Builder
	for i := range budgetChunks {
		b.WriteString(budgetChunk(k, i))
	}
	return b.String()
}

// budgetRun is what rounds of answers measured.
type budgetRun struct {
	firsts, intervals, finals []time.Duration
	liveUpdates               []int
	violations, whole         int
}

// BenchmarkChannelBudget streams 50 answers of about three seconds at
// once through the adapter, against the fake with Discord's limits (5
// writes per 5 s per channel, 50 requests per second): "channels" puts
// each in its own DM channel, "one-channel" all 50 in one. It reports the
// first-visible-text overhead (the fake accepts the first message minus
// the first Append), the interval between visible changes of an answer,
// how many visible changes each answer had while it streamed, the lag of
// the final text after Finish, 429s, and the answers shown only once
// complete.
func BenchmarkChannelBudget(b *testing.B) {
	for _, bc := range []struct {
		name       string
		oneChannel bool
	}{{"channels", false}, {"one-channel", true}} {
		b.Run(bc.name, func(b *testing.B) {
			var all budgetRun
			for range b.N {
				r := budgetRound(b, bc.oneChannel)
				all.firsts = append(all.firsts, r.firsts...)
				all.intervals = append(all.intervals, r.intervals...)
				all.finals = append(all.finals, r.finals...)
				all.liveUpdates = append(all.liveUpdates, r.liveUpdates...)
				all.violations += r.violations
				all.whole += r.whole
			}
			all.report(b)
		})
	}
}

func (r budgetRun) report(b *testing.B) {
	pct := func(ds []time.Duration, p int) float64 {
		if len(ds) == 0 {
			return 0
		}
		s := slices.Clone(ds)
		slices.Sort(s)
		i := min(len(s)-1, (len(s)*p+99)/100-1)
		return float64(s[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(r.firsts, 50), "first-visible-p50-ms")
	b.ReportMetric(pct(r.firsts, 95), "first-visible-p95-ms")
	b.ReportMetric(pct(r.intervals, 50), "update-interval-p50-ms")
	b.ReportMetric(pct(r.intervals, 100), "update-interval-max-ms")
	b.ReportMetric(pct(r.finals, 50), "final-lag-p50-ms")
	b.ReportMetric(pct(r.finals, 100), "final-lag-max-ms")
	b.ReportMetric(float64(slices.Min(r.liveUpdates)), "live-updates-min")
	b.ReportMetric(float64(r.violations), "429s")
	b.ReportMetric(float64(r.whole)/float64(b.N), "whole-at-end/op")
}

// budgetTimes are the moments one answer's writer saw.
type budgetTimes struct{ first, last, finish time.Time }

func budgetRound(b *testing.B, oneChannel bool) budgetRun {
	b.Helper()
	b.StopTimer()
	fake := MustFake(b, discordtest.Options{})
	a := MustAdapter(b, fake, nil)
	targets := make([]bot.ReplyTarget, budgetAnswers)
	for i := range targets {
		if i == 0 || !oneChannel {
			targets[i], _ = dmTarget(fake)
		} else {
			targets[i] = targets[0]
		}
	}
	times := make([]budgetTimes, budgetAnswers)
	b.StartTimer()
	var wg sync.WaitGroup
	for k, to := range targets {
		wg.Go(func() { times[k] = streamBudgetAnswer(b, a, to, k) })
	}
	wg.Wait()
	b.StopTimer()
	return budgetFigures(b, fake, targets, times)
}

// streamBudgetAnswer writes answer k and finishes it.
func streamBudgetAnswer(b *testing.B, a *Adapter, to bot.ReplyTarget, k int) budgetTimes {
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
		} else {
			t.first = time.Now()
		}
		if err := r.Append(ctx, budgetChunk(k, i)); err != nil {
			b.Errorf("append: %v", err)
		}
	}
	t.last = time.Now()
	t.finish = t.last
	if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
		b.Errorf("finish: %v", err)
	}
	return t
}

// budgetFigures reads the fake's log of accepted writes for each answer.
func budgetFigures(b *testing.B, fake *discordtest.Server, targets []bot.ReplyTarget, times []budgetTimes) budgetRun {
	writes := writesByAnswer(b, fake, len(targets))
	var run budgetRun
	for k, to := range targets {
		want := budgetText(k)
		found := false
		for _, m := range fake.BotMessages(to.Thread.Channel) {
			found = found || m.Content == want
		}
		if !found || len(writes[k]) == 0 {
			b.Fatalf("answer %d not shown whole", k)
		}
		w, t := writes[k], times[k]
		run.firsts = append(run.firsts, w[0].Sub(t.first))
		if !w[0].Before(t.last) {
			run.whole++
		}
		live := 0
		for i, at := range w {
			if at.Before(t.finish) {
				live++
			}
			if i > 0 {
				run.intervals = append(run.intervals, at.Sub(w[i-1]))
			}
		}
		run.liveUpdates = append(run.liveUpdates, live)
		run.finals = append(run.finals, w[len(w)-1].Sub(t.finish))
	}
	run.violations = fake.Stats().RateLimited
	return run
}
