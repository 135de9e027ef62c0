package discord

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The global request budget. Discord allows 50 requests per second per bot
// outside interaction routes; the adapter stays below that and keeps most
// of it for the writes users wait for: intermediate edits may use 35 of
// the 45, typing indicators 15.
const (
	globalLimit   = 45
	globalWindow  = time.Second
	globalEdits   = 35
	globalTypings = 15
	// inflightPoll is the wait when the budget is held by requests still
	// in flight.
	inflightPoll = 20 * time.Millisecond
)

// pace says how a request may wait for its bucket.
type pace struct {
	// urgent requests (the first text, a new message, the final edit) may
	// use a bucket's whole budget. Other edits spread the budget over the
	// time to the reset and leave one request for the final edit.
	urgent func() bool
	// first marks the first message of an answer, which goes before any
	// other request when the global budget is short.
	first bool
	// hurry is closed when a waiting request becomes urgent.
	hurry <-chan struct{}
	// since is when the request's answer last changed visibly (or
	// began): among requests of one priority, the one whose answer has
	// waited longest goes first.
	since time.Time
	// ended reports whether the request's answer has ended (nil: never).
	ended func() bool
}

func (p pace) isUrgent() bool { return p.urgent != nil && p.urgent() }

// The priorities of the buckets and the global budget, highest first.
const (
	prioFirst = iota
	prioUrgent
	prioEdit
	prioTyping
	numPrio
)

// globalShare is the part of the global budget each priority may use.
var globalShare = [numPrio]int{globalLimit, globalLimit, globalEdits, globalTypings}

func (p pace) priority() int {
	switch {
	case p.first:
		return prioFirst
	case p.isUrgent():
		return prioUrgent
	}
	return prioEdit
}

// urgentPace is the pace of requests that go out as soon as allowed.
var urgentPace = pace{urgent: func() bool { return true }}

// bucketRank orders the requests waiting for one bucket, which in a
// channel with several answers is their shared budget: the rest of an
// answer that has ended and shows already goes first, so that what
// started completes; then first messages, in arrival order; then other
// urgent writes; then edits.
func (p pace) bucketRank() int {
	switch {
	case !p.first && p.ended != nil && p.ended():
		return 0
	case p.first:
		return 1
	case p.isUrgent():
		return 2
	}
	return 3
}

// waiter is one request waiting for its bucket or the global budget.
type waiter struct {
	p   pace
	seq uint64
	// prio is the request's global priority, and rank its bucket rank,
	// when last looked at.
	prio, rank int
	// turn is closed when the bucket is handed to the request.
	turn chan struct{}
}

// before reports whether w goes before o for the global budget: by
// priority, then the answer that has waited longest, then arrival.
func (w *waiter) before(o *waiter) bool { return ranksBefore(w.prio, o.prio, w, o) }

// ranksBefore reports whether a of rank ra goes before b of rank rb.
func ranksBefore(ra, rb int, a, b *waiter) bool {
	switch {
	case ra != rb:
		return ra < rb
	case !a.p.since.Equal(b.p.since):
		return a.p.since.Before(b.p.since)
	}
	return a.seq < b.seq
}

// limiter paces REST requests by the buckets Discord describes in its
// rate-limit headers. Requests to one bucket go one at a time, so the state
// learned from each response is current when the next one is sent; the
// bucket goes next to the waiting request that ranks first (see
// waiter.before), and so does the global budget, so that every answer
// gets its first message before any gets more edits, and every live
// answer keeps moving.
type limiter struct {
	mu        sync.Mutex
	routeHash map[string]string
	buckets   map[string]*bucket
	created   int
	seq       uint64
	// A request holds a global slot from when it is let go until a
	// window after its response: Discord counts arrivals, which fall in
	// between, so no Discord window can see more than the budget.
	inflight    int
	global      []time.Time
	globalUntil time.Time
	// waiters are the requests waiting for the global budget; each leaves
	// the slots to those ranked before it.
	waiters []*waiter
	// firsts counts the answers that have not shown a message yet: typing
	// indicators leave a slot for each.
	firsts int
	// budget, when set, is the global budget shared with other replicas.
	budget Budget
}

// bucket is what the adapter knows of one Discord rate-limit bucket.
type bucket struct {
	hash string
	// The fields below are guarded by limiter.mu.
	// busy is set while a request holds the bucket; queue holds the
	// requests waiting for it.
	busy      bool
	queue     []*waiter
	known     bool
	remaining int
	resetAt   time.Time
	spreadAt  time.Time
}

func newLimiter() *limiter {
	return &limiter{routeHash: map[string]string{}, buckets: map[string]*bucket{}}
}

func newBucket(hash string) *bucket { return &bucket{hash: hash} }

// groupOf is the bucket a route is assumed to share before Discord names
// it: message creates, edits and deletes in a channel count together.
func groupOf(route string) string {
	if strings.HasSuffix(route, "/channels/{id}/messages") || strings.HasSuffix(route, "/channels/{id}/messages/{id}") {
		return "messages"
	}
	return route
}

