package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"kimibot/conversation"
)

// ErrBusy is returned by HandleEvent when a thread's queue is full.
var ErrBusy = errors.New("thread queue is full")

// dispatcher runs one worker goroutine per active thread: events of a
// thread are handled in order, threads in parallel. Idle workers exit.
type dispatcher struct {
	handle    func(ctx context.Context, key conversation.ThreadKey, ev Event)
	queueSize int
	idle      time.Duration

	mu       sync.Mutex
	base     context.Context
	workers  map[conversation.ThreadKey]*worker
	inflight int
	waiters  []chan struct{}
	wg       sync.WaitGroup
}

type worker struct {
	key   conversation.ThreadKey
	queue chan Event
}

func newDispatcher(queueSize int, idle time.Duration,
	handle func(ctx context.Context, key conversation.ThreadKey, ev Event)) *dispatcher {
	return &dispatcher{handle: handle, queueSize: queueSize, idle: idle, base: context.Background(),
		workers: map[conversation.ThreadKey]*worker{}}
}

// start sets the context workers run under; they stop when it ends.
func (d *dispatcher) start(ctx context.Context) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.base = ctx
}

// goTracked runs f in a goroutine that stop waits for.
func (d *dispatcher) goTracked(f func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		f()
	}()
}

// stop waits for every worker and tracked goroutine to return.
func (d *dispatcher) stop() { d.wg.Wait() }

// enqueue hands ev to the worker of thread key, starting one if needed.
func (d *dispatcher) enqueue(key conversation.ThreadKey, ev Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.workers[key]
	if w == nil {
		w = &worker{key: key, queue: make(chan Event, d.queueSize)}
		d.workers[key] = w
		d.wg.Add(1)
		go d.run(d.base, w)
	}
	select {
	case w.queue <- ev:
		d.inflight++
		return nil
	default:
		return fmt.Errorf("queue event for %s: %w", key, ErrBusy)
	}
}

func (d *dispatcher) run(ctx context.Context, w *worker) {
	defer d.wg.Done()
	idle := time.NewTimer(d.idle)
	defer idle.Stop()
	for {
		select {
		case ev := <-w.queue:
			d.handle(ctx, w.key, ev)
			d.done(1)
			idle.Reset(d.idle)
		case <-idle.C:
			if d.retire(w) {
				return
			}
			idle.Reset(d.idle)
		case <-ctx.Done():
			d.mu.Lock()
			delete(d.workers, w.key)
			dropped := len(w.queue)
			d.mu.Unlock()
			d.done(dropped)
			return
		}
	}
}

// retire removes an idle worker unless an event arrived meanwhile.
func (d *dispatcher) retire(w *worker) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(w.queue) > 0 {
		return false
	}
	delete(d.workers, w.key)
	return true
}

// done counts n events as handled and wakes waitIdle when none is left.
func (d *dispatcher) done(n int) {
	if n == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inflight -= n
	if d.inflight == 0 {
		for _, ch := range d.waiters {
			close(ch)
		}
		d.waiters = nil
	}
}

// waitIdle returns when no event is queued or being handled.
func (d *dispatcher) waitIdle(ctx context.Context) error {
	d.mu.Lock()
	if d.inflight == 0 {
		d.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	d.waiters = append(d.waiters, ch)
	d.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
