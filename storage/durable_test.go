package storage_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
	"kimibot/storage/storetest"
)

// item, MustAccept and pendingIDs are the conformance suite's helpers.
var (
	item       = storetest.Item
	MustAccept = storetest.MustAccept
	pendingIDs = storetest.PendingIDs
)

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
