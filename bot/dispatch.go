package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"kimibot/conversation"
)

// Errors of the dispatcher.
var (
	// ErrBusy is returned by HandleEvent when a thread's queue of events
	// kept only in memory is full.
	ErrBusy = errors.New("thread queue is full")
	// ErrShuttingDown is returned by HandleEvent once the engine stopped
	// taking events; a stored event is answered after the next start.
	ErrShuttingDown = errors.New("engine is shutting down")
)

// job is one piece of work for a thread's worker: an event, and the name
// of its inbox entry when it is stored; or a reply to finish after a crash.
type job struct {
	ev   Event
	item string
	// interrupted is a reply a crash left half-written.
	interrupted *conversation.ReplyRecord
	// queued is when the job was queued.
	queued time.Time
}

// dispatcher runs one worker goroutine per active thread: jobs of a thread
// are handled in order, threads in parallel. Idle workers exit.
type dispatcher struct {
	handle    func(ctx context.Context, key conversation.ThreadKey, j job)
	queueSize int
	idle      time.Duration
	// obs sees the queue depth and how long jobs wait; now is the clock.
	obs Observer
	now func() time.Time

	mu       sync.Mutex
	base     context.Context
	workers  map[conversation.ThreadKey]*worker
	inflight int // queued or running
	running  int
	closing  bool
	waiters  []chan struct{}
	changed  chan struct{} // closed and replaced when running drops
	wg       sync.WaitGroup
}

type worker struct {
	key   conversation.ThreadKey
	queue []job
	wake  chan struct{}
}

func newDispatcher(queueSize int, idle time.Duration,
	handle func(ctx context.Context, key conversation.ThreadKey, j job)) *dispatcher {
	return &dispatcher{handle: handle, queueSize: queueSize, idle: idle, obs: nopObserver{}, now: time.Now,
		base: context.Background(), workers: map[conversation.ThreadKey]*worker{}, changed: make(chan struct{})}
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

// enqueue hands j to the worker of thread key, starting one if needed. A
// job kept only in memory is refused when the thread's queue is full; a
// stored one is always queued.
func (d *dispatcher) enqueue(key conversation.ThreadKey, j job) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return fmt.Errorf("queue event for %s: %w", key, ErrShuttingDown)
	}
	w := d.workers[key]
	if w == nil {
		w = &worker{key: key, wake: make(chan struct{}, 1)}
		d.workers[key] = w
		d.wg.Add(1)
		go d.run(d.base, w)
	}
	if j.item == "" && len(w.queue) >= d.queueSize {
		return fmt.Errorf("queue event for %s: %w", key, ErrBusy)
	}
	j.queued = d.now()
	w.queue = append(w.queue, j)
	d.inflight++
	d.obs.QueueDepth(d.inflight)
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

func (d *dispatcher) run(ctx context.Context, w *worker) {
	defer d.wg.Done()
	idle := time.NewTimer(d.idle)
	defer idle.Stop()
	for {
		if j, ok := d.take(w); ok {
			d.handle(ctx, w.key, j)
			d.finished()
			idle.Reset(d.idle)
			continue
		}
		if d.leaving(w) {
			return
		}
		select {
		case <-w.wake:
		case <-idle.C:
			if d.retire(w) {
				return
			}
			idle.Reset(d.idle)
		case <-ctx.Done():
			d.quit(w)
			return
		}
	}
}

// take starts the next job of w, unless the dispatcher is closing.
func (d *dispatcher) take(w *worker) (job, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing || len(w.queue) == 0 {
		return job{}, false
	}
	j := w.queue[0]
	w.queue[0] = job{}
	w.queue = w.queue[1:]
	d.running++
	d.obs.QueueWait(d.now().Sub(j.queued))
	return j, true
}

// finished counts a job as done.
func (d *dispatcher) finished() {
	d.mu.Lock()
	d.running--
	close(d.changed)
	d.changed = make(chan struct{})
	d.mu.Unlock()
	d.done(1)
}

// leaving removes w when the dispatcher is closing, dropping its queue:
// stored jobs stay in the inbox for the next start.
func (d *dispatcher) leaving(w *worker) bool {
	d.mu.Lock()
	closing := d.closing
	d.mu.Unlock()
	if closing {
		d.quit(w)
	}
	return closing
}

// quit removes w and drops its queued jobs.
func (d *dispatcher) quit(w *worker) {
	d.mu.Lock()
	delete(d.workers, w.key)
	dropped := len(w.queue)
	w.queue = nil
	d.mu.Unlock()
	d.done(dropped)
}

// retire removes an idle worker unless a job arrived meanwhile.
func (d *dispatcher) retire(w *worker) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(w.queue) > 0 {
		return false
	}
	delete(d.workers, w.key)
	return true
}

// done counts n jobs as handled or dropped and wakes waitIdle when none is left.
func (d *dispatcher) done(n int) {
	if n == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inflight -= n
	d.obs.QueueDepth(d.inflight)
	if d.inflight == 0 {
		for _, ch := range d.waiters {
			close(ch)
		}
		d.waiters = nil
	}
}

// waitIdle returns when no job is queued or running.
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

// drain stops taking jobs, wakes idle workers so they leave, and waits
// until the running jobs are done or ctx ends.
func (d *dispatcher) drain(ctx context.Context) error {
	d.mu.Lock()
	d.closing = true
	for _, w := range d.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
	d.mu.Unlock()
	for {
		d.mu.Lock()
		running, changed := d.running, d.changed
		d.mu.Unlock()
		if running == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
