package storage

import (
	"fmt"
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// committer group-commits write transactions: a write that finds no other
// under way leads: it lets the other runnable goroutines go first, once,
// and then commits together with whatever writes queued meanwhile; writes
// that arrive while a commit is under way wait for it and then share the
// next transaction (and its fsync). Nothing waits on a timer for company,
// so a write alone is about as quick as a plain bbolt Update, and many at
// once cost a few commits instead of one each.
//
// A write may run more than once, when another write of its transaction
// fails, so its function must only set what it returns.
type committer struct {
	db *bolt.DB

	mu sync.Mutex
	// queue holds the writes waiting for the next transaction.
	queue []*write
	// busy is true while a leader commits.
	busy bool
}

// write is one caller's function and its result.
type write struct {
	fn  func(*bolt.Tx) error
	err error
	// done is closed when the write is committed or failed, or when it
	// is to lead the next transaction.
	done chan struct{}
	lead bool
}

// do runs fn in a write transaction, possibly shared with other writes,
// and returns once that transaction is committed (or fn failed). A write
// that leads lets the other runnable goroutines go first: alone, it loses
// nothing by it; under load, its transaction gathers the writes they make,
// and they are not held up by a commit per write.
func (c *committer) do(fn func(*bolt.Tx) error) error {
	w := &write{fn: fn, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, w)
	lead := !c.busy
	c.busy = true
	c.mu.Unlock()
	if !lead {
		<-w.done
		if !w.lead {
			return w.err
		}
	}
	runtime.Gosched()
	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()
	c.commit(batch, w)
	c.handOff()
	return w.err
}

// handOff wakes the first waiting write to lead the next transaction, or
// marks the committer idle.
func (c *committer) handOff() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		c.busy = false
		return
	}
	next := c.queue[0]
	next.lead = true
	close(next.done)
}

// commit runs batch in one transaction and gives every write its result;
// leader is the caller's own write, which is not woken. A write that fails
// is taken out and run alone afterwards, so that its error is its own, and
// the others are run again without it.
func (c *committer) commit(batch []*write, leader *write) {
	var alone []*write
	for len(batch) > 0 {
		failed := -1
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, w := range batch {
				if err := call(w.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 || len(batch) == 1 {
			for _, w := range batch {
				w.err = err
			}
			break
		}
		alone = append(alone, batch[failed])
		batch = append(batch[:failed:failed], batch[failed+1:]...)
	}
	for _, w := range alone {
		w.err = c.db.Update(func(tx *bolt.Tx) error { return call(w.fn, tx) })
	}
	for _, w := range append(batch, alone...) {
		if w != leader {
			close(w.done)
		}
	}
}

// call runs fn, turning a panic into an error so that the writes sharing
// its transaction are not left waiting.
func call(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in write: %v", r)
		}
	}()
	return fn(tx)
}
