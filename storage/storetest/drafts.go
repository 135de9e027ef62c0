package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kimibot/conversation"
)

// draft returns a pending reply draft of thread th.
func draft(id string, th conversation.ThreadKey) conversation.Draft {
	return conversation.Draft{ID: id, Kind: conversation.DraftReply, Thread: th, Text: "draft " + id,
		ReviewChannel: "R1", Source: conversation.MsgRef{Platform: "slack", Channel: "C1", ID: id}}
}

func testDraftCreate(t *testing.T, open Opener) {
	c := newClock(t0)
	s := open(t, Options{Now: c.Now})
	ctx := context.Background()
	if sup, err := s.CreateDraft(ctx, draft("d1", "k/1")); err != nil || len(sup) != 0 {
		t.Fatalf("CreateDraft = %v, %v", sup, err)
	}
	d, err := s.Draft(ctx, "d1")
	if err != nil || d.State != conversation.DraftPending || !d.Created.Equal(t0) || !d.Updated.Equal(t0) || d.Text != "draft d1" {
		t.Fatalf("Draft = %+v, %v; want pending with the store's times", d, err)
	}
	c.Advance(time.Second)
	if sup, err := s.CreateDraft(ctx, draft("d2", "k/1")); err != nil || len(sup) != 1 || sup[0].ID != "d1" {
		t.Fatalf("CreateDraft d2 superseded %+v, %v; want d1", sup, err)
	}
	tool := draft("t1", "k/1")
	tool.Kind = conversation.DraftTool
	if _, err := s.CreateDraft(ctx, tool); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Second)
	sup, err := s.CreateDraft(ctx, draft("d3", "k/1"))
	if err != nil || len(sup) != 1 || sup[0].ID != "d2" ||
		sup[0].State != conversation.DraftSuperseded || sup[0].Decision == nil ||
		sup[0].Decision.Action != conversation.AuditSupersede || !sup[0].Updated.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("CreateDraft d3 superseded %+v, %v; want d2", sup, err)
	}
	if d, _ := s.Draft(ctx, "t1"); d.State != conversation.DraftPending {
		t.Errorf("tool draft state = %s, want pending (other kind)", d.State)
	}
	audit, _ := s.Audit(ctx, time.Time{})
	if len(audit) != 2 || audit[1].DraftID != "d2" || audit[1].From != conversation.DraftPending ||
		audit[1].To != conversation.DraftSuperseded || audit[1].Reason != "superseded by draft d3" {
		t.Errorf("audit after supersede = %+v", audit)
	}
	for _, bad := range []conversation.Draft{draft("d3", "k/1"), draft("", "k/1"), draft("x", "")} {
		if _, err := s.CreateDraft(ctx, bad); err == nil {
			t.Errorf("CreateDraft(%q, %q) succeeded", bad.ID, bad.Thread)
		}
	}
	if _, err := s.Draft(ctx, "nope"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Draft of a missing id: %v", err)
	}
}

func testDraftUpdate(t *testing.T, open Opener) {
	c := newClock(t0)
	s := open(t, Options{Now: c.Now})
	ctx := context.Background()
	if _, err := s.CreateDraft(ctx, draft("d1", "k/1")); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	d, err := s.UpdateDraft(ctx, "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		d.State = conversation.DraftSending
		d.SentText = "final"
		return &conversation.AuditRecord{Action: conversation.AuditApprove, By: "U1"}, nil
	})
	if err != nil || d.State != conversation.DraftSending || !d.Updated.Equal(t0.Add(time.Minute)) {
		t.Fatalf("UpdateDraft = %+v, %v", d, err)
	}
	audit, _ := s.Audit(ctx, time.Time{})
	if len(audit) != 1 || audit[0].DraftID != "d1" || audit[0].Thread != "k/1" || audit[0].Kind != conversation.DraftReply ||
		audit[0].From != conversation.DraftPending || audit[0].To != conversation.DraftSending ||
		!audit[0].Time.Equal(t0.Add(time.Minute)) || audit[0].By != "U1" {
		t.Fatalf("audit = %+v; want the filled approve record", audit)
	}
	_, err = s.UpdateDraft(ctx, "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		d.Text = "lost"
		return nil, conversation.ErrConflict
	})
	if !errors.Is(err, conversation.ErrConflict) {
		t.Errorf("UpdateDraft with a conflicting fn: %v", err)
	}
	if d, _ := s.Draft(ctx, "d1"); d.Text != "draft d1" {
		t.Errorf("failed update was written: text %q", d.Text)
	}
	if _, err := s.UpdateDraft(ctx, "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		d.Thread = "k/2"
		return nil, nil
	}); err == nil {
		t.Error("UpdateDraft accepted a changed thread")
	}
	if _, err := s.UpdateDraft(ctx, "nope", func(*conversation.Draft) (*conversation.AuditRecord, error) {
		return nil, nil
	}); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("UpdateDraft of a missing draft: %v", err)
	}
}

// testDraftRace decides one draft from many goroutines at once: the
// conditional update lets exactly one of them win.
func testDraftRace(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := context.Background()
	if _, err := s.CreateDraft(ctx, draft("d1", "k/1")); err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		wins atomic.Int32
	)
	for range 16 {
		wg.Go(func() {
			_, err := s.UpdateDraft(ctx, "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
				if d.State != conversation.DraftPending {
					return nil, conversation.ErrConflict
				}
				d.State = conversation.DraftSending
				return &conversation.AuditRecord{Action: conversation.AuditApprove}, nil
			})
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, conversation.ErrConflict):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	audit, _ := s.Audit(ctx, time.Time{})
	if wins.Load() != 1 || len(audit) != 1 {
		t.Fatalf("%d winners and %d audit records, want exactly one", wins.Load(), len(audit))
	}
}

func testDraftsByState(t *testing.T, open Opener) {
	c := newClock(t0)
	s := open(t, Options{Now: c.Now})
	ctx := context.Background()
	for _, id := range []string{"b", "a", "c"} {
		if _, err := s.CreateDraft(ctx, draft(id, conversation.ThreadKey("k/"+id))); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Minute)
	}
	if _, err := s.UpdateDraft(ctx, "a", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		d.State = conversation.DraftRejected
		return &conversation.AuditRecord{Action: conversation.AuditReject}, nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.DraftsByState(ctx, conversation.DraftPending)
	if err != nil || len(got) != 2 || got[0].ID != "b" || got[1].ID != "c" {
		t.Fatalf("pending drafts = %+v, %v; want b then c", got, err)
	}
	got, _ = s.DraftsByState(ctx, conversation.DraftPending, conversation.DraftRejected)
	if len(got) != 3 || got[1].ID != "a" {
		t.Errorf("pending or rejected = %d drafts, want b a c", len(got))
	}
	if got, _ := s.DraftsByState(ctx, conversation.DraftSent); len(got) != 0 {
		t.Errorf("sent drafts = %d, want none", len(got))
	}
	if recs, _ := s.Audit(ctx, t0.Add(3*time.Minute)); len(recs) != 1 || recs[0].DraftID != "a" {
		t.Errorf("Audit since the reject = %+v", recs)
	}
	if recs, _ := s.Audit(ctx, t0.Add(4*time.Minute)); len(recs) != 0 {
		t.Errorf("Audit after the last record = %+v", recs)
	}
}
