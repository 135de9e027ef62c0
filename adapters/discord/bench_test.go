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
	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/internal/testkit"
)

// benchStreams is the number of concurrent DM conversations.
const benchStreams = 50

// benchAnswer is streamed in 40 deltas of 16 characters, 25 ms apart.
var benchAnswer = strings.Repeat("Kimi writes on. ", 40)

// streamFigures are the measurements of one run.
type streamFigures struct {
	overheads   []time.Duration
	maxWrites   int
	rateLimited int
}

func (f *streamFigures) report(b *testing.B) {
	slices.Sort(f.overheads)
	pct := func(p float64) float64 {
		return float64(f.overheads[int(p*float64(len(f.overheads)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "first-visible-p50-ms")
	b.ReportMetric(pct(0.99), "first-visible-p99-ms")
	b.ReportMetric(float64(f.maxWrites), "max-writes/channel/5s")
	b.ReportMetric(float64(f.rateLimited), "429s")
}

// firstCreates returns when the fake accepted the first message in each channel.
func firstCreates(fake *discordtest.Server) map[string]time.Time {
	out := map[string]time.Time{}
	for _, c := range fake.Calls() {
		if c.Route == discordtest.RouteCreateMessage && c.Status == 200 {
			if t, ok := out[c.Channel]; !ok || c.Time.Before(t) {
				out[c.Channel] = c.Time
			}
		}
	}
	return out
}

// BenchmarkDMStreams runs 50 DM conversations through the engine, the Kimi
// client and the adapter, against fakes with Discord's real limits (5
// writes per 5 s per channel, 50 requests per second). The fake Kimi
// answers after 300 ms and streams for 1 s. First-visible overhead is the
// time from the fake Kimi writing the first answer delta to the fake
// Discord accepting the message that shows it. "burst" starts all 50 at
// once, which needs more than Discord's global budget in the first second;
// "staggered" starts one every 50 ms, within it.
func BenchmarkDMStreams(b *testing.B) {
	for _, bc := range []struct {
		name string
		gap  time.Duration
	}{{"burst", 0}, {"staggered", 50 * time.Millisecond}} {
		b.Run(bc.name, func(b *testing.B) {
			var all streamFigures
			for range b.N {
				f := runEngineStreams(b, bc.gap)
				all.overheads = append(all.overheads, f.overheads...)
				all.maxWrites = max(all.maxWrites, f.maxWrites)
				all.rateLimited += f.rateLimited
			}
			all.report(b)
		})
	}
}

func runEngineStreams(b *testing.B, gap time.Duration) streamFigures {
	b.StopTimer()
	fake := MustFake(b, discordtest.Options{HeartbeatInterval: time.Second})
	a := MustAdapter(b, fake, nil)
	stack := testkit.Start(b, a, testkit.Options{NoRecording: true})
	defer stack.Stop(b)
	fake.WaitConnected(b, 1)
	fake.WaitFor(b, "adapter ready", a.Ready)
	var mu sync.Mutex
	kimiFirst := map[string]time.Time{}
	stack.Kimi.SetHandler(func(r *kimitest.Request) kimitest.Response {
		q := r.Chat.Messages[len(r.Chat.Messages)-1].Text()
		return kimitest.Response{Content: benchAnswer, ChunkSize: 16, Delay: 25 * time.Millisecond, FirstDelay: 300 * time.Millisecond,
			OnWrite: func(i int, at time.Time) {
				if i == 1 {
					mu.Lock()
					kimiFirst[q] = at
					mu.Unlock()
				}
			}}
	})
	channels := map[string]string{}
	users := make([]discordtest.User, benchStreams)
	for i := range users {
		users[i] = fake.AddUser(fmt.Sprintf("user%d", i), false)
		channels[fmt.Sprintf("stream %d", i)] = fake.DMChannel(users[i].ID)
	}
	b.StartTimer()
	var tick <-chan time.Time
	if gap > 0 {
		t := time.NewTicker(gap)
		defer t.Stop()
		tick = t.C
	}
	for i, u := range users {
		if tick != nil {
			<-tick
		}
		q := fmt.Sprintf("stream %d", i)
		fake.SendMessage(discordtest.Incoming{Channel: channels[q], Author: u, Content: q})
	}
	fake.WaitFor(b, "all answers", func() bool {
		for _, ch := range channels {
			if msgs := fake.BotMessages(ch); len(msgs) != 1 || msgs[0].Content != benchAnswer {
				return false
			}
		}
		return true
	})
	stack.WaitIdle(b)
	b.StopTimer()
	return figures(b, fake, channels, kimiFirst)
}

func figures(b *testing.B, fake *discordtest.Server, channels map[string]string, started map[string]time.Time) streamFigures {
	var f streamFigures
	created := firstCreates(fake)
	for q, ch := range channels {
		at, ok := started[q]
		if !ok {
			b.Fatalf("no first delta recorded for %q", q)
		}
		f.overheads = append(f.overheads, created[ch].Sub(at))
	}
	f.maxWrites, _ = fake.MaxWrites(5 * time.Second)
	f.rateLimited = fake.Stats().RateLimited
	return f
}

// BenchmarkReplyStreams drives 50 replies at once straight through the
// adapter (no engine), with the same answer shape: the overhead is from
// the first Append to the fake accepting the first message.
func BenchmarkReplyStreams(b *testing.B) {
	var all streamFigures
	for range b.N {
		b.StopTimer()
		fake := MustFake(b, discordtest.Options{})
		a := MustAdapter(b, fake, nil)
		channels := map[string]string{}
		started := map[string]time.Time{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		b.StartTimer()
		for i := range benchStreams {
			to, ch := dmTarget(fake)
			q := fmt.Sprintf("stream %d", i)
			channels[q] = ch
			wg.Go(func() {
				ctx := context.Background()
				r, _ := a.Reply(ctx, to)
				_ = r.Status(ctx, "thinking…")
				tick := time.NewTicker(25 * time.Millisecond)
				defer tick.Stop()
				for j := 0; j < len(benchAnswer); j += 16 {
					<-tick.C
					if j == 0 {
						mu.Lock()
						started[q] = time.Now()
						mu.Unlock()
					}
					_ = r.Append(ctx, benchAnswer[j:j+16])
				}
				if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
					b.Errorf("finish: %v", err)
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		f := figures(b, fake, channels, started)
		all.overheads = append(all.overheads, f.overheads...)
		all.maxWrites = max(all.maxWrites, f.maxWrites)
		all.rateLimited += f.rateLimited
	}
	all.report(b)
}
