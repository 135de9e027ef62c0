package storage_test

import (
	"context"
	"testing"
	"time"

	"kimibot/storage"
	"kimibot/storage/storagetest"
)

func TestMarkProcessed_DefaultTTLAndClock(t *testing.T) {
	now, advance := fixedClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := storagetest.MustOpenAt(t, tempDB(t), storage.Options{NoSync: true, Now: now})
	ctx := context.Background()
	if dup, err := s.MarkProcessed(ctx, time.Time{}, "Ev1"); err != nil || dup {
		t.Fatalf("first mark = %t, %v", dup, err)
	}
	advance(storage.DefaultEventTTL)
	if dup, err := s.MarkProcessed(ctx, time.Time{}, "Ev1"); err != nil || !dup {
		t.Errorf("mark after exactly the default TTL = %t, %v; want dup", dup, err)
	}
	advance(time.Second)
	if dup, err := s.MarkProcessed(ctx, time.Time{}, "Ev1"); err != nil || dup {
		t.Errorf("mark after the default TTL = %t, %v; want new", dup, err)
	}
}

func TestExpireProcessed(t *testing.T) {
	ctx := context.Background()
	s := storagetest.MustOpenAt(t, tempDB(t), storage.Options{NoSync: true, EventTTL: time.Hour})
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for i, id := range []string{"a", "b", "c", "d"} {
		if _, err := s.MarkProcessed(ctx, t0.Add(time.Duration(i)*time.Minute), id); err != nil {
			t.Fatal(err)
		}
	}
	// "a" is renewed after its TTL, so its old index entry must not delete it.
	if dup, err := s.MarkProcessed(ctx, t0.Add(2*time.Hour), "a"); err != nil || dup {
		t.Fatalf("renew a = %t, %v", dup, err)
	}

	n, err := s.ExpireProcessed(ctx, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("expired %d, want 1 (b)", n)
	}
	if got := s.BucketLen(t, "events", "events_by_time"); got[0] != 3 || got[1] != 3 {
		t.Errorf("events, index sizes = %v, want [3 3]", got)
	}
	// b is forgotten; c and the renewed a are still duplicates within their TTL.
	at := t0.Add(2*time.Hour + time.Minute)
	for id, want := range map[string]bool{"b": false, "a": true} {
		if dup, err := s.MarkProcessed(ctx, at, id); err != nil || dup != want {
			t.Errorf("mark %s after expiry = %t, %v; want %t", id, dup, err, want)
		}
	}
	if dup, _ := s.MarkProcessed(ctx, t0.Add(30*time.Minute), "c"); !dup {
		t.Error("c was expired although recorded after the cutoff")
	}
	n, err = s.ExpireProcessed(ctx, t0.Add(24*time.Hour))
	if err != nil || n != 4 {
		t.Errorf("expire all = %d, %v; want 4", n, err)
	}
	if got := s.BucketLen(t, "events", "events_by_time"); got[0] != 0 || got[1] != 0 {
		t.Errorf("after expiring all: sizes = %v, want [0 0]", got)
	}
}

func TestRunExpiry(t *testing.T) {
	now, _ := fixedClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := storagetest.MustOpenAt(t, tempDB(t), storage.Options{NoSync: true, EventTTL: time.Hour, Now: now})
	ctx, cancel := context.WithCancel(context.Background())
	for _, m := range []struct {
		id string
		at time.Time
	}{{"old", now().Add(-2 * time.Hour)}, {"fresh", now().Add(-time.Minute)}} {
		if _, err := s.MarkProcessed(ctx, m.at, m.id); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.RunExpiry(ctx, time.Millisecond)
	}()
	waitFor(t, func() bool { return s.BucketLen(t, "events")[0] == 1 })
	cancel()
	<-done
	if dup, err := s.MarkProcessed(context.Background(), now(), "fresh"); err != nil || !dup {
		t.Errorf("fresh event after expiry runs = %t, %v; want dup", dup, err)
	}
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(tb testing.TB, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatal("condition not met before the deadline")
		}
		time.Sleep(time.Millisecond)
	}
}
