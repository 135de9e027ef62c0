package bot

import (
	"context"
	"fmt"
	"sync"
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
// status then counts the seconds on. It runs on a timer, without a
// goroutine of its own while it waits.
type watchdog struct {
	t     *turn
	ctx   context.Context
	after time.Duration
	// last is when the model last gave a sign of life, in Unix nanoseconds.
	last  atomic.Int64
	start time.Time

	mu    sync.Mutex
	timer *time.Timer
	ended bool
}

// watch starts a watchdog for one model call; call seen on each chunk and
// end when the call is over.
func (t *turn) watch(ctx context.Context) *watchdog {
	w := &watchdog{t: t, ctx: ctx, after: t.e.cfg.StillWorkingAfter, start: time.Now()}
	w.last.Store(w.start.UnixNano())
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer = time.AfterFunc(w.after, w.check)
	return w
}

// seen records a sign of life from the model.
func (w *watchdog) seen() { w.last.Store(time.Now().UnixNano()) }

// end stops the watchdog; a status it is showing is finished first, and
// none follows.
func (w *watchdog) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended = true
	w.timer.Stop()
}

// check runs when the timer fires: it shows the status if the model has
// been silent long enough, and sets the timer for the next check.
func (w *watchdog) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended || w.ctx.Err() != nil {
		return
	}
	silent := time.Since(time.Unix(0, w.last.Load()))
	if silent >= w.after {
		w.t.status(w.ctx, fmt.Sprintf("Kimi is still working (%ds)…", int(time.Since(w.start).Seconds())))
		silent = 0
	}
	w.timer.Reset(w.after - silent)
}
