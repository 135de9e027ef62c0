// Package budgettest is an in-memory request budget shared by the
// adapters of a test, as replicas share the one in their database.
package budgettest

import (
	"context"
	"sync"
	"time"
)

// Memory is a sliding-window budget kept in memory. It satisfies the
// Budget interfaces of the Slack and Discord adapters. The zero Memory is
// ready to use.
type Memory struct {
	mu    sync.Mutex
	calls map[string][]time.Time
}

// Take records one call under key when fewer than limit calls were
// recorded in the last window, and returns zero; otherwise it records
// nothing and returns how long to wait.
func (b *Memory) Take(_ context.Context, key string, limit int, window time.Duration) (time.Duration, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.calls == nil {
		b.calls = map[string][]time.Time{}
	}
	now := time.Now()
	log := b.calls[key]
	for len(log) > 0 && now.Sub(log[0]) >= window {
		log = log[1:]
	}
	if len(log) >= limit {
		b.calls[key] = log
		return window - now.Sub(log[0]), nil
	}
	b.calls[key] = append(log, now)
	return 0, nil
}
