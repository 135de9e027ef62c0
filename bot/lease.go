package bot

import (
	"context"
	"errors"
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

// threadLease names the lease of a conversation.
func threadLease(key conversation.ThreadKey) string { return "thread:" + string(key) }

// holdThread waits until this replica holds the lease of thread key and
// keeps renewing it until the returned release is called. It reports false
// when ctx ended first. Without a Leaser it returns at once.
func (e *Engine) holdThread(ctx context.Context, key conversation.ThreadKey) (release func(), ok bool) {
	l := e.cfg.Leaser
	if l == nil {
		return func() {}, true
	}
	name := threadLease(key)
	for waited := false; ; waited = true {
		held, err := l.Acquire(ctx, name, e.cfg.LeaseTTL)
		if held {
			break
		}
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("take conversation lease", "thread", key, "err", err)
		case err == nil && !waited:
			e.log.Debug("conversation busy on another replica, waiting for it", "thread", key)
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(e.leaseRetry()):
		}
		if e.dispatch.stopping() {
			// Shutting down: the stored work stays for the replica that
			// holds the conversation, or for the next start.
			return nil, false
		}
	}
	renew, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.renew(renew, key, name)
	}()
	return func() {
		stop()
		<-done
		if err := l.Release(context.WithoutCancel(ctx), name); err != nil {
			e.log.Warn("release conversation lease", "thread", key, "err", err)
		}
	}, true
}

// renew renews the lease name every third of its lifetime until ctx ends.
func (e *Engine) renew(ctx context.Context, key conversation.ThreadKey, name string) {
	t := time.NewTicker(e.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		held, err := e.cfg.Leaser.Acquire(ctx, name, e.cfg.LeaseTTL)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.Warn("renew conversation lease", "thread", key, "err", err)
		case err == nil && !held:
			e.log.Error("conversation lease lost to another replica", "thread", key)
		}
	}
}

// leaseRetry is how long a worker waits before asking again for a lease
// another replica holds.
func (e *Engine) leaseRetry() time.Duration {
	return min(max(e.cfg.LeaseTTL/20, 20*time.Millisecond), time.Second)
}

// free returns a filter of the conversations no replica holds: those whose
// stored work this replica may take over. Without a Leaser every
// conversation is free; when the leases cannot be read, none is.
func (e *Engine) free(ctx context.Context) func(conversation.ThreadKey) bool {
	if e.cfg.Leaser == nil {
		return func(conversation.ThreadKey) bool { return true }
	}
	held, err := e.cfg.Leaser.Held(ctx)
	if err != nil {
		e.log.Warn("list conversation leases", "err", err)
		return func(conversation.ThreadKey) bool { return false }
	}
	return func(k conversation.ThreadKey) bool { return !held[threadLease(k)] }
}

// stillOpen reports whether the reply record r is still stored: another
// replica may have finished it while this one waited for the lease.
func (e *Engine) stillOpen(ctx context.Context, r conversation.ReplyRecord) bool {
	if e.cfg.Leaser == nil {
		return true
	}
	_, err := e.cfg.Replies.UpdateReply(ctx, r.ID, func(*conversation.ReplyRecord) error { return nil })
	if err != nil && !errors.Is(err, conversation.ErrNotFound) {
		e.log.Warn("check interrupted reply", "thread", r.Thread, "err", err)
	}
	return err == nil
}

// adopt takes over, every third of the lease lifetime until ctx ends, the
// stored work of conversations no replica holds: those of replicas that
// died, and events accepted while the conversation was busy elsewhere.
func (e *Engine) adopt(ctx context.Context) {
	if e.cfg.Leaser == nil {
		return
	}
	t := time.NewTicker(e.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.resume(ctx)
	}
}

// leads reports whether this replica runs the once-only desk jobs
// (reminders) now, taking or renewing the desk lease. Without a Leaser it
// always does.
func (e *Engine) leads(ctx context.Context) bool {
	if e.cfg.Leaser == nil {
		return true
	}
	held, err := e.cfg.Leaser.Acquire(ctx, deskLease, 2*e.cfg.ReminderEvery+e.cfg.LeaseTTL)
	if err != nil && ctx.Err() == nil {
		e.log.Warn("take desk lease", "err", err)
	}
	return held
}

// take marks stored work ("item:ID" or "reply:ID") as queued by resume
// and reports whether it was not queued already.
func (e *Engine) take(name string) bool {
	_, queued := e.taken.LoadOrStore(name, struct{}{})
	return !queued
}

// untake forgets that resume queued j's stored work, once j has run.
func (e *Engine) untake(j job) {
	if j.interrupted != nil {
		e.taken.Delete("reply:" + j.interrupted.ID)
	} else if j.item != "" {
		e.taken.Delete("item:" + j.item)
	}
}

// stopping reports whether the dispatcher has stopped taking jobs.
func (d *dispatcher) stopping() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closing
}
