package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/bot/bottest"
	"kimibot/internal/testkit"
	"kimibot/storage/postgres"
	"kimibot/storage/postgres/pgtest"
)

// replica is one engine with its own platform, fake Kimi and connection
// pool, sharing the database with the others.
type replica struct {
	p     *bottest.Platform
	stack *testkit.Stack
}

// BenchmarkReplicas drives waves of conversations through 1 and 3 engines
// sharing one PostgreSQL database; with 3, each event is delivered to one
// replica, or to two at once as duplicate deliveries do. It reports turns
// per second and the first-visible overhead: the platform's first text
// minus the moment the fake Kimi flushed the first content chunk.
func BenchmarkReplicas(b *testing.B) {
	for _, c := range []struct{ replicas, deliveries int }{{1, 1}, {3, 1}, {3, 2}} {
		b.Run(fmt.Sprintf("replicas=%d/deliveries=%d", c.replicas, c.deliveries), func(b *testing.B) {
			benchReplicas(b, c.replicas, c.deliveries)
		})
	}
}

func benchReplicas(b *testing.B, n, deliveries int) {
	const convs, tokens = 60, 32
	url := pgtest.MustDatabase(b)
	var (
		mu   sync.Mutex
		sent = map[string]time.Time{}
	)
	answer := strings.Repeat("word ", tokens)
	var rs []replica
	for i := range n {
		s := MustOpen2(b, url)
		p := bottest.NewPlatform("test")
		st := testkit.Start(b, p, testkit.Options{Model: "kimi-k2-turbo-preview", NoRecording: true,
			Configure: func(c *bot.Config) {
				c.Threads, c.Events, c.Settings, c.Usage, c.Drafts, c.Inbox, c.Replies, c.Turns = s, s, s, s, s, s, s, s
				c.Leaser, c.LeaseTTL = s.Leases(fmt.Sprintf("r%d", i)), 5*time.Second
			}})
		st.Kimi.SetHandler(func(r *kimitest.Request) kimitest.Response {
			id := r.Chat.Messages[len(r.Chat.Messages)-1].Text()
			return kimitest.Response{Content: answer, ChunkSize: 5, OnWrite: func(i int, at time.Time) {
				if i == 1 {
					mu.Lock()
					sent[id] = at
					mu.Unlock()
				}
			}}
		})
		rs = append(rs, replica{p: p, stack: st})
	}
	check := MustOpen2(b, url)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var overheads []time.Duration
	b.ResetTimer()
	start := time.Now()
	for w := range b.N {
		for c := range convs {
			id := fmt.Sprintf("w%d-c%d", w, c)
			ev := bot.Event{Kind: bot.EventMessage, Thread: bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "C1",
				Thread: id}, User: bot.User{ID: "U1"}, Text: id, Message: id, DedupeKeys: []string{"test:" + id},
				Addressed: true, Time: time.Now()}
			for d := range deliveries {
				t := (c + d) % n
				if err := rs[t].p.Send(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
		}
		waitSettled(b, ctx, check)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	total := 0
	for _, r := range rs {
		done, _ := r.p.WaitDone(ctx, 0)
		for _, rep := range done {
			total++
			mu.Lock()
			at := sent[rep.Target.Thread.Thread]
			mu.Unlock()
			overheads = append(overheads, rep.FirstText().Sub(at))
		}
	}
	if total != convs*b.N {
		b.Fatalf("%d answers for %d conversations", total, convs*b.N)
	}
	slices.Sort(overheads)
	b.ReportMetric(float64(total)/elapsed.Seconds(), "turns/s")
	b.ReportMetric(float64(overheads[len(overheads)/2].Microseconds())/1000, "first-visible-p50-ms")
	b.ReportMetric(float64(overheads[len(overheads)*99/100].Microseconds())/1000, "first-visible-p99-ms")
}

// MustOpen2 opens another store on the database at url, as another
// replica's connection pool.
func MustOpen2(tb testing.TB, url string) *postgres.Store {
	tb.Helper()
	return MustOpenURL(tb, url, postgres.Options{})
}

// waitSettled waits until no stored event or open reply is left.
func waitSettled(tb testing.TB, ctx context.Context, s *postgres.Store) {
	tb.Helper()
	for {
		items, err1 := s.Pending(ctx)
		open, err2 := s.OpenReplies(ctx)
		if err1 == nil && err2 == nil && len(items) == 0 && len(open) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("work left: %d events, %d replies", len(items), len(open))
		case <-time.After(2 * time.Millisecond):
		}
	}
}
