package storage_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

// draftStart is the store clock's first reading in draft tests.
var draftStart = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

const (
	threadA = conversation.ThreadKey("slack/T1/C1/1700000000.000100")
	// threadAPrefix starts with threadA's key and must stay separate from it.
	threadAPrefix = conversation.ThreadKey("slack/T1/C1/1700000000.000100/x")
)

// draftStore is a fresh store on a controllable clock.
type draftStore struct {
	*storage.Store
	now     func() time.Time
	advance func(time.Duration)
}

// mustOpenDrafts opens a store in a temporary directory on a clock that
// starts at draftStart.
func mustOpenDrafts(tb testing.TB) draftStore {
	tb.Helper()
	now, advance := fixedClock(draftStart)
	s := storagetest.MustOpenAt(tb, tempDB(tb), storage.Options{NoSync: true, Now: now})
	return draftStore{Store: s, now: now, advance: advance}
}

// newDraft returns a reply draft for thread with the fields a bot would set.
func newDraft(id string, thread conversation.ThreadKey) conversation.Draft {
	return conversation.Draft{
		ID: id, Kind: conversation.DraftReply, Thread: thread,
		Customer: "U1", CustomerName: "Ann",
		Source:   conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "1700000000.000200"},
		Question: "where is order A1001?", Text: "Draft " + id + " for <@U1>",
		ToolCalls: []conversation.ToolRecord{{ID: "functions.lookup_order:0", Name: "lookup_order",
			Arguments: `{"id":"A1001"}`, Result: `{"status":"shipped"}`}},
		Model: "kimi-k2.6", ReviewChannel: "C9",
	}
}

// mustCreate stores d and returns the drafts it superseded.
func mustCreate(tb testing.TB, s *storage.Store, d conversation.Draft) []conversation.Draft {
	tb.Helper()
	sup, err := s.CreateDraft(context.Background(), d)
	if err != nil {
		tb.Fatalf("create draft %s: %v", d.ID, err)
	}
	return sup
}

// mustDraft loads the draft with id.
func mustDraft(tb testing.TB, s *storage.Store, id string) conversation.Draft {
	tb.Helper()
	d, err := s.Draft(context.Background(), id)
	if err != nil {
		tb.Fatalf("load draft %s: %v", id, err)
	}
	return d
}

// mustAudit reads the audit records since since.
func mustAudit(tb testing.TB, s *storage.Store, since time.Time) []conversation.AuditRecord {
	tb.Helper()
	recs, err := s.Audit(context.Background(), since)
	if err != nil {
		tb.Fatalf("read audit: %v", err)
	}
	return recs
}

// ids lists the IDs of drafts.
func ids(ds []conversation.Draft) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	return out
}

// claim moves a pending draft to sending and asks for an approve record, as
// a reviewer's click would; any other state is a conflict.
func claim(d *conversation.Draft) (*conversation.AuditRecord, error) {
	if d.State != conversation.DraftPending {
		return nil, conversation.ErrConflict
	}
	d.State = conversation.DraftSending
	d.SentText = d.Text
	return &conversation.AuditRecord{Action: "approve", By: "U9", ByName: "Rita", SentText: d.Text}, nil
}

func TestCreateDraft_Defaults(t *testing.T) {
	s := mustOpenDrafts(t)
	in := newDraft("d1", threadA)
	if sup := mustCreate(t, s.Store, in); len(sup) != 0 {
		t.Errorf("first draft superseded %v", ids(sup))
	}
	want := in
	want.State, want.Created, want.Updated = conversation.DraftPending, draftStart, draftStart
	if got := mustDraft(t, s.Store, "d1"); !reflect.DeepEqual(got, want) {
		t.Errorf("stored draft:\n%s\nwant:\n%s", mustJSON(t, got), mustJSON(t, want))
	}

	kept := newDraft("d2", "discord/G1/C1/5")
	kept.State = conversation.DraftSending
	kept.Created = draftStart.Add(-time.Hour)
	kept.Updated = draftStart.Add(-time.Minute)
	mustCreate(t, s.Store, kept)
	if got := mustDraft(t, s.Store, "d2"); !reflect.DeepEqual(got, kept) {
		t.Errorf("explicit state and times not kept:\n%s", mustJSON(t, got))
	}
}

