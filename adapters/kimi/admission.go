package kimi

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"kimibot/conversation"
	"kimibot/internal/tasks"
)

// DefaultWindow is the period KIMI_RPM and KIMI_TPM count over.
const DefaultWindow = time.Minute

// Limits bound the chat requests one Client sends, across every caller.
// Zero values mean no limit.
type Limits struct {
	// MaxConcurrency caps the requests in flight (KIMI_MAX_CONCURRENCY).
	MaxConcurrency int
	// RequestsPerWindow caps the requests started in any Window (KIMI_RPM).
	RequestsPerWindow int
	// TokensPerWindow caps the estimated prompt tokens sent in any Window
	// (KIMI_TPM).
	TokensPerWindow int
	// Window is the period of the per-window limits; DefaultWindow when zero.
	// Tests compress time with it.
	Window time.Duration
}

// Admission decides when a chat request may go to the provider: a
// semaphore for concurrency, token buckets (golang.org/x/time/rate) for
// requests and tokens per window, and one first-come first-served queue in
// front of them. A rate-limit answer from the provider halves the
// concurrency and request limits; each success adds one back, up to the
// configured values (AIMD). It is safe for concurrent use.
//
// The request bucket holds one request and refills at N-1 per window for
// N requests per window (one per 1.1 windows for N = 1): any N+1 starts
// span more than a window by a whole spacing, so the provider counts at
// most N in a window even when network delays shift the arrivals by less
// than that. The token bucket holds a quarter of the tokens per window and
// refills at the other three quarters, so that no window sends more than
// the limit either.
type Admission struct {
	window time.Duration
	maxTok int

	mu    sync.Mutex
	queue []*waiter
	// active counts the requests admitted and not yet released; pausing
	// those among them still waiting for the rate limits.
	active, pausing int
	conc            aimd
	reqs            aimd
	req             *rate.Limiter
	tok             *rate.Limiter
	now             func() time.Time
}

// waiter is one caller in the queue; wake is signalled when its place may
// have changed or a slot may be free.
type waiter struct {
	wake chan struct{}
}

// aimd is a limit that halves on overload and grows by one per success, up
// to max. A zero max means no limit.
type aimd struct {
	cur, max int
}

func (a *aimd) decrease() bool {
	if a.max == 0 || a.cur <= 1 {
		return false
	}
	a.cur = max(1, a.cur/2)
	return true
}

func (a *aimd) increase() bool {
	if a.cur >= a.max {
		return false
	}
	a.cur++
	return true
}

// check rejects negative limits.
func (l Limits) check() error {
	if l.MaxConcurrency < 0 || l.RequestsPerWindow < 0 || l.TokensPerWindow < 0 || l.Window < 0 {
		return errors.New("kimi limits cannot be negative")
	}
	return nil
}

// NewAdmission returns an admission controller for lim.
func NewAdmission(lim Limits) *Admission {
	if lim.Window <= 0 {
		lim.Window = DefaultWindow
	}
	a := &Admission{window: lim.Window, now: time.Now,
		conc: aimd{cur: lim.MaxConcurrency, max: max(lim.MaxConcurrency, 0)},
		reqs: aimd{cur: lim.RequestsPerWindow, max: max(lim.RequestsPerWindow, 0)},
	}
	if a.reqs.max > 0 {
		a.req = rate.NewLimiter(requestRate(a.reqs.cur, a.window), 1)
	}
	if lim.TokensPerWindow > 0 {
		a.maxTok = max(1, lim.TokensPerWindow/4)
		refill := float64(lim.TokensPerWindow-a.maxTok) / a.window.Seconds()
		a.tok = rate.NewLimiter(rate.Limit(refill), a.maxTok)
	}
	return a
}

// requestRate is the refill rate of the request bucket for n requests per
// window: (n-1) per window, or one per 1.1 windows for n = 1.
func requestRate(n int, window time.Duration) rate.Limit {
	if n <= 1 {
		return rate.Every(window + window/10)
	}
	return rate.Every(window / time.Duration(n-1))
}

