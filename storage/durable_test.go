package storage_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

// item returns an inbox item for thread th with the given dedupe keys.
func item(id string, th conversation.ThreadKey, keys ...string) conversation.InboxItem {
	return conversation.InboxItem{ID: id, Thread: th, DedupeKeys: keys, Payload: []byte(`{"text":"` + id + `"}`)}
}

// MustAccept accepts it and fails the test unless it was new.
func MustAccept(tb testing.TB, s conversation.InboxStore, it conversation.InboxItem) {
	tb.Helper()
	dup, err := s.Accept(context.Background(), it)
	if err != nil || dup {
		tb.Fatalf("Accept(%s) = dup %v, err %v; want a new item", it.ID, dup, err)
	}
}

// pendingIDs lists the IDs of the pending items in order.
func pendingIDs(tb testing.TB, s conversation.InboxStore) []string {
	tb.Helper()
	items, err := s.Pending(context.Background())
	if err != nil {
		tb.Fatalf("Pending: %v", err)
	}
	ids := []string{}
	for _, it := range items {
		ids = append(ids, it.ID)
	}
	return ids
}

func TestInboxAcceptPendingBeginDone(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	for _, id := range []string{"e3", "e1", "e2"} {
		MustAccept(t, s, item(id, "slack/T/C/"+conversation.ThreadKey(id), "slack:"+id))
	}
	if got := pendingIDs(t, s); !reflect.DeepEqual(got, []string{"e3", "e1", "e2"}) {
		t.Fatalf("pending = %v, want arrival order e3 e1 e2", got)
	}
	items, _ := s.Pending(ctx)
	first := items[0]
	if string(first.Payload) != `{"text":"e3"}` || first.Thread != "slack/T/C/e3" ||
		!reflect.DeepEqual(first.DedupeKeys, []string{"slack:e3"}) || first.Accepted.IsZero() || first.Seq == 0 {
		t.Errorf("stored item = %+v, want payload, thread, keys, time and sequence", first)
	}
	for want := 1; want <= 2; want++ {
		if got, err := s.Begin(ctx, "e1"); err != nil || got != want {
			t.Fatalf("Begin #%d = %d, %v", want, got, err)
		}
	}
	if err := s.Done(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(ctx, "e1"); err != nil {
		t.Errorf("second Done: %v", err)
	}
	if got := pendingIDs(t, s); !reflect.DeepEqual(got, []string{"e3", "e2"}) {
		t.Fatalf("pending after Done = %v", got)
	}
	if _, err := s.Begin(ctx, "e1"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Begin of a done item: %v, want ErrNotFound", err)
	}
}

func TestInboxAcceptDuplicates(t *testing.T) {
	tests := []struct {
		name  string
		first conversation.InboxItem
		// marked are keys recorded by MarkProcessed before anything else.
		marked []string
		second conversation.InboxItem
		dup    bool
		// unrecorded is a key of the refused second item that must not
		// have been recorded.
		unrecorded string
	}{
		{"SameKey", item("a", "k/1", "ev1", "C:1"), nil, item("b", "k/1", "ev2", "C:1"), true, "ev2"},
		{"RetryOfEvent", item("a", "k/1", "ev1"), nil, item("b", "k/1", "ev1"), true, ""},
		{"SameID", item("a", "k/1", "ev1"), nil, item("a", "k/1", "ev2"), true, "ev2"},
		{"MarkedFirst", item("x", "k/0", "other"), []string{"ev9"}, item("b", "k/1", "ev8", "ev9"), true, "ev8"},
		{"Different", item("a", "k/1", "ev1"), nil, item("b", "k/1", "ev2"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := MustOpen(t)
			ctx := context.Background()
			if len(tt.marked) > 0 {
				if _, err := s.MarkProcessed(ctx, time.Time{}, tt.marked...); err != nil {
					t.Fatal(err)
				}
			}
			MustAccept(t, s, tt.first)
			dup, err := s.Accept(ctx, tt.second)
			if err != nil || dup != tt.dup {
				t.Fatalf("second Accept = dup %v, err %v; want dup %v", dup, err, tt.dup)
			}
			want := 2
			if tt.dup {
				want = 1
			}
			if got := len(pendingIDs(t, s)); got != want {
				t.Errorf("pending = %d items, want %d", got, want)
			}
			if tt.unrecorded != "" {
				if dup, err := s.MarkProcessed(ctx, time.Time{}, tt.unrecorded); err != nil || dup {
					t.Errorf("key %s of a refused duplicate was recorded (dup %v, err %v)", tt.unrecorded, dup, err)
				}
			}
		})
	}
}

func TestInboxRejectsIncompleteItems(t *testing.T) {
	s := MustOpen(t)
	for _, it := range []conversation.InboxItem{{Thread: "k/1"}, {ID: "a"}} {
		if _, err := s.Accept(context.Background(), it); err == nil {
			t.Errorf("Accept(%+v) succeeded", it)
		}
	}
	if got := pendingIDs(t, s); len(got) != 0 {
		t.Errorf("pending = %v, want none", got)
	}
}

func TestDurableRecordsSurviveRestart(t *testing.T) {
	path := tempDB(t)
	ctx := context.Background()
	s := storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
	MustAccept(t, s, item("e1", "k/1", "ev1"))
	MustAccept(t, s, item("e2", "k/2", "ev2"))
	if _, err := s.Begin(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	ref := conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "1700.1"}
	if err := s.OpenReply(ctx, conversation.ReplyRecord{ID: "r1", Thread: "k/1", Item: "e1", Platform: "slack",
		Refs: []conversation.MsgRef{ref}, Mode: conversation.ReplyModeStream}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
	if got := pendingIDs(t, s); !reflect.DeepEqual(got, []string{"e1", "e2"}) {
		t.Fatalf("pending after restart = %v", got)
	}
	if n, err := s.Begin(ctx, "e1"); err != nil || n != 2 {
		t.Errorf("Begin after restart = %d, %v; want the second attempt", n, err)
	}
	if dup, err := s.Accept(ctx, item("e3", "k/1", "ev1")); err != nil || !dup {
		t.Errorf("redelivery after restart: dup %v, err %v; want a duplicate", dup, err)
	}
	open, err := s.OpenReplies(ctx)
	if err != nil || len(open) != 1 {
		t.Fatalf("open replies after restart = %+v, %v", open, err)
	}
	r := open[0]
	if r.ID != "r1" || r.Item != "e1" || r.State != conversation.ReplyStreaming || r.Mode != conversation.ReplyModeStream ||
		!reflect.DeepEqual(r.Refs, []conversation.MsgRef{ref}) || r.Started.IsZero() {
		t.Errorf("open reply = %+v", r)
	}
	// A second id for the next write needs the sequence to continue.
	MustAccept(t, s, item("e4", "k/4", "ev4"))
	items, _ := s.Pending(ctx)
	if items[len(items)-1].Seq <= items[len(items)-2].Seq {
		t.Errorf("sequence did not continue after restart: %+v", items)
	}
}

func TestReplyRecords(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, id := range []string{"r2", "r1", "r3"} {
		r := conversation.ReplyRecord{ID: id, Thread: "k/1", Platform: "discord", Mode: conversation.ReplyModeMessage,
			Started: base.Add(time.Duration(i) * time.Minute)}
		if err := s.OpenReply(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	grow := func(r *conversation.ReplyRecord) error {
		r.Refs = append(r.Refs, conversation.MsgRef{Platform: "discord", Channel: "C", ID: fmt.Sprint(len(r.Refs) + 1)})
		return nil
	}
	for range 2 {
		if _, err := s.UpdateReply(ctx, "r1", grow); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UpdateReply(ctx, "r1", func(r *conversation.ReplyRecord) error {
		r.State = conversation.ReplyDone
		return nil
	})
	if err != nil || len(got.Refs) != 2 || got.State != conversation.ReplyDone || got.Updated.IsZero() {
		t.Fatalf("UpdateReply = %+v, %v; want two refs and done", got, err)
	}
	stop := errors.New("stop")
	if _, err := s.UpdateReply(ctx, "r1", func(r *conversation.ReplyRecord) error {
		r.Refs = nil
		return stop
	}); err != stop {
		t.Errorf("UpdateReply with failing fn: %v, want the fn's error as is", err)
	}
	if _, err := s.UpdateReply(ctx, "r1", func(r *conversation.ReplyRecord) error { r.ID = "x"; return nil }); err == nil {
		t.Error("UpdateReply accepted a changed ID")
	}
	if _, err := s.UpdateReply(ctx, "nope", grow); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("UpdateReply of a missing record: %v, want ErrNotFound", err)
	}
	if err := s.CloseReply(ctx, "r3"); err != nil {
		t.Fatal(err)
	}
	if err := s.CloseReply(ctx, "r3"); err != nil {
		t.Errorf("second CloseReply: %v", err)
	}
	open, err := s.OpenReplies(ctx)
	if err != nil || len(open) != 2 || open[0].ID != "r2" || open[1].ID != "r1" || len(open[1].Refs) != 2 {
		t.Fatalf("open replies = %+v, %v; want r2 then r1 with its refs", open, err)
	}
	if err := s.OpenReply(ctx, conversation.ReplyRecord{ID: "r4"}); err == nil {
		t.Error("OpenReply accepted a record without a thread")
	}
}

func TestInboxConcurrentAccept(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	const events, deliveries = 40, 3
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fresh int
	)
	for e := range events {
		for d := range deliveries {
			wg.Go(func() {
				it := item(fmt.Sprintf("e%d-%d", e, d), "k/1", fmt.Sprintf("ev%d", e))
				dup, err := s.Accept(ctx, it)
				if err != nil {
					t.Error(err)
					return
				}
				if !dup {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	items, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fresh != events || len(items) != events {
		t.Fatalf("accepted %d, pending %d; want each of %d events once", fresh, len(items), events)
	}
	for i := 1; i < len(items); i++ {
		if items[i].Seq <= items[i-1].Seq {
			t.Fatalf("pending out of order at %d: %d after %d", i, items[i].Seq, items[i-1].Seq)
		}
	}
	for _, it := range items {
		wg.Go(func() {
			if _, err := s.Begin(ctx, it.ID); err != nil {
				t.Error(err)
			}
			if err := s.Done(ctx, it.ID); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := pendingIDs(t, s); len(got) != 0 {
		t.Errorf("pending after all done = %v", got)
	}
}

func TestMigrationFromVersion2(t *testing.T) {
	path := tempDB(t)
	s := storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
	if _, err := s.MarkProcessed(context.Background(), time.Time{}, "ev1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	storage.DropDurableBuckets(t, path)
	s = storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
	if dup, err := s.Accept(context.Background(), item("e1", "k/1", "ev1")); err != nil || !dup {
		t.Errorf("Accept after migration = dup %v, err %v; want the version 2 record to count", dup, err)
	}
	MustAccept(t, s, item("e2", "k/1", "ev2"))
}
