package bot

import (
	"context"
	"errors"
	"sync"
	"time"

	"kimibot/conversation"
)

// Leaser lets several replicas share one store. A replica runs a
// conversation only while it holds the conversation's lease, and renews
// it while it works; when a replica dies its leases expire and another
// replica takes over the stored work of those conversations. Without a
// Leaser (one process, the bbolt store) the engine runs everything itself.
type Leaser interface {
	// Acquire takes the lease name for ttl, or renews it when this replica
	// holds it, and reports whether this replica holds it now.
	Acquire(ctx context.Context, name string, ttl time.Duration) (bool, error)
	// Release gives up the lease name if this replica holds it.
	Release(ctx context.Context, name string) error
	// Held returns the names of the leases any replica holds now.
	Held(ctx context.Context) (map[string]bool, error)
}

// deskLease is the lease of the replica that sends draft reminders.
const deskLease = "desk"

// leases keeps the engine's leases: which conversations this replica
// runs, which stored work it took over, and whether it runs the desk's
// once-only jobs. Without a Leaser every method lets the engine run
// everything itself.
type leases struct {
	e   *Engine
	l   Leaser
	ttl time.Duration
	// taken names the stored work resume queued that is not done yet, so
	// that a later sweep does not queue it again.
	taken sync.Map
}

// threadLease names the lease of a conversation.
func threadLease(key conversation.ThreadKey) string { return "thread:" + string(key) }

// holdThread waits until this replica holds the lease of thread key and
// keeps renewing it until the returned release is called. It reports false
// when ctx ended first. Without a Leaser it returns at once.
func (ls *leases) holdThread(ctx context.Context, key conversation.ThreadKey) (release func(), ok bool) {
	l := ls.l
	if l == nil {
		return func() {}, true
	}
	name := threadLease(key)
	for waited := false; ; waited = true {
		held, err := l.Acquire(ctx, name, ls.ttl)
		if held {
			break
		}
		switch {
		case err != nil && ctx.Err() == nil:
			ls.e.log.Warn("take conversation lease", "thread", key, "err", err)
		case err == nil && !waited:
			ls.e.log.Debug("conversation busy on another replica, waiting for it", "thread", key)
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(ls.retry()):
		}
		if ls.e.dispatch.stopping() {
			// Shutting down: the stored work stays for the replica that
			// holds the conversation, or for the next start.
			return nil, false
		}
	}
	renew, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		ls.renew(renew, key, name)
	}()
	return func() {
		stop()
		<-done
		if err := l.Release(context.WithoutCancel(ctx), name); err != nil {
			ls.e.log.Warn("release conversation lease", "thread", key, "err", err)
		}
	}, true
}

// renew renews the lease name every third of its lifetime until ctx ends.
func (ls *leases) renew(ctx context.Context, key conversation.ThreadKey, name string) {
	t := time.NewTicker(ls.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		held, err := ls.l.Acquire(ctx, name, ls.ttl)
		switch {
		case err != nil && ctx.Err() == nil:
			ls.e.log.Warn("renew conversation lease", "thread", key, "err", err)
		case err == nil && !held:
			ls.e.log.Error("conversation lease lost to another replica", "thread", key)
		}
	}
}

// leaseRetry is how long a worker waits before asking again for a lease
// another replica holds.
func (ls *leases) retry() time.Duration {
	return min(max(ls.ttl/20, 20*time.Millisecond), time.Second)
}

// free returns a filter of the conversations no replica holds: those whose
// stored work this replica may take over. Without a Leaser every
// conversation is free; when the leases cannot be read, none is.
func (ls *leases) free(ctx context.Context) func(conversation.ThreadKey) bool {
	if ls.l == nil {
		return func(conversation.ThreadKey) bool { return true }
	}
	held, err := ls.l.Held(ctx)
	if err != nil {
		ls.e.log.Warn("list conversation leases", "err", err)
		return func(conversation.ThreadKey) bool { return false }
	}
	return func(k conversation.ThreadKey) bool { return !held[threadLease(k)] }
}

// stillOpen reports whether the reply record r is still stored: another
// replica may have finished it while this one waited for the lease.
func (ls *leases) stillOpen(ctx context.Context, r conversation.ReplyRecord) bool {
	if ls.l == nil {
		return true
	}
	_, err := ls.e.cfg.Replies.UpdateReply(ctx, r.ID, func(*conversation.ReplyRecord) error { return nil })
	if err != nil && !errors.Is(err, conversation.ErrNotFound) {
		ls.e.log.Warn("check interrupted reply", "thread", r.Thread, "err", err)
	}
	return err == nil
}

// adopt takes over, every third of the lease lifetime until ctx ends, the
// stored work of conversations no replica holds: those of replicas that
// died, and events accepted while the conversation was busy elsewhere.
func (ls *leases) adopt(ctx context.Context) {
	if ls.l == nil {
		return
	}
	t := time.NewTicker(ls.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ls.e.resume(ctx)
	}
}

// leads reports whether this replica runs the once-only desk jobs
// (reminders) now, taking or renewing the desk lease. Without a Leaser it
// always does.
func (ls *leases) leads(ctx context.Context) bool {
	if ls.l == nil {
		return true
	}
	held, err := ls.l.Acquire(ctx, deskLease, 2*ls.e.cfg.ReminderEvery+ls.ttl)
	if err != nil && ctx.Err() == nil {
		ls.e.log.Warn("take desk lease", "err", err)
	}
	return held
}

// take marks stored work ("item:ID" or "reply:ID") as queued by resume
// and reports whether it was not queued already.
func (ls *leases) take(name string) bool {
	_, queued := ls.taken.LoadOrStore(name, struct{}{})
	return !queued
}

// untake forgets that resume queued j's stored work, once j has run.
func (ls *leases) untake(j job) {
	if j.interrupted != nil {
		ls.taken.Delete("reply:" + j.interrupted.ID)
	} else if j.item != "" {
		ls.taken.Delete("item:" + j.item)
	}
}

// resume queues the stored work of the conversations no replica holds:
// at start, everything a previous run left; with several replicas, every
// sweep also takes over the work of replicas that died.
func (e *Engine) resume(ctx context.Context) {
	free := e.leases.free(ctx)
	e.inbox.resume(ctx, free)
	e.desk.reconcile(ctx, free)
}

// stopping reports whether the dispatcher has stopped taking jobs.
func (d *dispatcher) stopping() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closing
}
