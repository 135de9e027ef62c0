package storage_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"kimibot/conversation"
)

// TestConcurrentWritesShareTransactions writes from many goroutines at
// once, as many conversations do: every message lands once with its own
// sequence number, and of two accepts of one event exactly one wins.
func TestConcurrentWritesShareTransactions(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	const threads, perThread = 20, 10
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for i := range threads {
		key := conversation.ThreadKey(fmt.Sprintf("slack/T/C/%d", i))
		for j := range perThread {
			wg.Go(func() {
				if _, err := s.Append(ctx, key, conversation.Message{Role: conversation.RoleUser, Text: fmt.Sprint(j)}); err != nil {
					t.Error(err)
				}
			})
		}
		for range 2 {
			wg.Go(func() {
				dup, err := s.Accept(ctx, conversation.InboxItem{ID: fmt.Sprintf("ev%d", i), Thread: key, DedupeKeys: []string{fmt.Sprintf("k%d", i)}})
				if err != nil {
					t.Error(err)
				}
				if !dup {
					accepted.Add(1)
				}
			})
		}
	}
	wg.Wait()
	for i := range threads {
		msgs, err := s.Messages(ctx, conversation.ThreadKey(fmt.Sprintf("slack/T/C/%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uint64]bool{}
		for _, m := range msgs {
			seen[m.Seq] = true
		}
		if len(msgs) != perThread || len(seen) != perThread {
			t.Fatalf("thread %d has %d messages with %d distinct sequence numbers, want %d", i, len(msgs), len(seen), perThread)
		}
	}
	if n := accepted.Load(); n != threads {
		t.Fatalf("%d events accepted, want %d", n, threads)
	}
	pending, err := s.Pending(ctx)
	if err != nil || len(pending) != threads {
		t.Fatalf("pending = %d items (%v), want %d", len(pending), err, threads)
	}
}