func TestCreateDraft_Supersedes(t *testing.T) {
	s := mustOpenDrafts(t)
	sent := newDraft("d0", threadA)
	sent.State = conversation.DraftSent
	mustCreate(t, s.Store, sent)
	s.advance(time.Minute)
	old := newDraft("d1", threadA)
	mustCreate(t, s.Store, old)
	tool := newDraft("t1", threadA)
	tool.Kind = conversation.DraftTool
	others := []conversation.Draft{sent, tool, newDraft("p1", threadAPrefix), newDraft("o1", "discord/G1/C1/5")}
	for _, d := range others[1:] {
		mustCreate(t, s.Store, d)
	}
	before := map[string]conversation.Draft{}
	for _, d := range others {
		before[d.ID] = mustDraft(t, s.Store, d.ID)
		if d.ID != "d0" && before[d.ID].State != conversation.DraftPending {
			t.Fatalf("fixture draft %s is %s", d.ID, before[d.ID].State)
		}
	}
	auditBefore := len(mustAudit(t, s.Store, time.Time{}))

	s.advance(time.Minute)
	now := s.now()
	sup := mustCreate(t, s.Store, newDraft("d2", threadA))

	want := mustDraft(t, s.Store, "d1")
	if len(sup) != 1 || !reflect.DeepEqual(sup[0], want) {
		t.Fatalf("superseded = %s, want [d1] as stored", mustJSON(t, sup))
	}
	wantDecision := conversation.Decision{Action: "supersede", At: now}
	if want.State != conversation.DraftSuperseded || want.Decision == nil || *want.Decision != wantDecision ||
		!want.Updated.Equal(now) {
		t.Errorf("d1 after supersede: state %s decision %+v updated %s", want.State, want.Decision, want.Updated)
	}
	for id, b := range before {
		if got := mustDraft(t, s.Store, id); !reflect.DeepEqual(got, b) {
			t.Errorf("draft %s changed by an unrelated create: %s", id, mustJSON(t, got))
		}
	}
	if got := mustDraft(t, s.Store, "d2"); got.State != conversation.DraftPending {
		t.Errorf("new draft state = %s", got.State)
	}
	recs := mustAudit(t, s.Store, time.Time{})
	if len(recs) != auditBefore+1 {
		t.Fatalf("audit has %d records, want %d", len(recs), auditBefore+1)
	}
	wantRec := conversation.AuditRecord{
		Time: now, DraftID: "d1", Kind: conversation.DraftReply, Thread: threadA, Action: "supersede",
		From: conversation.DraftPending, To: conversation.DraftSuperseded, DraftText: old.Text,
		Reason: "superseded by draft d2", ToolCalls: old.ToolCalls, Model: old.Model,
	}
	if got := recs[len(recs)-1]; !reflect.DeepEqual(got, wantRec) {
		t.Errorf("supersede audit record:\n%s\nwant:\n%s", mustJSON(t, got), mustJSON(t, wantRec))
	}
}

func TestCreateDraft_SupersedesSeveralOldestFirst(t *testing.T) {
	ctx := context.Background()
	s := mustOpenDrafts(t)
	reopen := func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		d.State = conversation.DraftPending
		return nil, nil
	}
	// Created out of ID order, then all made pending again; "s" is created
	// in another state and becomes pending only by an update.
	for _, id := range []string{"s", "c", "a", "b"} {
		d := newDraft(id, threadA)
		if id == "s" {
			d.State = conversation.DraftSending
		}
		mustCreate(t, s.Store, d)
		s.advance(time.Second)
	}
	for _, id := range []string{"s", "c", "a"} {
		if _, err := s.UpdateDraft(ctx, id, reopen); err != nil {
			t.Fatal(err)
		}
	}
	sup := mustCreate(t, s.Store, newDraft("z", threadA))
	if got, want := ids(sup), []string{"s", "c", "a", "b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("superseded = %v, want %v (oldest first)", got, want)
	}
	pending, err := s.DraftsByState(ctx, conversation.DraftPending)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pending); !reflect.DeepEqual(got, []string{"z"}) {
		t.Errorf("pending after create = %v, want [z]", got)
	}
}

