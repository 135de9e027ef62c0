package slack

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
)

// TestTurnsRankClaims checks the order turns serve waiting claims in:
// first texts, then final texts, then live edits, each longest-waiting
// first and in arrival order on ties.
func TestTurnsRankClaims(t *testing.T) {
	t0 := time.Now()
	yes := func() bool { return true }
	claims := map[string]*claim{
		"live-new":    {since: t0.Add(3 * time.Second)},
		"live-old":    {since: t0.Add(time.Second)},
		"live-tie-2":  {since: t0.Add(2 * time.Second)},
		"final-new":   {since: t0.Add(4 * time.Second), ended: yes},
		"final-old":   {since: t0, ended: yes},
		"first-late":  {first: true, since: t0.Add(5 * time.Second)},
		"first-early": {first: true, since: t0.Add(time.Second)},
		"live-tie-1":  {since: t0.Add(2 * time.Second)},
	}
	tu := newTurns(newPacer(0, 0))
	for i, name := range []string{"live-new", "live-old", "live-tie-1", "final-new", "final-old", "first-late", "first-early", "live-tie-2"} {
		c := claims[name]
		c.seq = uint64(i)
		tu.queue = append(tu.queue, c)
	}
	// live-tie-1 was queued before live-tie-2.
	claims["live-tie-2"].seq = 99
	var got []string
	for len(tu.queue) > 0 {
		i := tu.bestLocked()
		for name, c := range claims {
			if c == tu.queue[i] {
				got = append(got, name)
			}
		}
		tu.queue = slices.Delete(tu.queue, i, i+1)
	}
	want := []string{"first-early", "first-late", "final-old", "final-new", "live-old", "live-tie-1", "live-tie-2", "live-new"}
	if !slices.Equal(got, want) {
		t.Fatalf("served %q, want %q", got, want)
	}
}

// TestTurnsGiveUpWhenNotNeeded checks that a claim whose call is no longer
// needed leaves the queue and that a cancelled one does too.
func TestTurnsGiveUpWhenNotNeeded(t *testing.T) {
	p := newPacer(0, 0)
	p.pause(time.Hour)
	tu := newTurns(p)
	wake := make(chan struct{}, 1)
	var mu sync.Mutex
	needed := true
	stop := &stopper{wake: wake, stop: func() bool { mu.Lock(); defer mu.Unlock(); return !needed }}
	done := make(chan bool)
	go func() {
		ok, _ := tu.wait(context.Background(), &claim{}, stop)
		done <- ok
	}()
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error)
	go func() {
		_, err := tu.wait(ctx, &claim{}, nil)
		cancelled <- err
	}()
	mu.Lock()
	needed = false
	mu.Unlock()
	wake <- struct{}{}
	if <-done {
		t.Fatal("a claim no longer needed got a turn during a pause")
	}
	cancel()
	if err := <-cancelled; err == nil {
		t.Fatal("a cancelled claim reported no error")
	}
	if n := tu.waiting(); n != 0 {
		t.Fatalf("%d claims left in the queue", n)
	}
}

// budgetTest opens n posted replies in n channels against a fake whose
// chat.update budget is far below what they ask for. Each reply shows a
// placeholder first, so its first text needs an update from the shared
// budget too.
type budgetTest struct {
	fake    *slacktest.Server
	a       *Adapter
	targets []bot.ReplyTarget
	replies []bot.Reply
}

