package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"kimibot/conversation"
	"kimibot/storage"
)

// ErrDraftExists matches the error CreateDraft returns for an ID that is
// already stored; it is the bbolt store's error, so callers check one.
var ErrDraftExists = storage.ErrDraftExists

// Errors for drafts that cannot be stored.
var (
	errDraftID     = errors.New("draft needs an id")
	errDraftThread = errors.New("draft needs a thread")
)

// CreateDraft stores d, which needs an ID not used before and a thread, in
// one transaction. A zero State becomes pending and zero Created and Updated
// become the store's clock. Every other pending draft of the same thread and
// kind becomes superseded, with a "supersede" decision and audit record;
// those drafts are returned as stored, oldest first. Drafts of one thread
// are created one at a time across replicas (a transaction advisory lock).
func (s *Store) CreateDraft(ctx context.Context, d conversation.Draft) ([]conversation.Draft, error) {
	var superseded []conversation.Draft
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		switch {
		case d.ID == "":
			return errDraftID
		case d.Thread == "":
			return errDraftThread
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, string(d.Thread)); err != nil {
			return err
		}
		now := s.now()
		d = d.WithDefaults(now)
		var err error
		if superseded, err = s.supersede(ctx, tx, d, now); err != nil {
			return err
		}
		return insertDraft(ctx, tx, d)
	})
	if err != nil {
		return nil, fmt.Errorf("create draft %s: %w", d.ID, err)
	}
	return superseded, nil
}

// insertDraft stores a new draft, or fails with ErrDraftExists.
func insertDraft(ctx context.Context, tx pgx.Tx, d conversation.Draft) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode draft: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO kimibot_drafts (id, thread, kind, state, created, data)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
		d.ID, string(d.Thread), string(d.Kind), string(d.State), nano(d.Created), data)
	if err == nil && tag.RowsAffected() == 0 {
		err = ErrDraftExists
	}
	return err
}

// supersede marks the pending drafts of d's thread and kind superseded,
// auditing each, and returns them as stored.
func (s *Store) supersede(ctx context.Context, tx pgx.Tx, d conversation.Draft, now time.Time) ([]conversation.Draft, error) {
	rows, err := tx.Query(ctx, `SELECT data FROM kimibot_drafts WHERE thread = $1 AND kind = $2 AND state = $3
		AND id <> $4 ORDER BY created, id FOR UPDATE`,
		string(d.Thread), string(d.Kind), string(conversation.DraftPending), d.ID)
	if err != nil {
		return nil, err
	}
	pending, err := collectJSON[conversation.Draft](rows)
	if err != nil {
		return nil, err
	}
	for i, old := range pending {
		p := old
		p.State = conversation.DraftSuperseded
		p.Decision = &conversation.Decision{Action: conversation.AuditSupersede, At: now}
		p.Updated = now
		if err := storeDraft(ctx, tx, p); err != nil {
			return nil, err
		}
		if err := appendAudit(ctx, tx, conversation.AuditRecord{
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

// Draft returns the draft with id, or conversation.ErrNotFound.
func (s *Store) Draft(ctx context.Context, id string) (conversation.Draft, error) {
	d, err := loadDraft(ctx, s.pool, id, "")
	if err != nil {
		return conversation.Draft{}, fmt.Errorf("load draft %s: %w", id, err)
	}
	return d, nil
}

// UpdateDraft loads the draft with id (or fails with conversation.ErrNotFound),
// lets fn change it and stores it with Updated set to the store's clock, in one
// transaction that holds the draft's row, so that a decision made at once on
// another replica waits and then sees this one's result: every state change
// is a conditional update. fn may not change the draft's ID or Thread. If fn
// returns an error, nothing is written and that error is returned as is. If
// fn returns an audit record, it is stored in the same transaction with its
// empty fields filled from the clock and the draft before and after fn.
func (s *Store) UpdateDraft(ctx context.Context, id string, fn func(d *conversation.Draft) (*conversation.AuditRecord, error)) (conversation.Draft, error) {
	var (
		d     conversation.Draft
		fnErr error
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := loadDraft(ctx, tx, id, " FOR UPDATE")
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
		if err := storeDraft(ctx, tx, d); err != nil || u.Record == nil {
			return err
		}
		return appendAudit(ctx, tx, *u.Record)
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
// (by ID among equals).
func (s *Store) DraftsByState(ctx context.Context, states ...conversation.DraftState) ([]conversation.Draft, error) {
	names := make([]string, len(states))
	for i, st := range states {
		names[i] = string(st)
	}
	rows, err := s.pool.Query(ctx, `SELECT data FROM kimibot_drafts WHERE state = ANY($1) ORDER BY created, id`, names)
	var out []conversation.Draft
	if err == nil {
		out, err = collectJSON[conversation.Draft](rows)
	}
	if err != nil {
		return nil, fmt.Errorf("list drafts in states %v: %w", states, err)
	}
	return out, nil
}

// Audit returns the audit records with a Time at or after since, oldest
// first; a zero since returns them all.
func (s *Store) Audit(ctx context.Context, since time.Time) ([]conversation.AuditRecord, error) {
	var out []conversation.AuditRecord
	err := s.scanAudit(ctx, since, func(rec conversation.AuditRecord) error {
		out = append(out, rec)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read audit since %s: %w", since.Format(time.RFC3339), err)
	}
	return out, nil
}

// ExportAudit writes the audit records Audit would return to w as JSON
// lines, one object per record, oldest first, without HTML escaping.
func (s *Store) ExportAudit(ctx context.Context, since time.Time, w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	err := s.scanAudit(ctx, since, func(rec conversation.AuditRecord) error { return enc.Encode(rec) })
	if err != nil {
		return fmt.Errorf("export audit since %s: %w", since.Format(time.RFC3339), err)
	}
	return nil
}

// scanAudit calls fn with each audit record at or after since, oldest first.
func (s *Store) scanAudit(ctx context.Context, since time.Time, fn func(conversation.AuditRecord) error) error {
	from := int64(math.MinInt64)
	if since.After(time.Unix(0, 0)) {
		from = nano(since)
	}
	rows, err := s.pool.Query(ctx, `SELECT data FROM kimibot_audit WHERE at >= $1 ORDER BY at, id`, from)
	if err != nil {
		return err
	}
	recs, err := collectJSON[conversation.AuditRecord](rows)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if rec.Time.Before(since) {
			continue
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// loadDraft reads a draft, with suffix appended to the query ("FOR UPDATE"),
// or returns conversation.ErrNotFound.
func loadDraft(ctx context.Context, q querier, id, suffix string) (conversation.Draft, error) {
	var (
		d    conversation.Draft
		data []byte
	)
	err := q.QueryRow(ctx, `SELECT data FROM kimibot_drafts WHERE id = $1`+suffix, id).Scan(&data)
	if noRows(err) {
		return d, conversation.ErrNotFound
	}
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return d, fmt.Errorf("decode draft record: %w", err)
	}
	return d, nil
}

// storeDraft rewrites a stored draft.
func storeDraft(ctx context.Context, tx pgx.Tx, d conversation.Draft) error {
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode draft: %w", err)
	}
	_, err = tx.Exec(ctx, `UPDATE kimibot_drafts SET kind = $2, state = $3, created = $4, data = $5 WHERE id = $1`,
		d.ID, string(d.Kind), string(d.State), nano(d.Created), data)
	return err
}

// appendAudit stores rec; records sort by time, then by insertion.
func appendAudit(ctx context.Context, tx pgx.Tx, rec conversation.AuditRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO kimibot_audit (at, data) VALUES ($1, $2)`, nano(rec.Time), data)
	return err
}
