package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"kimibot/conversation"
)

// Item returns an inbox item for thread th with the given dedupe keys.
func Item(id string, th conversation.ThreadKey, keys ...string) conversation.InboxItem {
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

// PendingIDs lists the IDs of the pending items in order.
func PendingIDs(tb testing.TB, s conversation.InboxStore) []string {
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

func testInbox(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := context.Background()
	for _, id := range []string{"e3", "e1", "e2"} {
		MustAccept(t, s, Item(id, "slack/T/C/"+conversation.ThreadKey(id), "slack:"+id))
	}
	if got := PendingIDs(t, s); !reflect.DeepEqual(got, []string{"e3", "e1", "e2"}) {
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
	if items, _ := s.Pending(ctx); items[1].Attempts != 2 {
		t.Errorf("pending attempts = %d, want 2", items[1].Attempts)
	}
	if err := s.Done(ctx, "e1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Done(ctx, "e1"); err != nil {
		t.Errorf("second Done: %v", err)
	}
	if got := PendingIDs(t, s); !reflect.DeepEqual(got, []string{"e3", "e2"}) {
		t.Fatalf("pending after Done = %v", got)
	}
	if _, err := s.Begin(ctx, "e1"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Begin of a done item: %v, want ErrNotFound", err)
	}
	for _, bad := range []conversation.InboxItem{Item("", "k/1"), Item("x", "")} {
		if _, err := s.Accept(ctx, bad); err == nil {
			t.Errorf("Accept(%+v) succeeded", bad)
		}
	}
}

func testInboxDuplicates(t *testing.T, open Opener) {
	tests := []struct {
		name   string
		first  conversation.InboxItem
		marked []string
		second conversation.InboxItem
		dup    bool
		// unrecorded is a key of the refused second item that must not
		// have been recorded.
		unrecorded string
	}{
		{"SameKey", Item("a", "k/1", "ev1", "C:1"), nil, Item("b", "k/1", "ev2", "C:1"), true, "ev2"},
		{"RetryOfEvent", Item("a", "k/1", "ev1"), nil, Item("b", "k/1", "ev1"), true, ""},
		{"SameID", Item("a", "k/1", "ev1"), nil, Item("a", "k/1", "ev2"), true, "ev2"},
		{"MarkedFirst", Item("x", "k/0", "other"), []string{"ev9"}, Item("b", "k/1", "ev8", "ev9"), true, "ev8"},
		{"Different", Item("a", "k/1", "ev1"), nil, Item("b", "k/1", "ev2"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, Options{})
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
			if got := len(PendingIDs(t, s)); got != want {
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

// testInboxConcurrentAccept delivers each event three times at once, as
// replicas receiving the same retried event do: each is stored once.
func testInboxConcurrentAccept(t *testing.T, open Opener) {
	s := open(t, Options{})
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
				it := Item(fmt.Sprintf("e%d-%d", e, d), "k/1", fmt.Sprintf("ev%d", e), fmt.Sprintf("C:%d", e))
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
}

func testReplies(t *testing.T, open Opener) {
	s := open(t, Options{})
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
	open2, err := s.OpenReplies(ctx)
	if err != nil || len(open2) != 2 || open2[0].ID != "r2" || open2[1].ID != "r1" || len(open2[1].Refs) != 2 ||
		open2[0].State != conversation.ReplyStreaming {
		t.Fatalf("open replies = %+v, %v; want r2 (streaming) then r1 with its refs", open2, err)
	}
	if err := s.OpenReply(ctx, conversation.ReplyRecord{ID: "r4"}); err == nil {
		t.Error("OpenReply accepted a record without a thread")
	}
}

// testInboxIncomplete refuses items and replies that lack an ID or a thread.
func testInboxIncomplete(t *testing.T, open Opener) {
	s := open(t, Options{})
	for _, it := range []conversation.InboxItem{{Thread: "k/1"}, {ID: "a"}} {
		if _, err := s.Accept(context.Background(), it); err == nil {
			t.Errorf("Accept(%+v) succeeded", it)
		}
	}
	if got := PendingIDs(t, s); len(got) != 0 {
		t.Errorf("pending = %v, want none", got)
	}
	if err := s.OpenReply(context.Background(), conversation.ReplyRecord{ID: "r4"}); err == nil {
		t.Error("OpenReply accepted a record without a thread")
	}
}
