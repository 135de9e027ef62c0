package conversation

import (
	"cmp"
	"errors"
	"fmt"
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
