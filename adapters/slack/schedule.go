package slack

import (
	"context"
	"sync"
	"time"
)

// turns hands out the slots of one workspace-wide method (chat.update or
// chat.appendStream) to the replies waiting for one. The method's pacer
// decides when a slot is free; turns decide who gets it: a reply's first
// visible text goes first, then the final text of an answer that has
// ended, then live edits, the answer that has gone longest without a
// visible change first. Every live answer so keeps moving, however many
// share the budget, and none waits behind another's repeated edits.
type turns struct {
	p *pacer

	mu      sync.Mutex
	queue   []*claim
	serving bool
	seq     uint64
}

// claim is one call waiting for a turn.
type claim struct {
	// first marks a call that shows an answer's first text.
	first bool
	// since is when the answer last changed visibly: the longer ago, the
	// sooner its turn.
	since time.Time
	// ended reports whether the answer has ended, so that its final text
	// goes before live edits. It may be nil.
	ended func() bool

	seq   uint64
	grant chan struct{}
}

// The classes of claims, served in this order.
const (
	classFirst = iota
	classFinal
	classLive
)

func (c *claim) class() int {
	switch {
	case c.first:
		return classFirst
	case c.ended != nil && c.ended():
		return classFinal
	}
	return classLive
}

func newTurns(p *pacer) *turns { return &turns{p: p} }

// wait blocks until c has a turn: a slot of the method is then taken for
// it. Like pacer.waitUnless, it gives up and reports false once stop says
// the call is no longer needed.
func (t *turns) wait(ctx context.Context, c *claim, stop *stopper) (bool, error) {
	c.grant = make(chan struct{})
	t.mu.Lock()
	t.seq++
	c.seq = t.seq
	t.queue = append(t.queue, c)
	if !t.serving {
		t.serving = true
		go t.serve()
	}
	t.mu.Unlock()
	var wake <-chan struct{}
	if stop != nil {
		wake = stop.wake
		if stop.stop() && t.withdraw(c) {
			return false, nil
		}
	}
	for {
		select {
		case <-c.grant:
			return true, nil
		case <-wake:
			if stop.stop() && t.withdraw(c) {
				return false, nil
			}
		case <-ctx.Done():
			t.withdraw(c)
			return false, ctx.Err()
		}
	}
}

// withdraw takes c out of the queue; it reports false when c already had
// its turn.
func (t *turns) withdraw(c *claim) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, q := range t.queue {
		if q == c {
			t.queue = append(t.queue[:i], t.queue[i+1:]...)
			return true
		}
	}
	return false
}

// serve runs while claims wait: it takes the method's slots one at a time
// and gives each to the claim that ranks first when the slot comes, so
// that a claim made while waiting for a slot can still get it.
func (t *turns) serve() {
	for {
		t.mu.Lock()
		if len(t.queue) == 0 {
			t.serving = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
		// The pacer waits are bounded by its refill time and by
		// Retry-After pauses; nothing cancels them.
		_ = t.p.wait(context.Background())
		t.mu.Lock()
		if i := t.bestLocked(); i >= 0 {
			c := t.queue[i]
			t.queue = append(t.queue[:i], t.queue[i+1:]...)
			close(c.grant)
		}
		t.mu.Unlock()
	}
}

// bestLocked is the index of the claim to serve next, or -1.
func (t *turns) bestLocked() int {
	best, bestClass := -1, 0
	for i, c := range t.queue {
		class := c.class()
		if best < 0 || before(class, c, bestClass, t.queue[best]) {
			best, bestClass = i, class
		}
	}
	return best
}

// before reports whether claim a of class ca ranks before b of class cb.
func before(ca int, a *claim, cb int, b *claim) bool {
	switch {
	case ca != cb:
		return ca < cb
	case !a.since.Equal(b.since):
		return a.since.Before(b.since)
	}
	return a.seq < b.seq
}

// waiting reports how many claims wait for a turn.
func (t *turns) waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.queue)
}