func (l *limiter) keyLocked(route, major string) string {
	if h := l.routeHash[route]; h != "" {
		return h + ":" + major
	}
	return "route:" + groupOf(route) + ":" + major
}

func (l *limiter) bucketLocked(route, major string) *bucket {
	key := l.keyLocked(route, major)
	b := l.buckets[key]
	if b == nil {
		b = newBucket(l.routeHash[route])
		l.buckets[key] = b
		if l.created++; l.created%1024 == 0 {
			l.pruneLocked(time.Now())
		}
	}
	return b
}

// pruneLocked forgets idle buckets whose limits have long reset.
func (l *limiter) pruneLocked(now time.Time) {
	for k, b := range l.buckets {
		if !b.busy && now.Sub(b.resetAt) > time.Minute {
			delete(l.buckets, k)
		}
	}
}

// acquire waits until a request on route may be sent and returns the
// function that ends it. Hold it across the request.
func (l *limiter) acquire(ctx context.Context, route, major string, p pace) (release func(), err error) {
	w := &waiter{p: p}
	l.mu.Lock()
	l.seq++
	w.seq = l.seq
	b := l.bucketLocked(route, major)
	l.mu.Unlock()
	if err := l.hold(ctx, b, w); err != nil {
		return nil, err
	}
	hurry := p.hurry
	for {
		l.mu.Lock()
		d := l.delayLocked(b, route, w)
		l.mu.Unlock()
		if d <= 0 {
			return l.sharedRelease(ctx, b, route)
		}
		if hurry, err = wait(ctx, d, hurry); err != nil {
			l.mu.Lock()
			l.unwaitLocked(w)
			l.passLocked(b)
			l.mu.Unlock()
			return nil, err
		}
	}
}

// sharedRelease ends the local wait for a request on route holding b: a
// request that counts against the global budget also takes its slot in
// the budget shared with other replicas.
func (l *limiter) sharedRelease(ctx context.Context, b *bucket, route string) (func(), error) {
	release := l.releaser(b, !isWebhookRoute(route))
	if isWebhookRoute(route) {
		return release, nil
	}
	if err := l.takeShared(ctx); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// hold waits until w holds bucket b.
func (l *limiter) hold(ctx context.Context, b *bucket, w *waiter) error {
	l.mu.Lock()
	if !b.busy {
		b.busy = true
		l.mu.Unlock()
		return nil
	}
	w.turn = make(chan struct{})
	b.queue = append(b.queue, w)
	l.mu.Unlock()
	select {
	case <-w.turn:
		return nil
	case <-ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if i := slices.Index(b.queue, w); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
	} else {
		// The bucket was handed over meanwhile: hand it on.
		l.passLocked(b)
	}
	return ctx.Err()
}

// passLocked hands bucket b to the waiting request that ranks first, or
// frees it.
func (l *limiter) passLocked(b *bucket) {
	if len(b.queue) == 0 {
		b.busy = false
		return
	}
	best := 0
	for i, w := range b.queue {
		w.rank = w.p.bucketRank()
		if i > 0 && ranksBefore(w.rank, b.queue[best].rank, w, b.queue[best]) {
			best = i
		}
	}
	w := b.queue[best]
	b.queue = slices.Delete(b.queue, best, best+1)
	close(w.turn)
}

// delayLocked is how long a request must still wait for its bucket and
// the global budget; at 0 it has taken a global slot. While it waits for
// the global budget it is counted among the waiters.
func (l *limiter) delayLocked(b *bucket, route string, w *waiter) time.Duration {
	now := time.Now()
	if d := l.bucketDelayLocked(b, now, w.p.isUrgent()); d > 0 || isWebhookRoute(route) {
		return d
	}
	l.unwaitLocked(w)
	w.prio = w.p.priority()
	d := l.globalDelayLocked(now, l.shareLocked(w))
	if d > 0 {
		l.waiters = append(l.waiters, w)
	}
	return d
}

// unwaitLocked takes w out of the global waiters, if it is there.
func (l *limiter) unwaitLocked(w *waiter) {
	if i := slices.Index(l.waiters, w); i >= 0 {
		l.waiters = slices.Delete(l.waiters, i, i+1)
	}
}

// shareLocked is the part of the global budget w may use now: its
// priority's share less the requests waiting that rank before it.
func (l *limiter) shareLocked(w *waiter) int {
	share := globalShare[w.prio]
	for _, o := range l.waiters {
		if o != w && o.before(w) {
			share--
		}
	}
	return share
}

// typingShareLocked is the part of the global budget typing indicators
// may use now: their share, but no more than what is left once every
// waiting request and every answer yet to show its first message has a
// slot.
func (l *limiter) typingShareLocked() int {
	return min(globalTypings, globalLimit-len(l.waiters)-l.firsts)
}

// expectFirst counts an answer that will need a slot for its first
// message; the function returned, called once that message is out (or
// never will be), stops counting it.
func (l *limiter) expectFirst() (done func()) {
	l.mu.Lock()
	l.firsts++
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			l.firsts--
			l.mu.Unlock()
		})
	}
}

// releaser returns the function that ends a request: it hands the bucket
// on and starts the global slot's window.
func (l *limiter) releaser(b *bucket, global bool) func() {
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if global {
			l.inflight--
			l.global = append(l.global, time.Now())
		}
		l.passLocked(b)
	}
}

