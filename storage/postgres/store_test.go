package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage/postgres"
	"kimibot/storage/postgres/pgtest"
	"kimibot/storage/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// MustOpen opens a store on a fresh database of the test server and
// closes it when the test ends.
func MustOpen(t testing.TB, opts postgres.Options) *postgres.Store {
	t.Helper()
	return MustOpenURL(t, pgtest.MustDatabase(t), opts)
}

// MustOpenURL opens a store on the database at url.
func MustOpenURL(t testing.TB, url string, opts postgres.Options) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConformance runs the store conformance suite against PostgreSQL.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, o storetest.Options) storetest.Store {
		return MustOpen(t, postgres.Options{EventTTL: o.EventTTL, Now: o.Now})
	})
}

// TestBudgetsShareALimit takes a budget of 5 a window from two stores on
// one database, as two replicas do: together they get 5, then a wait.
func TestBudgetsShareALimit(t *testing.T) {
	url := pgtest.MustDatabase(t)
	a := MustOpenURL(t, url, postgres.Options{}).Budgets()
	b := MustOpenURL(t, url, postgres.Options{}).Budgets()
	ctx := context.Background()
	const window = time.Minute
	taken := 0
	for i := range 8 {
		bud := a
		if i%2 == 1 {
			bud = b
		}
		wait, err := bud.Take(ctx, "slack:T1:chat.update", 5, window)
		if err != nil {
			t.Fatal(err)
		}
		if wait == 0 {
			taken++
		} else if wait > window {
			t.Errorf("wait %s is longer than the window", wait)
		}
	}
	if taken != 5 {
		t.Errorf("replicas together took %d of a budget of 5", taken)
	}
	if wait, err := a.Take(ctx, "slack:T1:chat.postMessage", 5, window); err != nil || wait != 0 {
		t.Errorf("another key: wait %s, %v", wait, err)
	}
}

// TestLeasesOneHolderAtATime has two replicas compete for one lease: the
// second gets it only after the first releases it or lets it expire.
func TestLeasesOneHolderAtATime(t *testing.T) {
	url := pgtest.MustDatabase(t)
	a := MustOpenURL(t, url, postgres.Options{}).Leases("a")
	b := MustOpenURL(t, url, postgres.Options{}).Leases("b")
	ctx := context.Background()
	mustLease := func(l *postgres.Leases, ttl time.Duration, want bool) {
		t.Helper()
		got, err := l.Acquire(ctx, "thread:k/1", ttl)
		if err != nil || got != want {
			t.Fatalf("%s Acquire = %v, %v; want %v", l.Holder(), got, err, want)
		}
	}
	mustLease(a, time.Minute, true)
	mustLease(b, time.Minute, false)
	mustLease(a, time.Minute, true) // renewal
	if held, err := b.Held(ctx); err != nil || !held["thread:k/1"] {
		t.Fatalf("Held = %v, %v", held, err)
	}
	if err := b.Release(ctx, "thread:k/1"); err != nil {
		t.Fatal(err)
	}
	mustLease(b, time.Minute, false) // b's release does not free a's lease
	if err := a.Release(ctx, "thread:k/1"); err != nil {
		t.Fatal(err)
	}
	mustLease(b, time.Millisecond, true)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if held, _ := a.Held(ctx); !held["thread:k/1"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("lease never expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
	mustLease(a, time.Minute, true) // expired: taken over
}

// TestConcurrentAcceptAcrossReplicas delivers each event to three stores
// on one database at once: each event is stored once.
func TestConcurrentAcceptAcrossReplicas(t *testing.T) {
	url := pgtest.MustDatabase(t)
	var stores []*postgres.Store
	for range 3 {
		stores = append(stores, MustOpenURL(t, url, postgres.Options{}))
	}
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		fresh atomic.Int32
	)
	for e := range 30 {
		for i, s := range stores {
			wg.Go(func() {
				dup, err := s.Accept(ctx, conversation.InboxItem{ID: fmt.Sprintf("ev%d", e), Thread: "k/1",
					DedupeKeys: []string{fmt.Sprintf("ev%d", e), fmt.Sprintf("C:%d.%d", e, i%2)}, Payload: []byte("{}")})
				if err != nil {
					t.Error(err)
				}
				if !dup {
					fresh.Add(1)
				}
			})
		}
	}
	wg.Wait()
	items, err := stores[0].Pending(ctx)
	if err != nil || len(items) != 30 || fresh.Load() != 30 {
		t.Fatalf("pending %d (%v), accepted %d; want 30 each", len(items), err, fresh.Load())
	}
}