func TestCreateDraft_Errors(t *testing.T) {
	ctx := context.Background()
	s := mustOpenDrafts(t)
	mustCreate(t, s.Store, newDraft("d1", threadA))
	stored := mustDraft(t, s.Store, "d1")
	dup := newDraft("d1", threadA)
	dup.Text = "replacement"
	noThread := newDraft("d3", "")
	tests := []struct {
		name string
		d    conversation.Draft
		is   error
	}{
		{"ErrNoID", newDraft("", threadA), nil},
		{"ErrNoThread", noThread, nil},
		{"ErrExists", dup, storage.ErrDraftExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sup, err := s.CreateDraft(ctx, tt.d)
			if err == nil || sup != nil {
				t.Fatalf("CreateDraft = %v, %v; want an error", ids(sup), err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v does not match %v", err, tt.is)
			}
			if !strings.HasPrefix(err.Error(), "create draft ") {
				t.Errorf("error %q is not wrapped as create draft", err)
			}
		})
	}
	if got := mustDraft(t, s.Store, "d1"); !reflect.DeepEqual(got, stored) {
		t.Errorf("refused creates changed d1: %s", mustJSON(t, got))
	}
	if recs := mustAudit(t, s.Store, time.Time{}); len(recs) != 0 {
		t.Errorf("refused creates wrote audit: %s", mustJSON(t, recs))
	}
}

func TestDraft_NotFound(t *testing.T) {
	s := MustOpen(t)
	_, err := s.Draft(context.Background(), "missing")
	if !errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("Draft(missing) error = %v, want ErrNotFound", err)
	}
}

func TestUpdateDraft(t *testing.T) {
	ctx := context.Background()
	s := mustOpenDrafts(t)
	mustCreate(t, s.Store, newDraft("d1", threadA))
	s.advance(time.Minute)
	now := s.now()

	got, err := s.UpdateDraft(ctx, "d1", claim)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != conversation.DraftSending || !got.Updated.Equal(now) || !got.Created.Equal(draftStart) {
		t.Errorf("updated draft: state %s created %s updated %s", got.State, got.Created, got.Updated)
	}
	if stored := mustDraft(t, s.Store, "d1"); !reflect.DeepEqual(stored, got) {
		t.Errorf("stored draft differs from returned:\n%s\n%s", mustJSON(t, stored), mustJSON(t, got))
	}
	want := conversation.AuditRecord{
		Time: now, DraftID: "d1", Kind: conversation.DraftReply, Thread: threadA, Action: "approve",
		By: "U9", ByName: "Rita", From: conversation.DraftPending, To: conversation.DraftSending,
		SentText: got.Text,
	}
	if recs := mustAudit(t, s.Store, time.Time{}); len(recs) != 1 || !reflect.DeepEqual(recs[0], want) {
		t.Errorf("audit = %s\nwant [%s]", mustJSON(t, recs), mustJSON(t, want))
	}

	// A second claim conflicts, exactly as fn said, and writes nothing.
	s.advance(time.Minute)
	if _, err := s.UpdateDraft(ctx, "d1", claim); err != conversation.ErrConflict {
		t.Errorf("second claim error = %v, want ErrConflict as is", err)
	}
	if stored := mustDraft(t, s.Store, "d1"); !reflect.DeepEqual(stored, got) {
		t.Errorf("conflict changed the draft: %s", mustJSON(t, stored))
	}
	if recs := mustAudit(t, s.Store, time.Time{}); len(recs) != 1 {
		t.Errorf("conflict wrote audit: %d records", len(recs))
	}
}

