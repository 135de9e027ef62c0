package discord

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// headers builds rate-limit response headers.
func headers(bucket string, remaining int, resetAfter time.Duration) http.Header {
	h := http.Header{}
	h.Set("X-RateLimit-Bucket", bucket)
	h.Set("X-RateLimit-Limit", "5")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(resetAfter.Seconds(), 'f', 3, 64))
	return h
}

const (
	createRoute = "POST /channels/{id}/messages"
	editRoute   = "PATCH /channels/{id}/messages/{id}"
)

func TestLimiterBucketDelay(t *testing.T) {
	now := time.Now()
	tests := []struct {
		name      string
		remaining int
		reset     time.Duration
		urgent    bool
		want      time.Duration
	}{
		{"FreshUrgent", 4, 5 * time.Second, true, 0},
		{"EmptyUrgentWaitsForReset", 0, 2 * time.Second, true, 2 * time.Second},
		{"LastSlotKeptForUrgent", 1, 3 * time.Second, false, 3 * time.Second},
		{"LastSlotUrgent", 1, 3 * time.Second, true, 0},
		{"EditsSpreadOverTheReset", 4, 4 * time.Second, false, time.Second},
		{"ResetPassed", 0, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLimiter()
			l.observe(createRoute, "1", 200, headers("h", tt.remaining, tt.reset), now)
			l.mu.Lock()
			defer l.mu.Unlock()
			got := l.bucketDelayLocked(l.bucketLocked(createRoute, "1"), now, tt.urgent)
			if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
				t.Fatalf("delay = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLimiterSharesLearnedBuckets(t *testing.T) {
	now := time.Now()
	l := newLimiter()
	// Creates and edits in a channel share one Discord bucket: an exhausted
	// create bucket holds edits back, in that channel only.
	l.observe(createRoute, "1", 200, headers("msgs", 0, time.Second), now)
	l.observe(editRoute, "1", 200, headers("msgs", 0, time.Second), now)
	l.mu.Lock()
	edit := l.bucketDelayLocked(l.bucketLocked(editRoute, "1"), now, true)
	other := l.bucketDelayLocked(l.bucketLocked(editRoute, "2"), now, true)
	l.mu.Unlock()
	if edit < 900*time.Millisecond || other != 0 {
		t.Fatalf("edit delay %v (want about 1s), other channel %v (want 0)", edit, other)
	}
	// A route Discord puts in its own bucket gets its own state.
	l.observe("POST /channels/{id}/typing", "1", 200, headers("typing", 5, time.Second), now)
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := l.bucketDelayLocked(l.bucketLocked("POST /channels/{id}/typing", "1"), now, true); d != 0 {
		t.Fatalf("typing delay %v, want 0", d)
	}
}

func TestLimiter429(t *testing.T) {
	now := time.Now()
	l := newLimiter()
	h := http.Header{}
	h.Set("Retry-After", "2")
	l.observe(createRoute, "1", http.StatusTooManyRequests, h, now)
	l.mu.Lock()
	d := l.bucketDelayLocked(l.bucketLocked(createRoute, "1"), now, true)
	l.mu.Unlock()
	if d < 1900*time.Millisecond {
		t.Fatalf("delay after a 429 asking for 2s = %v", d)
	}
	// A global 429 pauses every route.
	h.Set("X-RateLimit-Global", "true")
	l.observe(editRoute, "9", http.StatusTooManyRequests, h, now)
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := l.globalDelayLocked(now, globalLimit); d < 1900*time.Millisecond {
		t.Fatalf("global delay = %v, want about 2s", d)
	}
}

func TestLimiterGlobalShares(t *testing.T) {
	now := time.Now()
	l := newLimiter()
	l.mu.Lock()
	defer l.mu.Unlock()
	for range globalTypings {
		if d := l.globalDelayLocked(now, globalTypings); d != 0 {
			t.Fatalf("typing delayed %v within its share", d)
		}
	}
	if d := l.globalDelayLocked(now, globalTypings); d <= 0 {
		t.Fatal("typing past its share was not delayed")
	}
	for range globalLimit - globalTypings {
		if d := l.globalDelayLocked(now, globalLimit); d != 0 {
			t.Fatalf("urgent write delayed %v within the budget", d)
		}
	}
	if d := l.globalDelayLocked(now, globalLimit); d <= 0 || d > globalWindow {
		t.Fatalf("write past the budget delayed %v, want up to %v", d, globalWindow)
	}
}

func TestLimiterAcquireHonoursContextAndHurry(t *testing.T) {
	l := newLimiter()
	l.observe(editRoute, "1", 200, headers("msgs", 1, time.Hour), time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.acquire(ctx, editRoute, "1", pace{}); err == nil {
		t.Fatal("acquire waited past a cancelled context")
	}
	// An edit waiting to keep the last slot goes as soon as it turns urgent.
	hurry := make(chan struct{})
	var urgent atomic.Bool
	done := make(chan error, 1)
	go func() {
		release, err := l.acquire(context.Background(), editRoute, "1", pace{urgent: urgent.Load, hurry: hurry})
		if err == nil {
			release()
		}
		done <- err
	}()
	urgent.Store(true)
	close(hurry)
	if err := <-done; err != nil {
		t.Fatalf("acquire: %v", err)
	}
}