// Admit waits until a request estimated at tokens prompt tokens may go,
// or until ctx ends. While it waits, onQueued (when not nil) is called on
// the caller's goroutine with the number of requests ahead of it (queued,
// or admitted but waiting for the rate limits), first when the request has
// to wait and again as that number falls; a caller that wakes late hears
// only the latest number, so places the queue moved past may be skipped.
// The caller must call
// release once when the request is over (its response read or abandoned);
// release is safe to call more than once.
func (a *Admission) Admit(ctx context.Context, tokens int, onQueued func(ahead int)) (release func(), err error) {
	if a == nil || a.unlimited() {
		return func() {}, nil
	}
	w := &waiter{wake: make(chan struct{}, 1)}
	a.mu.Lock()
	a.queue = append(a.queue, w)
	a.mu.Unlock()
	q := queued{report: onQueued, last: -1}
	for {
		a.mu.Lock()
		i := slices.Index(a.queue, w)
		if i == 0 && a.slotFree() {
			delay, cancel := a.take(tokens)
			ahead := a.pausing
			if delay > 0 {
				a.pausing++
			}
			a.mu.Unlock()
			if delay > 0 {
				q.at(ahead)
			}
			return a.admitted(ctx, delay, cancel)
		}
		// Behind free slots and nothing pausing, the wait is only for the
		// requests ahead to take their slots: not worth reporting.
		worth := !a.slotFree() || a.pausing > 0
		ahead := i + a.pausing
		a.mu.Unlock()
		if worth {
			q.at(ahead)
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			a.leave(w)
			return nil, ctx.Err()
		}
	}
}

// queued reports a waiter's place when it changes.
type queued struct {
	report func(ahead int)
	last   int
}

// at reports ahead if it differs from the last report.
func (q *queued) at(ahead int) {
	if q.report != nil && ahead != q.last {
		q.report(ahead)
		q.last = ahead
	}
}

// admitted waits out the rate limits of an admitted request and returns
// its release function.
func (a *Admission) admitted(ctx context.Context, delay time.Duration, cancel func()) (func(), error) {
	release := a.releaser()
	if delay <= 0 {
		return release, nil
	}
	err := pause(ctx, delay)
	a.mu.Lock()
	a.pausing--
	a.wakeAll()
	a.mu.Unlock()
	if err != nil {
		cancel()
		release()
		return nil, err
	}
	return release, nil
}

// unlimited reports whether no limit is configured, so requests never wait.
func (a *Admission) unlimited() bool {
	return a.conc.max == 0 && a.req == nil && a.tok == nil
}

// slotFree reports whether another request may be in flight; a.mu is held.
func (a *Admission) slotFree() bool {
	return a.conc.max == 0 || a.active < a.conc.cur
}

// take moves the head of the queue into flight and reserves its request
// and tokens; it returns how long the caller must still wait, and a
// function that gives the reservations back. a.mu is held.
func (a *Admission) take(tokens int) (time.Duration, func()) {
	a.active++
	a.queue = a.queue[1:]
	a.wakeAll()
	now := a.now()
	var (
		delay time.Duration
		held  []*rate.Reservation
	)
	if a.req != nil {
		r := a.req.ReserveN(now, 1)
		delay, held = r.DelayFrom(now), append(held, r)
	}
	if a.tok != nil && tokens > 0 {
		r := a.tok.ReserveN(now, min(tokens, a.maxTok))
		delay, held = max(delay, r.DelayFrom(now)), append(held, r)
	}
	return delay, func() {
		for _, r := range held {
			r.Cancel()
		}
	}
}

// releaser returns the release function of one admitted request.
func (a *Admission) releaser() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			a.active--
			a.wakeHead()
			a.mu.Unlock()
		})
	}
}

// leave removes a waiter that gave up.
func (a *Admission) leave(w *waiter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if i := slices.Index(a.queue, w); i >= 0 {
		a.queue = slices.Delete(a.queue, i, i+1)
		a.wakeAll()
	}
}

// wakeAll tells every waiter that its place changed; a.mu is held.
func (a *Admission) wakeAll() {
	for _, w := range a.queue {
		signal(w.wake)
	}
}

// wakeHead tells the first waiter that a slot may be free; a.mu is held.
func (a *Admission) wakeHead() {
	if len(a.queue) > 0 {
		signal(a.queue[0].wake)
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// RateLimited records that the provider refused a request for its rate
// limits: the configured concurrency and request limits halve (not below
// one). Limits that are not configured stay off.
func (a *Admission) RateLimited() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.conc.decrease()
	if a.reqs.decrease() {
		a.req.SetLimitAt(a.now(), requestRate(a.reqs.cur, a.window))
	}
}

// Succeeded records a request the provider accepted: the concurrency and
// request limits grow by one each, up to their configured values.
func (a *Admission) Succeeded() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conc.increase() {
		a.wakeHead()
	}
	if a.reqs.increase() {
		a.req.SetLimitAt(a.now(), requestRate(a.reqs.cur, a.window))
	}
}

// Current returns the concurrency and requests-per-window limits in force
// (zero for none) and the number of requests in flight.
func (a *Admission) Current() (concurrency, requests, active int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.conc.cur, a.reqs.cur, a.active
}

// estimate returns the estimated prompt tokens of msgs when a token limit
// is configured, else 0.
func (a *Admission) estimate(msgs []conversation.Message) int {
	if a == nil || a.tok == nil {
		return 0
	}
	var e *conversation.Estimator
	return e.Estimate(msgs)
}

// pause waits for d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	return tasks.Sleep(ctx, d)
}