// try takes a slot only if no waiting is needed, for requests that are
// worth sending only now (typing indicators).
func (l *limiter) try(route, major string) (release func(), ok bool) {
	release, ok = l.tryLocal(route, major)
	if !ok || l.budget == nil {
		return release, ok
	}
	wait, err := l.budget.Take(context.Background(), globalKey, globalLimit, globalWindow+globalWindow/50)
	if err == nil && wait > 0 {
		release()
		return nil, false
	}
	return release, true
}

// tryLocal is try without the shared budget.
func (l *limiter) tryLocal(route, major string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(route, major)
	if b.busy {
		return nil, false
	}
	now := time.Now()
	if l.bucketDelayLocked(b, now, false) > 0 || l.globalDelayLocked(now, l.typingShareLocked()) > 0 {
		return nil, false
	}
	b.busy = true
	return l.releaser(b, true), true
}

// wait sleeps for d, or until hurry is closed (then it returns a nil hurry).
func wait(ctx context.Context, d time.Duration, hurry <-chan struct{}) (<-chan struct{}, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return hurry, ctx.Err()
	case <-t.C:
		return hurry, nil
	case <-hurry:
		return nil, nil
	}
}

// bucketDelayLocked is how long a request must wait for its bucket.
func (l *limiter) bucketDelayLocked(b *bucket, now time.Time, urgent bool) time.Duration {
	if !b.known || !now.Before(b.resetAt) {
		return 0
	}
	switch {
	case b.remaining <= 0, !urgent && b.remaining <= 1:
		return b.resetAt.Sub(now)
	case !urgent && now.Before(b.spreadAt):
		return b.spreadAt.Sub(now)
	}
	return 0
}

// globalDelayLocked is how long a request allowed limit slots of the
// global budget must wait; when it need not wait, it takes a slot.
func (l *limiter) globalDelayLocked(now time.Time, limit int) time.Duration {
	if now.Before(l.globalUntil) {
		return l.globalUntil.Sub(now)
	}
	i := 0
	for i < len(l.global) && !l.global[i].Add(globalWindow).After(now) {
		i++
	}
	l.global = l.global[i:]
	excess := l.inflight + len(l.global) - limit + 1
	switch {
	case limit <= 0:
		return inflightPoll
	case excess <= 0:
		l.inflight++
		return 0
	case excess <= len(l.global):
		return l.global[excess-1].Add(globalWindow).Sub(now)
	}
	// Only requests in flight hold the budget: look again shortly.
	return inflightPoll
}

// observe learns a bucket's state from a response's headers.
func (l *limiter) observe(route, major string, status int, h http.Header, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if status == http.StatusTooManyRequests && (h.Get("X-RateLimit-Global") != "" || h.Get("X-RateLimit-Scope") == "global") {
		l.globalUntil = maxTime(l.globalUntil, now.Add(retryAfter(h)))
		return
	}
	if hash := h.Get("X-RateLimit-Bucket"); hash != "" {
		l.learnLocked(route, major, hash)
	}
	b := l.bucketLocked(route, major)
	if n, err := strconv.Atoi(h.Get("X-RateLimit-Remaining")); err == nil {
		b.known, b.remaining = true, n
	}
	if d, ok := parseSeconds(h.Get("X-RateLimit-Reset-After")); ok {
		b.resetAt = now.Add(d)
	}
	if status == http.StatusTooManyRequests {
		b.known, b.remaining = true, 0
		b.resetAt = maxTime(b.resetAt, now.Add(retryAfter(h)))
	}
	if b.remaining > 0 && b.resetAt.After(now) {
		b.spreadAt = now.Add(b.resetAt.Sub(now) / time.Duration(b.remaining))
	}
}

// learnLocked records the bucket Discord named for a route. The bucket
// used before the name was known carries over unless it belongs to
// another named bucket.
func (l *limiter) learnLocked(route, major, hash string) {
	if l.routeHash[route] == hash {
		return
	}
	old := l.buckets[l.keyLocked(route, major)]
	l.routeHash[route] = hash
	key := hash + ":" + major
	if l.buckets[key] != nil {
		return
	}
	if old != nil && (old.hash == "" || old.hash == hash) {
		old.hash = hash
		l.buckets[key] = old
		return
	}
	l.buckets[key] = newBucket(hash)
}

// penalize blocks a bucket for d, for a 429 whose body said retry_after.
func (l *limiter) penalize(route, major string, d time.Duration, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(route, major)
	b.known, b.remaining = true, 0
	b.resetAt = maxTime(b.resetAt, now.Add(d))
}

// retryAfter reads the wait a 429 asks for from its headers.
func retryAfter(h http.Header) time.Duration {
	if d, ok := parseSeconds(h.Get("X-RateLimit-Reset-After")); ok && d > 0 {
		return d
	}
	if d, ok := parseSeconds(h.Get("Retry-After")); ok {
		return d
	}
	return time.Second
}

// parseSeconds parses Discord's decimal seconds.
func parseSeconds(s string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