func TestUpdateDraft_RecordFieldsKept(t *testing.T) {
	ctx := context.Background()
	s := mustOpenDrafts(t)
	mustCreate(t, s.Store, newDraft("d1", threadA))
	at := draftStart.Add(-time.Hour)
	rec := conversation.AuditRecord{Time: at, DraftID: "other", Kind: conversation.DraftTool,
		Thread: "discord/G1/C1/5", Action: "reject", From: conversation.DraftSending, To: conversation.DraftSent,
		Reason: "wrong order"}
	if _, err := s.UpdateDraft(ctx, "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		d.State = conversation.DraftRejected
		return &rec, nil
	}); err != nil {
		t.Fatal(err)
	}
	if recs := mustAudit(t, s.Store, time.Time{}); len(recs) != 1 || !reflect.DeepEqual(recs[0], rec) {
		t.Errorf("audit = %s\nwant [%s]", mustJSON(t, recs), mustJSON(t, rec))
	}
}

func TestUpdateDraft_Errors(t *testing.T) {
	ctx := context.Background()
	s := mustOpenDrafts(t)
	mustCreate(t, s.Store, newDraft("d1", threadA))
	stored := mustDraft(t, s.Store, "d1")
	s.advance(time.Minute)
	errFn := errors.New("card post failed")
	tests := []struct {
		name string
		id   string
		fn   func(d *conversation.Draft) (*conversation.AuditRecord, error)
		same error // returned as is
		is   error // matched by errors.Is
	}{
		{"ErrNotFound", "missing", claim, nil, conversation.ErrNotFound},
		{"ErrFn", "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
			d.Text, d.State = "changed", conversation.DraftSent
			return &conversation.AuditRecord{Action: "edit"}, errFn
		}, errFn, errFn},
		{"ErrWrappedConflict", "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
			d.State = conversation.DraftSent
			return nil, errors.Join(errors.New("already sent"), conversation.ErrConflict)
		}, nil, conversation.ErrConflict},
		{"ErrIDChange", "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
			d.ID = "d2"
			return &conversation.AuditRecord{Action: "edit"}, nil
		}, nil, nil},
		{"ErrThreadChange", "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
			d.Thread = threadAPrefix
			return &conversation.AuditRecord{Action: "edit"}, nil
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.UpdateDraft(ctx, tt.id, tt.fn)
			switch {
			case err == nil:
				t.Fatal("UpdateDraft succeeded")
			case tt.same != nil && err != tt.same:
				t.Errorf("error = %v, want fn's error as is", err)
			case tt.is != nil && !errors.Is(err, tt.is):
				t.Errorf("error = %v, want errors.Is %v", err, tt.is)
			case tt.is == nil && errors.Is(err, conversation.ErrConflict):
				t.Errorf("refused change reported as conflict: %v", err)
			}
		})
	}
	if got := mustDraft(t, s.Store, "d1"); !reflect.DeepEqual(got, stored) {
		t.Errorf("failed updates changed d1: %s", mustJSON(t, got))
	}
	for _, id := range []string{"d2", "missing"} {
		if _, err := s.Draft(ctx, id); !errors.Is(err, conversation.ErrNotFound) {
			t.Errorf("draft %s exists after failed updates: %v", id, err)
		}
	}
	if recs := mustAudit(t, s.Store, time.Time{}); len(recs) != 0 {
		t.Errorf("failed updates wrote audit: %s", mustJSON(t, recs))
	}
	// d1 is still indexed as pending: a new draft supersedes it.
	if sup := mustCreate(t, s.Store, newDraft("d3", threadA)); !reflect.DeepEqual(ids(sup), []string{"d1"}) {
		t.Errorf("superseded = %v, want [d1]", ids(sup))
	}
}

