package storage_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"kimibot/conversation/conversationtest"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

// item, MustAccept and pendingIDs are the conformance suite's helpers.
var (
	item       = conversationtest.Item
	MustAccept = conversationtest.MustAccept
	pendingIDs = conversationtest.PendingIDs
)

func TestDurableConformance(t *testing.T) {
	conversationtest.TestDurable(t, conversationtest.Harness{
		Open: func(tb testing.TB) conversationtest.Durable { return MustOpen(tb) },
		Reopen: func(tb testing.TB, s conversationtest.Durable) conversationtest.Durable {
			old := s.(*storage.Store)
			if err := old.Close(); err != nil {
				tb.Fatal(err)
			}
			return storagetest.MustOpenAt(tb, old.Path(), storage.Options{NoSync: true})
		},
	})
}

func TestMigrationFromVersion2(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kimibot.db")
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
