package conversation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Errors of records a store cannot keep.
var (
	// ErrIncomplete means a record lacks its ID or its thread.
	ErrIncomplete = errors.New("record needs an id and a thread")
	// ErrIdentity means an update tried to change a record's ID.
	ErrIdentity = errors.New("record id cannot change")
)

// The rules below are what every store applies in the same way; stores
// call them so that bbolt and PostgreSQL agree.

// WithDefaults returns d with its state pending and its times set to now
// where they are zero, as a store keeps a new draft.
func (d Draft) WithDefaults(now time.Time) Draft {
	d.State = cmp.Or(d.State, DraftPending)
	if d.Created.IsZero() {
		d.Created = now
	}
	if d.Updated.IsZero() {
		d.Updated = now
	}
	return d
}

// Completed fills what an audit record returned by an UpdateDraft callback
// leaves out: the time, the draft, its thread and the states from and to.
func (r AuditRecord) Completed(from DraftState, d Draft, now time.Time) AuditRecord {
	if r.Time.IsZero() {
		r.Time = now
	}
	r.DraftID = cmp.Or(r.DraftID, d.ID)
	r.Kind = cmp.Or(r.Kind, d.Kind)
	r.Thread = cmp.Or(r.Thread, d.Thread)
	r.From = cmp.Or(r.From, from)
	r.To = cmp.Or(r.To, d.State)
	return r
}

// Opening checks a reply record about to be opened and returns it as a
// store keeps it: streaming unless stated, started and updated now.
func (r ReplyRecord) Opening(now time.Time) (ReplyRecord, error) {
	if r.ID == "" || r.Thread == "" {
		return r, fmt.Errorf("open reply %q: %w", r.ID, ErrIncomplete)
	}
	r.State = cmp.Or(r.State, ReplyStreaming)
	if r.Started.IsZero() {
		r.Started = now
	}
	r.Updated = now
	return r, nil
}

// DefaultExpiryInterval is how often RunExpiry runs when given no interval.
const DefaultExpiryInterval = 10 * time.Minute

// RunExpiry expires the processed events of s older than ttl at once and
// then every interval (DefaultExpiryInterval when every <= 0) until ctx
// ends. Failures are logged and retried at the next interval.
func RunExpiry(ctx context.Context, s EventStore, ttl, every time.Duration, now func() time.Time, log *slog.Logger) {
	if every <= 0 {
		every = DefaultExpiryInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.ExpireProcessed(ctx, now().Add(-ttl))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("expire processed events", "err", err)
		case n > 0:
			log.Debug("expired processed events", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ErrDraftIdentity means an UpdateDraft callback changed the draft's ID or
// thread.
var ErrDraftIdentity = errors.New("draft id and thread cannot change")

// DraftUpdate is what an UpdateDraft callback made of a draft: the draft to
// store and the completed audit record to store with it (nil for none).
type DraftUpdate struct {
	Draft  Draft
	Record *AuditRecord
}

// ApplyDraftUpdate runs an UpdateDraft callback on old as every store does:
// fn changes a copy, which may not change its ID or thread, and gets
// Updated = now; a returned audit record is completed. An error from fn is
// returned as is (callerErr true), so that errors.Is sees ErrConflict.
func ApplyDraftUpdate(old Draft, now time.Time, fn func(d *Draft) (*AuditRecord, error)) (u DraftUpdate, callerErr bool, err error) {
	d := old
	rec, err := fn(&d)
	if err != nil {
		return DraftUpdate{}, true, err
	}
	if d.ID != old.ID || d.Thread != old.Thread {
		return DraftUpdate{}, false, ErrDraftIdentity
	}
	d.Updated = now
	u.Draft = d
	if rec != nil {
		r := rec.Completed(old.State, d, now)
		u.Record = &r
	}
	return u, false, nil
}