func TestUpdateDraft_Race(t *testing.T) {
	ctx := context.Background()
	s := mustOpenDrafts(t)
	const drafts, racers = 8, 8
	for i := range drafts {
		mustCreate(t, s.Store, newDraft(string(rune('a'+i)), conversation.ThreadKey("slack/T1/C1/"+string(rune('a'+i)))))
	}
	var (
		wg        sync.WaitGroup
		start     = make(chan struct{})
		mu        sync.Mutex
		wins      = map[string]int{}
		conflicts int
	)
	for i := range drafts * racers {
		id := string(rune('a' + i%drafts))
		wg.Go(func() {
			<-start
			_, err := s.UpdateDraft(ctx, id, claim)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins[id]++
			case errors.Is(err, conversation.ErrConflict):
				conflicts++
			default:
				t.Errorf("claim %s: %v", id, err)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range drafts {
		id := string(rune('a' + i))
		if wins[id] != 1 {
			t.Errorf("draft %s claimed %d times, want 1", id, wins[id])
		}
		if d := mustDraft(t, s.Store, id); d.State != conversation.DraftSending {
			t.Errorf("draft %s state = %s", id, d.State)
		}
	}
	if want := drafts * (racers - 1); conflicts != want {
		t.Errorf("%d conflicts, want %d", conflicts, want)
	}
	if recs := mustAudit(t, s.Store, time.Time{}); len(recs) != drafts {
		t.Errorf("%d audit records, want %d", len(recs), drafts)
	}
}

func TestDraftsByState(t *testing.T) {
	ctx := context.Background()
	s := mustOpenDrafts(t)
	// Each draft in its own thread, so none supersedes another; inserted
	// neither in ID nor in Created order.
	add := []struct {
		id      string
		state   conversation.DraftState
		created time.Duration
	}{
		{"m", conversation.DraftPending, 3 * time.Minute},
		{"k", conversation.DraftSending, 1 * time.Minute},
		{"z", conversation.DraftPending, 1 * time.Minute},
		{"b", conversation.DraftSent, 2 * time.Minute},
		{"a", conversation.DraftPending, 5 * time.Minute},
		{"y", conversation.DraftPending, 1 * time.Minute},
	}
	for _, a := range add {
		d := newDraft(a.id, conversation.ThreadKey("discord/G1/C1/"+a.id))
		d.State, d.Created = a.state, draftStart.Add(a.created)
		mustCreate(t, s.Store, d)
	}
	tests := []struct {
		name   string
		states []conversation.DraftState
		want   []string
	}{
		{"Pending", []conversation.DraftState{conversation.DraftPending}, []string{"y", "z", "m", "a"}},
		{"Two", []conversation.DraftState{conversation.DraftSending, conversation.DraftSent}, []string{"k", "b"}},
		{"Three", []conversation.DraftState{conversation.DraftSent, conversation.DraftPending, conversation.DraftSending},
			[]string{"k", "y", "z", "b", "m", "a"}},
		{"NoMatch", []conversation.DraftState{conversation.DraftRejected}, []string{}},
		{"NoStates", nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DraftsByState(ctx, tt.states...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tt.want) {
				t.Errorf("DraftsByState(%v) = %v, want %v", tt.states, ids(got), tt.want)
			}
		})
	}
}

// mustAuditAt appends an audit record at time at for draft id by a no-op
// update, and returns the record as stored.
func mustAuditAt(tb testing.TB, s *storage.Store, id string, action conversation.AuditAction, at time.Time) conversation.AuditRecord {
	tb.Helper()
	rec := conversation.AuditRecord{Time: at, Action: action, Reason: "check <@U1> & \"quotes\""}
	if _, err := s.UpdateDraft(context.Background(), id, func(*conversation.Draft) (*conversation.AuditRecord, error) {
		return &rec, nil
	}); err != nil {
		tb.Fatal(err)
	}
	rec.DraftID, rec.Kind, rec.Thread = id, conversation.DraftReply, threadA
	rec.From, rec.To = conversation.DraftPending, conversation.DraftPending
	return rec
}

// auditFixture stores records at times out of insertion order, two of them at
// the same time, and returns them in the order Audit must report them.
func auditFixture(tb testing.TB, s *storage.Store) []conversation.AuditRecord {
	tb.Helper()
	mustCreate(tb, s, newDraft("d1", threadA))
	t0 := draftStart.Add(-24 * time.Hour)
	r3 := mustAuditAt(tb, s, "d1", "third", t0.Add(2*time.Hour))
	r1 := mustAuditAt(tb, s, "d1", "first", t0)
	r2a := mustAuditAt(tb, s, "d1", "second-a", t0.Add(time.Hour))
	r2b := mustAuditAt(tb, s, "d1", "second-b", t0.Add(time.Hour))
	return []conversation.AuditRecord{r1, r2a, r2b, r3}
}

func TestAudit_Since(t *testing.T) {
	s := mustOpenDrafts(t)
	all := auditFixture(t, s.Store)
	t0 := all[0].Time
	tests := []struct {
		name  string
		since time.Time
		want  []conversation.AuditRecord
	}{
		{"Zero", time.Time{}, all},
		{"Before1970", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC), all},
		{"Inclusive", t0.Add(time.Hour), all[1:]},
		{"Between", t0.Add(time.Hour + time.Nanosecond), all[3:]},
		{"Last", t0.Add(2 * time.Hour), all[3:]},
		{"After", t0.Add(2*time.Hour + time.Nanosecond), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustAudit(t, s.Store, tt.since); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Audit(%s) =\n%s\nwant\n%s", tt.since, mustJSON(t, got), mustJSON(t, tt.want))
			}
		})
	}
}

