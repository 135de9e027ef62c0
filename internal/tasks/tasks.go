// Package tasks counts goroutines that a component starts, so that its
// shutdown can wait for them.
package tasks

import (
	"context"
	"sync"
	"time"
)

// Group counts running tasks. Unlike a sync.WaitGroup, Wait may run while
// new tasks are being added. The zero Group is ready to use.
type Group struct {
	mu   sync.Mutex
	n    int
	idle chan struct{}
}

// Add counts n more tasks as begun.
func (g *Group) Add(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n += n
}

// Done ends one task.
func (g *Group) Done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 {
		close(g.idle)
	}
}

// Go runs f in a goroutine counted by the group.
func (g *Group) Go(f func()) {
	g.Add(1)
	go func() {
		defer g.Done()
		f()
	}()
}

// Wait returns once no task is running.
func (g *Group) Wait() {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return
	}
	ch := g.idle
	g.mu.Unlock()
	<-ch
}

// Sleep waits for d or until ctx ends; it returns ctx's error when ctx
// ended first (or has, when d is not positive).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
