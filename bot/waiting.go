package bot

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// queuedStatus is the status of a turn waiting for admission to the model.
func queuedStatus(ahead int) string {
	if ahead <= 0 {
		return "waiting for Kimi…"
	}
	return fmt.Sprintf("queued, %d ahead…", ahead)
}

// watchdog tells the user, through the turn's status, that the model is
// still working when a call stays silent for Config.StillWorkingAfter; the
// status then counts the seconds on.
type watchdog struct {
	t *turn
	// last is when the model last gave a sign of life, in Unix nanoseconds.
	last  atomic.Int64
	start time.Time
	stop  chan struct{}
	done  chan struct{}
}

// watch starts a watchdog for one model call; call seen on each chunk and
// end when the call is over.
func (t *turn) watch(ctx context.Context) *watchdog {
	w := &watchdog{t: t, start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	w.last.Store(w.start.UnixNano())
	go w.run(ctx)
	return w
}

// seen records a sign of life from the model.
func (w *watchdog) seen() { w.last.Store(time.Now().UnixNano()) }

// end stops the watchdog and waits for it.
func (w *watchdog) end() {
	close(w.stop)
	<-w.done
}

func (w *watchdog) run(ctx context.Context) {
	defer close(w.done)
	after := w.t.e.cfg.StillWorkingAfter
	timer := time.NewTimer(after)
	defer timer.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		silent := time.Since(time.Unix(0, w.last.Load()))
		waited := time.Since(w.start)
		if silent >= after {
			w.t.status(ctx, fmt.Sprintf("Kimi is still working (%ds)…", int(waited.Seconds())))
			silent = 0
		}
		timer.Reset(after - silent)
	}
}