func TestExportAudit(t *testing.T) {
	ctx := context.Background()
	s := mustOpenDrafts(t)
	all := auditFixture(t, s.Store)
	var buf bytes.Buffer
	if err := s.ExportAudit(ctx, all[1].Time, &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `check <@U1> & \"quotes\"`) {
		t.Errorf("export escapes markup:\n%s", buf.String())
	}
	var got []conversation.AuditRecord
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var rec conversation.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, rec)
	}
	if want := all[1:]; !reflect.DeepEqual(got, want) {
		t.Errorf("exported lines =\n%s\nwant\n%s", mustJSON(t, got), mustJSON(t, want))
	}

	errWrite := errors.New("disk full")
	if err := s.ExportAudit(ctx, time.Time{}, failingWriter{errWrite}); !errors.Is(err, errWrite) {
		t.Errorf("export to a failing writer: error = %v, want %v", err, errWrite)
	}
}

// failingWriter fails every write with err.
type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestDrafts_RestartKeepsDraftsAndIndex(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	now, advance := fixedClock(draftStart)
	opts := storage.Options{NoSync: true, Now: now}
	s := storagetest.MustOpenAt(t, path, opts)
	mustCreate(t, s, newDraft("d1", threadA))
	advance(time.Minute)
	mustCreate(t, s, newDraft("d2", threadA))
	if _, err := s.UpdateDraft(ctx, "d2", claim); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	mustCreate(t, s, newDraft("d3", threadA))
	wantDrafts := []conversation.Draft{mustDraft(t, s, "d1"), mustDraft(t, s, "d2"), mustDraft(t, s, "d3")}
	wantAudit := mustAudit(t, s, time.Time{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = storagetest.MustOpenAt(t, path, opts)
	all, err := s.DraftsByState(ctx, conversation.DraftPending, conversation.DraftSending, conversation.DraftSuperseded)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(all, wantDrafts) {
		t.Errorf("drafts after restart:\n%s\nwant\n%s", mustJSON(t, all), mustJSON(t, wantDrafts))
	}
	if got := mustAudit(t, s, time.Time{}); !reflect.DeepEqual(got, wantAudit) || len(got) != 2 {
		t.Errorf("audit after restart:\n%s\nwant 2 records:\n%s", mustJSON(t, got), mustJSON(t, wantAudit))
	}
	advance(time.Minute)
	if sup := mustCreate(t, s, newDraft("d4", threadA)); !reflect.DeepEqual(ids(sup), []string{"d3"}) {
		t.Errorf("superseded after restart = %v, want [d3]", ids(sup))
	}
}

// writeV1File writes a database as the version 1 schema left it: its eight
// buckets, one thread record and schema version 1.
func writeV1File(tb testing.TB, path string, th conversation.Thread) {
	tb.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{"meta", "threads", "messages", "refs", "events", "events_by_time", "settings", "usage"} {
			if _, err := tx.CreateBucket([]byte(name)); err != nil {
				return err
			}
		}
		data, err := json.Marshal(th)
		if err != nil {
			return err
		}
		if err := tx.Bucket([]byte("threads")).Put([]byte(th.Key), data); err != nil {
			return err
		}
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), []byte{0, 0, 0, 0, 0, 0, 0, 1})
	})
	if err != nil {
		tb.Fatalf("write v1 file: %v", err)
	}
}

