package discord

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/bot"
)

// TestLimiterHandsBucketOnByRank queues requests behind a held bucket and
// checks the order they get it in: the rest of answers that ended, first
// messages, urgent writes, then edits, the answer that waited longest first.
func TestLimiterHandsBucketOnByRank(t *testing.T) {
	l := newLimiter()
	ctx := context.Background()
	hold, err := l.acquire(ctx, editRoute, "1", urgentPace)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	yes := func() bool { return true }
	paces := map[string]pace{
		"edit-new": {since: t0.Add(2 * time.Second)},
		"edit-old": {since: t0},
		"urgent":   {urgent: yes, since: t0},
		"final":    {urgent: yes, ended: yes, since: t0.Add(3 * time.Second)},
		"first":    {first: true, since: t0.Add(4 * time.Second)},
	}
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for _, name := range []string{"edit-new", "final", "edit-old", "urgent", "first"} {
		wg.Go(func() {
			release, err := l.acquire(ctx, editRoute, "1", paces[name])
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, name)
			mu.Unlock()
			release()
		})
	}
	for queued := 0; queued < len(paces); {
		time.Sleep(time.Millisecond)
		l.mu.Lock()
		queued = len(l.bucketLocked(editRoute, "1").queue)
		l.mu.Unlock()
	}
	hold()
	wg.Wait()
	if want := []string{"final", "first", "urgent", "edit-old", "edit-new"}; !slices.Equal(got, want) {
		t.Fatalf("bucket went to %q, want %q", got, want)
	}
}

// TestLimiterGlobalShareByRank checks that a request leaves the global
// budget to the waiting requests ranked before it, and that typing
// indicators leave a slot to every answer yet to show a message.
func TestLimiterGlobalShareByRank(t *testing.T) {
	l := newLimiter()
	t0 := time.Now()
	old := &waiter{p: pace{since: t0}, prio: prioEdit, seq: 1}
	first := &waiter{p: pace{first: true, since: t0.Add(time.Second)}, prio: prioFirst, seq: 2}
	l.waiters = []*waiter{old, first}
	newer := &waiter{p: pace{since: t0.Add(time.Second)}, prio: prioEdit, seq: 3}
	if got, want := l.shareLocked(newer), globalEdits-2; got != want {
		t.Fatalf("share of a newer edit = %d, want %d", got, want)
	}
	if got, want := l.shareLocked(old), globalEdits-1; got != want {
		t.Fatalf("share of the oldest edit = %d, want %d", got, want)
	}
	if got := l.shareLocked(first); got != globalLimit {
		t.Fatalf("share of a first message = %d, want %d", got, globalLimit)
	}
	done := l.expectFirst()
	for range globalLimit {
		l.expectFirst()
	}
	if got := l.typingShareLocked(); got > 0 {
		t.Fatalf("typing share %d with %d answers yet to show a message", got, l.firsts)
	}
	done()
	done()
	if l.firsts != globalLimit {
		t.Fatalf("firsts = %d after one answer showed twice, want %d", l.firsts, globalLimit)
	}
}

// TestStreamsGetFirstMessagesBeforeMoreEdits streams 50 DM answers at once,
// more than the global budget allows in a second: every answer shows its
// first message before any answer gets its second edit, every answer is
// edited while it streams, and Discord never answers 429.
func TestStreamsGetFirstMessagesBeforeMoreEdits(t *testing.T) {
	const n, chunks = 50, 60
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	ctx := context.Background()
	finished := make([]time.Time, n)
	var wg sync.WaitGroup
	for k := range n {
		to, _ := dmTarget(fake)
		wg.Go(func() {
			r, err := a.Reply(ctx, to)
			if err != nil {
				t.Error(err)
				return
			}
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for i := range chunks {
				_ = r.Append(ctx, budgetChunk(k, i))
				<-tick.C
			}
			finished[k] = time.Now()
			if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	writes := writesByAnswer(t, fake, n)
	var lastFirst, firstThird time.Time
	for k, w := range writes {
		if len(w) < 3 {
			t.Fatalf("answer %d was written %d times, want at least 3", k, len(w))
		}
		if w[0].After(lastFirst) {
			lastFirst = w[0]
		}
		if firstThird.IsZero() || w[2].Before(firstThird) {
			firstThird = w[2]
		}
		if !w[1].Before(finished[k]) {
			t.Errorf("answer %d was not edited while it streamed", k)
		}
	}
	if !lastFirst.Before(firstThird) {
		t.Fatalf("an answer got its second edit %v before the last first message", lastFirst.Sub(firstThird))
	}
	if n := fake.Stats().RateLimited; n != 0 {
		t.Fatalf("%d requests answered 429", n)
	}
}

// writesByAnswer returns the times the fake accepted a create or an edit
// of each answer written with budgetChunk.
func writesByAnswer(tb testing.TB, fake *discordtest.Server, n int) [][]time.Time {
	tb.Helper()
	writes := make([][]time.Time, n)
	for _, c := range fake.Calls() {
		if c.Status != 200 || (c.Route != discordtest.RouteCreateMessage && c.Route != discordtest.RouteEditMessage) {
			continue
		}
		var body struct{ Content string }
		if err := json.Unmarshal([]byte(c.Body), &body); err != nil || len(body.Content) < 3 {
			tb.Fatalf("unexpected write %s %q", c.Route, c.Body)
		}
		k, err := strconv.Atoi(body.Content[1:3])
		if err != nil || k >= n {
			tb.Fatalf("unexpected write %q", c.Body)
		}
		writes[k] = append(writes[k], c.Time)
	}
	return writes
}
