package discord

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The global request budget. Discord allows 50 requests per second per bot
// outside interaction routes; the adapter stays below that and keeps part
// of it for the writes users wait for.
const (
	globalLimit   = 45
	globalReserve = 10
	globalWindow  = time.Second
)

// pace says how a request may wait for its bucket.
type pace struct {
	// urgent requests (the first text, a new message, the final edit) may
	// use a bucket's whole budget. Other edits spread the budget over the
	// time to the reset and leave one request for the final edit.
	urgent func() bool
	// hurry is closed when a waiting request becomes urgent.
	hurry <-chan struct{}
}

func (p pace) isUrgent() bool { return p.urgent != nil && p.urgent() }

// urgentPace is the pace of requests that go out as soon as allowed.
var urgentPace = pace{urgent: func() bool { return true }}

// limiter paces REST requests by the buckets Discord describes in its
// rate-limit headers. Requests to one bucket go one at a time, so the state
// learned from each response is current when the next one is sent.
type limiter struct {
	mu          sync.Mutex
	routeHash   map[string]string
	buckets     map[string]*bucket
	created     int
	global      []time.Time
	globalUntil time.Time
}

// bucket is what the adapter knows of one Discord rate-limit bucket.
type bucket struct {
	sem  chan struct{}
	hash string
	// The fields below are guarded by limiter.mu.
	known     bool
	remaining int
	resetAt   time.Time
	spreadAt  time.Time
}

func newLimiter() *limiter {
	return &limiter{routeHash: map[string]string{}, buckets: map[string]*bucket{}}
}

func newBucket(hash string) *bucket { return &bucket{sem: make(chan struct{}, 1), hash: hash} }

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
		if len(b.sem) == 0 && now.Sub(b.resetAt) > time.Minute {
			delete(l.buckets, k)
		}
	}
}

// acquire waits until a request on route may be sent and returns the
// function that ends it. Hold it across the request.
func (l *limiter) acquire(ctx context.Context, route, major string, p pace) (release func(), err error) {
	l.mu.Lock()
	b := l.bucketLocked(route, major)
	l.mu.Unlock()
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release = func() { <-b.sem }
	hurry := p.hurry
	for {
		l.mu.Lock()
		d := l.bucketDelayLocked(b, time.Now(), p.isUrgent())
		if d <= 0 && !isWebhookRoute(route) {
			d = l.globalDelayLocked(time.Now(), p.isUrgent())
		}
		l.mu.Unlock()
		if d <= 0 {
			return release, nil
		}
		if hurry, err = wait(ctx, d, hurry); err != nil {
			release()
			return nil, err
		}
	}
}

// try takes a slot only if no waiting is needed, for requests that are
// worth sending only now (typing indicators).
func (l *limiter) try(route, major string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(route, major)
	select {
	case b.sem <- struct{}{}:
	default:
		return nil, false
	}
	now := time.Now()
	if l.bucketDelayLocked(b, now, false) > 0 || l.globalDelayLocked(now, false) > 0 {
		<-b.sem
		return nil, false
	}
	return func() { <-b.sem }, true
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

// globalDelayLocked is how long a request must wait for the global budget;
// when it need not wait, the request is counted.
func (l *limiter) globalDelayLocked(now time.Time, urgent bool) time.Duration {
	if now.Before(l.globalUntil) {
		return l.globalUntil.Sub(now)
	}
	i := 0
	for i < len(l.global) && !l.global[i].Add(globalWindow).After(now) {
		i++
	}
	l.global = l.global[i:]
	limit := globalLimit
	if !urgent {
		limit -= globalReserve
	}
	if len(l.global) < limit {
		l.global = append(l.global, now)
		return 0
	}
	return l.global[len(l.global)-limit].Add(globalWindow).Sub(now)
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
