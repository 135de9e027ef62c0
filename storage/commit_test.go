package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// MustCommitter opens a bbolt file with one bucket and returns a committer
// on it.
func MustCommitter(tb testing.TB) *committer {
	tb.Helper()
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "c.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		tb.Fatal(err)
	}
	return &committer{db: db}
}

func put(k string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(k), []byte(k)) }
}

func keys(tb testing.TB, c *committer) []string {
	tb.Helper()
	var out []string
	err := c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("b")).ForEach(func(k, _ []byte) error { out = append(out, string(k)); return nil })
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestCommitterSharesTransactions holds the first transaction open while
// more writes arrive, and checks that they are all committed, in fewer
// transactions than writes.
func TestCommitterSharesTransactions(t *testing.T) {
	c := MustCommitter(t)
	before := writeTxs(c)
	entered, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		err := c.do(func(tx *bolt.Tx) error {
			close(entered)
			<-release
			return put("first")(tx)
		})
		if err != nil {
			t.Error(err)
		}
	})
	<-entered
	const n = 20
	for i := range n {
		wg.Go(func() {
			if err := c.do(put(fmt.Sprintf("k%02d", i))); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, c, n)
	close(release)
	wg.Wait()
	if got := len(keys(t, c)); got != n+1 {
		t.Fatalf("stored %d keys, want %d", got, n+1)
	}
	// One transaction commits "first", one the writes that queued behind it.
	if got := writeTxs(c) - before; got != 2 {
		t.Fatalf("write transactions = %d, want 2", got)
	}
}

// writeTxs counts the write transactions committed so far.
func writeTxs(c *committer) int {
	var n int
	_ = c.db.View(func(tx *bolt.Tx) error { n = int(tx.ID()); return nil })
	return n
}

// waitQueued waits until n writes wait for the committer; the queue is
// checked whenever the goroutines yield.
func waitQueued(tb testing.TB, c *committer, n int) {
	tb.Helper()
	for {
		c.mu.Lock()
		queued := len(c.queue)
		c.mu.Unlock()
		if queued >= n {
			return
		}
		runtime.Gosched()
	}
}

// TestCommitterIsolatesFailures checks that a failing write gets its own
// error and nothing of it is stored, that a panic becomes an error, and
// that the writes sharing their transaction are committed.
func TestCommitterIsolatesFailures(t *testing.T) {
	c := MustCommitter(t)
	entered, release := make(chan struct{}), make(chan struct{})
	boom := errors.New("boom")
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = c.do(func(tx *bolt.Tx) error { close(entered); <-release; return nil })
	})
	<-entered
	results := make([]error, 6)
	fns := []func(*bolt.Tx) error{
		put("a"),
		func(tx *bolt.Tx) error { _ = put("bad")(tx); return boom },
		put("b"),
		func(tx *bolt.Tx) error { _ = put("panic")(tx); panic("oops") },
		put("c"),
		put("d"),
	}
	for i, fn := range fns {
		wg.Go(func() { results[i] = c.do(fn) })
		waitQueued(t, c, i+1)
	}
	close(release)
	wg.Wait()
	if !errors.Is(results[1], boom) {
		t.Errorf("failing write returned %v, want %v", results[1], boom)
	}
	if results[3] == nil || !strings.Contains(results[3].Error(), "panic in write: oops") {
		t.Errorf("panicking write returned %v", results[3])
	}
	for _, i := range []int{0, 2, 4, 5} {
		if results[i] != nil {
			t.Errorf("write %d returned %v", i, results[i])
		}
	}
	if got, want := strings.Join(keys(t, c), ","), "a,b,c,d"; got != want {
		t.Fatalf("stored %s, want %s", got, want)
	}
}

// BenchmarkCommitterConcurrentWrites measures writes from 64 goroutines at
// once and reports how many shared each transaction.
func BenchmarkCommitterConcurrentWrites(b *testing.B) {
	c := MustCommitter(b)
	before := writeTxs(c)
	var seq sync.Mutex
	n := 0
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			seq.Lock()
			n++
			k := fmt.Sprintf("k%09d", n)
			seq.Unlock()
			if err := c.do(put(k)); err != nil {
				b.Error(err)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/float64(writeTxs(c)-before), "writes/tx")
}