func TestMigrate_V1ToV2(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	th := conversation.Thread{Key: threadA, Active: true, Generation: 2, Created: draftStart, Updated: draftStart}
	writeV1File(t, path, th)
	if got := storage.FileSchemaVersion(t, path); got != 1 {
		t.Fatalf("fixture schema version = %d", got)
	}

	s := storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
	if got, err := s.Thread(ctx, threadA); err != nil || !reflect.DeepEqual(got, th) {
		t.Errorf("v1 thread after migration = %+v, %v; want %+v", got, err, th)
	}
	if got := s.BucketLen(t, "drafts", "drafts_by_thread", "audit"); !reflect.DeepEqual(got, []int{0, 0, 0}) {
		t.Errorf("new bucket sizes = %v, want empty buckets", got)
	}
	mustCreate(t, s, newDraft("d1", threadA))
	if _, err := s.UpdateDraft(ctx, "d1", claim); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := storage.FileSchemaVersion(t, path); got != storage.LatestSchema {
		t.Errorf("schema version after migration = %d, want %d", got, storage.LatestSchema)
	}

	s = storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
	if d := mustDraft(t, s, "d1"); d.State != conversation.DraftSending {
		t.Errorf("draft after reopen: state %s", d.State)
	}
	if recs := mustAudit(t, s, time.Time{}); len(recs) != 1 {
		t.Errorf("audit after reopen: %d records, want 1", len(recs))
	}
}

func TestDrafts_CanceledContext(t *testing.T) {
	s := mustOpenDrafts(t)
	mustCreate(t, s.Store, newDraft("d1", threadA))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"CreateDraft": func() error { _, err := s.CreateDraft(ctx, newDraft("d2", threadA)); return err },
		"Draft":       func() error { _, err := s.Draft(ctx, "d1"); return err },
		"UpdateDraft": func() error { _, err := s.UpdateDraft(ctx, "d1", claim); return err },
		"DraftsByState": func() error {
			_, err := s.DraftsByState(ctx, conversation.DraftPending)
			return err
		},
		"Audit":       func() error { _, err := s.Audit(ctx, time.Time{}); return err },
		"ExportAudit": func() error { return s.ExportAudit(ctx, time.Time{}, &bytes.Buffer{}) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with canceled ctx: error = %v, want context.Canceled", name, err)
		}
	}
	if d := mustDraft(t, s.Store, "d1"); d.State != conversation.DraftPending {
		t.Errorf("d1 changed despite canceled ctx: %s", d.State)
	}
	if _, err := s.Draft(context.Background(), "d2"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("d2 written despite canceled ctx: %v", err)
	}
}
