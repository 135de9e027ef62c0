package bot_test

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/internal/testkit"
)

// BenchmarkConcurrentConversations drives 1,000 conversations at once
// through the real engine, Kimi client and bbolt store against kimitest and
// a recording platform. It reports the first-visible-token overhead (the
// platform's first text minus the moment kimitest flushed the first content
// chunk), the time from each event to its first text, the heap held per
// active stream while all streams are open, and allocations per streamed
// token (whole process, fake server included; "client-" figures leave the
// fake server out).
func BenchmarkConcurrentConversations(b *testing.B) {
	const convs, tokens = 1000, 64
	answer := strings.Repeat("word ", tokens)
	var mu sync.Mutex
	sent := map[string]time.Time{}
	var hold chan struct{}
	h := MustStart(b, testkit.Options{Model: "kimi-k2-turbo-preview", Configure: benchConfig,
		NoRecording: true})
	h.Kimi.SetHandler(func(r *kimitest.Request) kimitest.Response {
		id := r.Chat.Messages[len(r.Chat.Messages)-1].Text()
		mu.Lock()
		gate := hold
		mu.Unlock()
		return kimitest.Response{Content: answer, ChunkSize: 5, Hold: gate, OnWrite: func(i int, at time.Time) {
			if i == 1 {
				mu.Lock()
				sent[id] = at
				mu.Unlock()
			}
		}}
	})
	var overheads, eventToText []time.Duration
	var heapPerStream, enginePerStream, allocsPerToken, clientAllocsPerToken float64
	// The heap profile attributes live heap to the fake server. Sampling
	// every 16 KiB keeps the profiler's own stack walks from taking a
	// large part of the CPU (at 512 bytes they took about a quarter, and
	// showed up in the latencies); fakeServerHeap scales the samples up.
	old := runtime.MemProfileRate
	runtime.MemProfileRate = memProfileRate
	defer func() { runtime.MemProfileRate = old }()
	b.ResetTimer()
	for i := range b.N {
		mu.Lock()
		hold = make(chan struct{})
		mu.Unlock()
		r := runWave(b, h, i, convs, hold)
		heapPerStream += r.heapPerStream
		enginePerStream += r.enginePerStream
		allocsPerToken += r.allocs / float64(convs*tokens)
		clientAllocsPerToken += (r.allocs - r.fakeAllocs) / float64(convs*tokens)
		for _, rep := range r.replies {
			eventToText = append(eventToText, rep.first.Sub(rep.sent))
			id := rep.text
			mu.Lock()
			at := sent[id]
			mu.Unlock()
			overheads = append(overheads, rep.first.Sub(at))
		}
	}
	b.StopTimer()
	slices.Sort(overheads)
	slices.Sort(eventToText)
	b.ReportMetric(ms(overheads[len(overheads)/2]), "first-token-p50-ms")
	b.ReportMetric(ms(overheads[len(overheads)*99/100]), "first-token-p99-ms")
	b.ReportMetric(ms(eventToText[len(eventToText)/2]), "event-to-text-p50-ms")
	b.ReportMetric(ms(eventToText[len(eventToText)*99/100]), "event-to-text-p99-ms")
	b.ReportMetric(heapPerStream/float64(b.N), "heap-B/stream")
	b.ReportMetric(enginePerStream/float64(b.N), "client-heap-B/stream")
	b.ReportMetric(allocsPerToken/float64(b.N), "allocs/token")
	b.ReportMetric(clientAllocsPerToken/float64(b.N), "client-allocs/token")
}

func benchConfig(c *bot.Config) {}

// memProfileRate is the heap profile's sampling interval in the benchmark.
const memProfileRate = 16384

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type waveReply struct {
	text        string
	sent, first time.Time
}

type waveResult struct {
	replies         []waveReply
	heapPerStream   float64
	enginePerStream float64
	allocs          float64
	fakeAllocs      float64
}

// runWave starts convs conversations, measures the heap while every stream
// is open (held before its final chunk), then releases them and waits.
func runWave(b *testing.B, h *harness, wave, convs int, hold chan struct{}) waveResult {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	before := memStats()
	fakeBefore, fakeAllocsBefore := fakeServerHeap()
	start := len(h.p.Replies())
	sent := map[string]time.Time{}
	for c := range convs {
		id := fmt.Sprintf("w%d-c%d", wave, c)
		ev := message(id, id)
		sent[id] = time.Now()
		if err := h.p.Send(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	if err := h.p.WaitFirstText(ctx, start+convs); err != nil {
		b.Fatal(err)
	}
	active := memStats()
	fakeActive, _ := fakeServerHeap()
	close(hold)
	done, err := h.p.WaitDone(ctx, start+convs)
	if err != nil {
		b.Fatal(err)
	}
	after := memStats()
	_, fakeAllocsAfter := fakeServerHeap()
	total := float64(int64(active.HeapAlloc) - int64(before.HeapAlloc))
	fake := float64(fakeActive - fakeBefore)
	res := waveResult{heapPerStream: total / float64(convs), enginePerStream: (total - fake) / float64(convs),
		allocs: float64(after.Mallocs - before.Mallocs), fakeAllocs: fakeAllocsAfter - fakeAllocsBefore}
	for _, r := range done[start:] {
		if r.Failure() != "" {
			b.Fatalf("turn failed: %s", r.Failure())
		}
		id := r.Target.Thread.Thread
		res.replies = append(res.replies, waveReply{text: id, sent: sent[id], first: r.FirstText()})
	}
	return res
}

func memStats() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// fakeServerHeap estimates the live heap allocated by the fake Kimi server
// (kimitest and the net/http server connections serving it), and the
// objects it has allocated so far, from the heap profile, so that they can
// be taken out of the per-stream figures.
func fakeServerHeap() (int64, float64) {
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+50)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	var total, objects float64
	for _, r := range recs {
		if inFakeServer(r.Stack()) {
			scale := sampleScale(r)
			total += float64(r.InUseBytes()) * scale
			objects += float64(r.AllocObjects) * scale
		}
	}
	return int64(total), objects
}

// sampleScale is what a sampled heap profile record's figures are
// multiplied by to estimate the real ones, as pprof does: an allocation of
// size s is sampled with probability 1 - exp(-s/rate).
func sampleScale(r runtime.MemProfileRecord) float64 {
	if r.AllocObjects == 0 {
		return 0
	}
	avg := float64(r.AllocBytes) / float64(r.AllocObjects)
	return 1 / (1 - math.Exp(-avg/memProfileRate))
}

func inFakeServer(stack []uintptr) bool {
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		if strings.Contains(f.Function, "kimitest.") || strings.Contains(f.Function, "net/http.(*conn).serve") {
			return true
		}
		if !more {
			return false
		}
	}
}
