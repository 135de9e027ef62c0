package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
)

// ErrDraftExists matches the error CreateDraft returns for an ID that is
// already stored.
var ErrDraftExists = errors.New("draft already exists")

// Errors for drafts that cannot be stored.
var (
	errDraftID     = errors.New("draft needs an id")
	errDraftThread = errors.New("draft needs a thread")
)

var _ conversation.DraftStore = (*Store)(nil)

// CreateDraft stores d, which needs an ID not used before and a thread, in
// one transaction. A zero State becomes pending and zero Created and Updated
// become the store's clock. Every other pending draft of the same thread and
// kind becomes superseded, with a "supersede" decision and audit record; those
// drafts are returned as stored, oldest first.
func (s *Store) CreateDraft(ctx context.Context, d conversation.Draft) ([]conversation.Draft, error) {
	var superseded []conversation.Draft
	err := s.update(ctx, func(tx *bolt.Tx) error {
		if err := checkNewDraft(tx, d); err != nil {
			return err
		}
		now := s.now()
		d = d.WithDefaults(now)
		var err error
		if superseded, err = supersede(tx, d, now); err != nil {
			return err
		}
		return storeDraft(tx, nil, d)
	})
	if err != nil {
		return nil, fmt.Errorf("create draft %s: %w", d.ID, err)
	}
	return superseded, nil
}

// Draft returns the draft with id, or conversation.ErrNotFound.
func (s *Store) Draft(ctx context.Context, id string) (conversation.Draft, error) {
	var d conversation.Draft
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		d, err = loadDraft(tx, id)
		return err
	})
	if err != nil {
		return conversation.Draft{}, fmt.Errorf("load draft %s: %w", id, err)
	}
	return d, nil
}

// UpdateDraft loads the draft with id (or fails with conversation.ErrNotFound),
// lets fn change it and stores it with Updated set to the store's clock, in one
// transaction. fn may not change the draft's ID or Thread. If fn returns an
// error, nothing is written and that error is returned as is, so errors.Is
// sees conversation.ErrConflict. If fn returns an audit record, it is stored
// in the same transaction with its empty Time, DraftID, Kind, Thread, From and
// To filled from the clock and the draft before and after fn.
func (s *Store) UpdateDraft(ctx context.Context, id string, fn func(d *conversation.Draft) (*conversation.AuditRecord, error)) (conversation.Draft, error) {
	var (
		d     conversation.Draft
		fnErr error
	)
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := loadDraft(tx, id)
		if err != nil {
			return err
		}
		u, callerErr, err := conversation.ApplyDraftUpdate(old, s.now(), fn)
		if callerErr {
			fnErr = err
		}
		if err != nil {
			return err
		}
		d = u.Draft
		if err := storeDraft(tx, &old, d); err != nil || u.Record == nil {
			return err
		}
		return appendAudit(tx, *u.Record)
	})
	if fnErr != nil {
		return conversation.Draft{}, fnErr
	}
	if err != nil {
		return conversation.Draft{}, fmt.Errorf("update draft %s: %w", id, err)
	}
	return d, nil
}

// DraftsByState returns the drafts in any of states, oldest Created first
// (by ID among equals). It reads the state of every stored draft and decodes
// in full only the matching ones.
func (s *Store) DraftsByState(ctx context.Context, states ...conversation.DraftState) ([]conversation.Draft, error) {
	var out []conversation.Draft
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDrafts).ForEach(func(k, v []byte) error {
			var head struct {
				State conversation.DraftState `json:"state"`
			}
			if err := json.Unmarshal(v, &head); err != nil {
				return fmt.Errorf("decode draft %s: %w", k, err)
			}
			if !slices.Contains(states, head.State) {
				return nil
			}
			var d conversation.Draft
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode draft %s: %w", k, err)
			}
			out = append(out, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list drafts in states %v: %w", states, err)
	}
	sortDrafts(out)
	return out, nil
}

// Audit returns the audit records with a Time at or after since, oldest
// first; a zero since returns them all. Only the requested range is read.
func (s *Store) Audit(ctx context.Context, since time.Time) ([]conversation.AuditRecord, error) {
	var out []conversation.AuditRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanAudit(ctx, tx, since, func(rec conversation.AuditRecord) error {
			out = append(out, rec)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read audit since %s: %w", since.Format(time.RFC3339), err)
	}
	return out, nil
}

// ExportAudit writes the audit records Audit would return to w as JSON
// lines, one object per record, oldest first, without HTML escaping so that
// platform markup such as "<@U123>" stays readable.
func (s *Store) ExportAudit(ctx context.Context, since time.Time, w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return scanAudit(ctx, tx, since, func(rec conversation.AuditRecord) error {
			return enc.Encode(rec)
		})
	})
	if err != nil {
		return fmt.Errorf("export audit since %s: %w", since.Format(time.RFC3339), err)
	}
	return nil
}