func newBudgetTest(t *testing.T, n, updates int, window time.Duration) *budgetTest {
	t.Helper()
	fake := slacktest.Start(t, slacktest.Options{Window: window, UpdatesPerWindow: updates, PostInterval: window / 60})
	a := MustAdapter(t, fake, func(c *Config) {
		c.NativeStreaming, c.LimitWindow, c.UpdatesPerMinute = false, window, updates
	})
	bt := &budgetTest{fake: fake, a: a}
	for i := range n {
		to := threadTarget(fmt.Sprintf("C%d", i), "")
		bt.targets = append(bt.targets, to)
		bt.replies = append(bt.replies, MustReply(t, a, to))
	}
	ctx := testContext(t)
	if err := fake.Wait(ctx, func() bool {
		for _, to := range bt.targets {
			if len(fake.Thread(to.Thread.Channel, "")) != 1 {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("placeholders not posted: %v", err)
	}
	return bt
}

// message is what reply i's message shows.
func (bt *budgetTest) message(t *testing.T, i int) slacktest.Message {
	t.Helper()
	msgs := bt.fake.Thread(bt.targets[i].Thread.Channel, "")
	if len(msgs) != 1 {
		t.Fatalf("reply %d has messages %s", i, describe(msgs))
	}
	return msgs[0]
}

// textStates are the times a message showed answer text (not the placeholder).
func textStates(m slacktest.Message, prefix string) []time.Time {
	var out []time.Time
	for _, st := range m.States {
		if strings.HasPrefix(st.Text, prefix) {
			out = append(out, st.Time)
		}
	}
	return out
}

// TestEveryReplyShowsTextBeforeAnySecondUpdate streams into many replies
// whose first text must come from the shared chat.update budget: every
// reply must show text before any reply gets its second text update.
func TestEveryReplyShowsTextBeforeAnySecondUpdate(t *testing.T) {
	const n = 10
	bt := newBudgetTest(t, n, 20, 2*time.Second)
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i, r := range bt.replies {
		wg.Go(func() {
			for j := range 40 {
				_ = r.Append(ctx, fmt.Sprintf("r%d-%d ", i, j))
				if j%8 == 7 {
					// Let the reply's text show before more comes.
					_ = bt.fake.Wait(ctx, func() bool {
						return strings.Contains(lastShown(bt.fake, bt.targets[i]), fmt.Sprintf("r%d-%d ", i, j-4))
					})
				}
			}
			if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var lastFirst, firstSecond time.Time
	for i := range n {
		states := textStates(bt.message(t, i), fmt.Sprintf("r%d-0 ", i))
		if len(states) < 2 {
			t.Fatalf("reply %d showed text %d times, want at least 2", i, len(states))
		}
		if states[0].After(lastFirst) {
			lastFirst = states[0]
		}
		if firstSecond.IsZero() || states[1].Before(firstSecond) {
			firstSecond = states[1]
		}
	}
	if !lastFirst.Before(firstSecond) {
		t.Fatalf("a reply got its second update %v before the last reply showed any text", lastFirst.Sub(firstSecond))
	}
	if v := bt.fake.Violations(); len(v) != 0 {
		t.Fatalf("violations: %+v", v)
	}
}

// TestLiveRepliesShareUpdatesEvenly keeps many replies growing while the
// shared chat.update budget allows far fewer updates than they want:
// every reply keeps moving, and none gets many more updates than another.
func TestLiveRepliesShareUpdatesEvenly(t *testing.T) {
	const n, rounds = 6, 5
	bt := newBudgetTest(t, n, 20, time.Second)
	ctx := testContext(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range bt.replies {
		wg.Go(func() {
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for j := 0; ; j++ {
				_ = r.Append(ctx, fmt.Sprintf("r%d-%d ", i, j))
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		})
	}
	err := bt.fake.Wait(ctx, func() bool { return bt.fake.CallCount("chat.update") >= n*rounds })
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	finish := time.Now()
	counts := make([]int, n)
	for i := range n {
		for _, at := range textStates(bt.message(t, i), fmt.Sprintf("r%d-0 ", i)) {
			if at.Before(finish) {
				counts[i]++
			}
		}
	}
	for i, r := range bt.replies {
		if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
			t.Fatalf("finish %d: %v", i, err)
		}
	}
	if lo, hi := slices.Min(counts), slices.Max(counts); lo < rounds-2 || hi-lo > 2 {
		t.Fatalf("text updates per reply %v: want each at least %d and within 2 of each other", counts, rounds-2)
	}
	if v := bt.fake.Violations(); len(v) != 0 {
		t.Fatalf("violations: %+v", v)
	}
}

// TestBusyWorkspacePostsFirstTextAtOnce opens a reply while the
// workspace's stream and update budgets are taken by other answers: its
// first text is posted in its own channel while they are still open,
// rather than waiting for their budgets.
func TestBusyWorkspacePostsFirstTextAtOnce(t *testing.T) {
	// Slack's real minute: no budget comes back during the test.
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, nil)
	ctx := testContext(t)
	var busy []bot.Reply
	for i := range streamBurst + 1 {
		to := threadTarget(fmt.Sprintf("C%d", i), fmt.Sprintf("1700000000.%06d", i))
		r := MustReply(t, a, to)
		busy = append(busy, r)
		appendAndWait(t, ctx, fake, r, to, "", "busy answer")
	}
	if n := fake.CallCount("chat.startStream"); n != streamBurst {
		t.Fatalf("%d streams started, want %d", n, streamBurst)
	}
	// Use up the update budget.
	ws := a.pacing.workspace("T0KIMI")
	for ws.update.lim.Tokens() >= 1 {
		ws.update.lim.Reserve()
	}
	to := threadTarget("C99", "1700000000.999999")
	r := MustReply(t, a, to)
	appendAndWait(t, ctx, fake, r, to, "", "first words")
	if msgs := fake.Thread("C99", to.Thread.Thread); len(msgs) != 1 || msgs[0].Streamed || len(msgs[0].States) != 1 {
		t.Fatalf("new reply shows %s, want one posted message with its first text", describe(msgs))
	}
	for _, b := range append(busy, r) {
		if _, err := b.Finish(ctx, bot.Footer{}); err != nil {
			t.Fatal(err)
		}
	}
	if v := fake.Violations(); len(v) != 0 {
		t.Fatalf("violations: %+v", v)
	}
}

// TestFirstPostsInOneChannelKeepArrivalOrder opens many replies in one
// channel: their first messages go out spaced within the channel's post
// pace, in the order the replies asked to post.
func TestFirstPostsInOneChannelKeepArrivalOrder(t *testing.T) {
	const window, n = 3 * time.Second, 8
	fake := slacktest.Start(t, slacktest.Options{Window: window, PostInterval: window / 60})
	a := MustAdapter(t, fake, func(c *Config) { c.NativeStreaming, c.LimitWindow = false, window })
	ctx := testContext(t)
	ch := a.pacing.channel("C1")
	queued := func() chan struct{} {
		ch.mu.Lock()
		defer ch.mu.Unlock()
		return ch.lastPost
	}
	var replies []bot.Reply
	for i := range n {
		before := queued()
		to := threadTarget("C1", fmt.Sprintf("1700000000.%06d", i))
		r := MustReply(t, a, to)
		replies = append(replies, r)
		_ = r.Append(ctx, fmt.Sprintf("answer %d", i))
		// Wait until this reply has taken its place in the channel's queue.
		for queued() == before {
			if ctx.Err() != nil {
				t.Fatal("reply never asked to post")
			}
			time.Sleep(time.Millisecond)
		}
	}
	for _, r := range replies {
		if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
			t.Fatal(err)
		}
	}
	var order []string
	for _, c := range fake.Calls("chat.postMessage") {
		if c.Status == 200 {
			order = append(order, c.Params.Get("thread_ts"))
		}
	}
	for i, ts := range order {
		if want := fmt.Sprintf("1700000000.%06d", i); i >= n || ts != want {
			t.Fatalf("posts went out for threads %q, want them in arrival order", order)
		}
	}
	if len(order) != n {
		t.Fatalf("%d posts, want %d", len(order), n)
	}
	if v := fake.Violations(); len(v) != 0 {
		t.Fatalf("violations: %+v", v)
	}
}
