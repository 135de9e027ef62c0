package discord

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"kimibot/internal/budgettest"
)

// TestShardsShareTheGlobalBudget sends requests from three limiters, as
// three shards of one bot do: together they stay within the global limit
// in every window.
func TestShardsShareTheGlobalBudget(t *testing.T) {
	budget := &budgettest.Memory{}
	const shards, each = 3, 40
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		sent  []time.Time
		wg    sync.WaitGroup
		limit = make([]*limiter, shards)
	)
	for i := range limit {
		limit[i] = newLimiter()
		limit[i].budget = budget
	}
	for s, l := range limit {
		for i := range each {
			wg.Go(func() {
				release, err := l.acquire(ctx, "/channels/{id}/messages", fmt.Sprintf("%d-%d", s, i), urgentPace)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				sent = append(sent, time.Now())
				mu.Unlock()
				release()
			})
		}
	}
	wg.Wait()
	if len(sent) != shards*each {
		t.Fatalf("%d requests sent, want %d", len(sent), shards*each)
	}
	most := 0
	for _, at := range sent {
		n := 0
		for _, other := range sent {
			if !other.Before(at) && other.Sub(at) < globalWindow {
				n++
			}
		}
		most = max(most, n)
	}
	if most > globalLimit {
		t.Errorf("%d requests in one window from %d shards, limit %d", most, shards, globalLimit)
	}
}