// checkNewDraft refuses drafts without an ID or thread and IDs in use.
func checkNewDraft(tx *bolt.Tx, d conversation.Draft) error {
	switch {
	case d.ID == "":
		return errDraftID
	case d.Thread == "":
		return errDraftThread
	case tx.Bucket(bucketDrafts).Get([]byte(d.ID)) != nil:
		return ErrDraftExists
	}
	return nil
}

// supersede marks the pending drafts of d's thread and kind superseded,
// auditing each, and returns them as stored.
func supersede(tx *bolt.Tx, d conversation.Draft, now time.Time) ([]conversation.Draft, error) {
	pending, err := pendingDrafts(tx, d.Thread, d.Kind)
	if err != nil {
		return nil, err
	}
	for i, old := range pending {
		p := old
		p.State = conversation.DraftSuperseded
		p.Decision = &conversation.Decision{Action: conversation.AuditSupersede, At: now}
		p.Updated = now
		if err := storeDraft(tx, &old, p); err != nil {
			return nil, err
		}
		if err := appendAudit(tx, conversation.AuditRecord{
			Time: now, DraftID: p.ID, Kind: p.Kind, Thread: p.Thread,
			Action: conversation.AuditSupersede, From: old.State, To: p.State,
			DraftText: p.Text, ToolCalls: p.ToolCalls, Model: p.Model,
			Reason: "superseded by draft " + d.ID,
		}); err != nil {
			return nil, err
		}
		pending[i] = p
	}
	return pending, nil
}

// pendingDrafts returns the pending drafts of thread and kind, oldest first,
// reading only their entries of the thread index.
func pendingDrafts(tx *bolt.Tx, thread conversation.ThreadKey, kind conversation.DraftKind) ([]conversation.Draft, error) {
	idx := tx.Bucket(bucketDraftsThread).Bucket([]byte(thread))
	if idx == nil {
		return nil, nil
	}
	prefix := draftIndexKey(kind, conversation.DraftPending, "")
	var out []conversation.Draft
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		id := string(k[len(prefix):])
		d, err := loadDraft(tx, id)
		if err != nil {
			return nil, fmt.Errorf("load indexed draft %s: %w", id, err)
		}
		if d.Thread == thread && d.Kind == kind && d.State == conversation.DraftPending {
			out = append(out, d)
		}
	}
	sortDrafts(out)
	return out, nil
}

// loadDraft reads a draft, or returns conversation.ErrNotFound.
func loadDraft(tx *bolt.Tx, id string) (conversation.Draft, error) {
	var d conversation.Draft
	v := tx.Bucket(bucketDrafts).Get([]byte(id))
	if v == nil {
		return d, conversation.ErrNotFound
	}
	if err := json.Unmarshal(v, &d); err != nil {
		return d, fmt.Errorf("decode draft record: %w", err)
	}
	return d, nil
}

// storeDraft writes d and its thread index entry, replacing the entry of old
// (the same draft as stored before) when its kind or state changed.
func storeDraft(tx *bolt.Tx, old *conversation.Draft, d conversation.Draft) error {
	if err := putJSON(tx.Bucket(bucketDrafts), []byte(d.ID), d); err != nil {
		return err
	}
	if old != nil && old.Kind == d.Kind && old.State == d.State {
		return nil
	}
	idx, err := tx.Bucket(bucketDraftsThread).CreateBucketIfNotExists([]byte(d.Thread))
	if err != nil {
		return err
	}
	if old != nil {
		if err := idx.Delete(draftIndexKey(old.Kind, old.State, old.ID)); err != nil {
			return err
		}
	}
	return idx.Put(draftIndexKey(d.Kind, d.State, d.ID), nil)
}

// draftIndexKey is "kind/state/id", the key of a draft in its thread's index
// bucket, so that one kind's drafts in one state share a prefix.
func draftIndexKey(kind conversation.DraftKind, state conversation.DraftState, id string) []byte {
	return []byte(string(kind) + "/" + string(state) + "/" + id)
}

// appendAudit stores rec keyed by its time and a sequence, so that records
// sort by time and records of the same time keep their order.
func appendAudit(tx *bolt.Tx, rec conversation.AuditRecord) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	return putJSON(b, append(encodeNano(rec.Time), u64(seq)...), rec)
}

// scanAudit calls fn with each audit record at or after since, oldest first,
// stopping when ctx ends.
func scanAudit(ctx context.Context, tx *bolt.Tx, since time.Time, fn func(conversation.AuditRecord) error) error {
	c := tx.Bucket(bucketAudit).Cursor()
	k, v := c.First()
	if since.After(time.Unix(0, 0)) {
		k, v = c.Seek(encodeNano(since))
	}
	for ; k != nil; k, v = c.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var rec conversation.AuditRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode audit record %x: %w", k, err)
		}
		if rec.Time.Before(since) {
			continue
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// sortDrafts orders drafts by Created, then ID.
func sortDrafts(ds []conversation.Draft) {
	slices.SortFunc(ds, func(a, b conversation.Draft) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
