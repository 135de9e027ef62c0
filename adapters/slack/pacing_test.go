package slack

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
)

// TestAdmitStreamSetsStopSlotsAside checks that a stream is only started
// when a chat.stopStream slot is free for it beside those set aside for the
// streams already open.
func TestAdmitStreamSetsStopSlotsAside(t *testing.T) {
	w := &workspace{start: newBurstPacer(100, time.Minute, 10), stop: newBurstPacer(20, time.Minute, streamBurst)}
	for i := range streamBurst {
		if _, ok := w.admitStream(0); !ok {
			t.Fatalf("stream %d refused with stop slots free", i)
		}
	}
	if _, ok := w.admitStream(0); ok {
		t.Fatal("a stream was admitted without a stop slot for it")
	}
	// A stream that never started gives its slot back.
	w.streamClosed()
	if _, ok := w.admitStream(0); !ok {
		t.Fatal("the slot of a stream that never started was not given back")
	}
	// A stopped stream used its slot: the next one waits for the refill.
	w.stop.lim.Reserve()
	w.streamClosed()
	if _, ok := w.admitStream(0); ok {
		t.Fatal("a stream was admitted on a stop slot already used")
	}
}

// TestRepliesShareTheStreamBudget opens many replies at once in one
// workspace, with Slack's minute compressed in the fake and the adapter
// alike: a few stream, the others are posted, every stream that started is
// stopped, all text arrives exactly and no limit is broken.
func TestRepliesShareTheStreamBudget(t *testing.T) {
	const window, n = 3 * time.Second, 12
	fake := slacktest.Start(t, slacktest.Options{Window: window, PostInterval: window / 60})
	a := MustAdapter(t, fake, func(c *Config) { c.LimitWindow, c.Footer = window, true })
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			to := threadTarget(fmt.Sprintf("C%d", i%4), fmt.Sprintf("1700000000.%06d", i))
			r := MustReply(t, a, to)
			for j := range 20 {
				_ = r.Append(ctx, fmt.Sprintf("%d-%d ", i, j))
				if j%5 == 4 {
					_ = fake.Wait(ctx, func() bool { return strings.Contains(lastShown(fake, to), fmt.Sprintf("%d-%d ", i, j-3)) })
				}
			}
			if _, err := r.Finish(ctx, testFooter); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		var want strings.Builder
		for j := range 20 {
			fmt.Fprintf(&want, "%d-%d ", i, j)
		}
		msgs := fake.Thread(fmt.Sprintf("C%d", i%4), fmt.Sprintf("1700000000.%06d", i))
		if len(msgs) != 1 || msgs[0].Shown() != want.String() || msgs[0].Streaming || msgs[0].Footer != testFooterLine {
			t.Fatalf("reply %d shows %+v", i, msgs)
		}
	}
	starts, stops := fake.CallCount("chat.startStream"), fake.CallCount("chat.stopStream")
	if starts == 0 || starts == n || starts != stops {
		t.Fatalf("%d streams started and %d stopped of %d replies; want some, each stopped", starts, stops, n)
	}
	if v := fake.Violations(); len(v) != 0 {
		t.Fatalf("violations: %+v", v)
	}
}

// TestCancelledReplyStopsItsStream ends a streaming reply with a context
// that is already cancelled, as at shutdown: the stream must not stay open.
func TestCancelledReplyStopsItsStream(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, nil)
	ctx, to := testContext(t), threadTarget("C1", "1700000000.000100")
	r := MustReply(t, a, to)
	appendAndWait(t, ctx, fake, r, to, "", "Half an answer")
	if msgs := fake.Thread("C1", to.Thread.Thread); len(msgs) != 1 || !msgs[0].Streaming {
		t.Fatalf("thread shows %+v, want an open stream", msgs)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Finish(gone, bot.Footer{}); err == nil {
		t.Fatal("Finish with a cancelled context succeeded")
	}
	waitThread(t, ctx, fake, "C1", to.Thread.Thread, func(m []slacktest.Message) bool {
		return len(m) == 1 && !m[0].Streaming && m[0].Shown() == "Half an answer"
	})
}
