package kimi

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
)

// tier0 is Moonshot's lowest account tier with the minute compressed: one
// request in flight and three per window.
func tier0(window time.Duration) (kimitest.Limits, Limits) {
	return kimitest.Limits{MaxConcurrency: 1, RequestsPerWindow: 3, Window: window},
		Limits{MaxConcurrency: 1, RequestsPerWindow: 3, Window: window}
}

func TestAdmissionKeepsTenStreamsWithinAccountLimits(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	fake, limits := tier0(300 * time.Millisecond)
	s.SetLimits(fake)
	c, _ := MustClient(t, s, func(cfg *Config) { cfg.Limits = limits })
	s.SetHandler(func(r *kimitest.Request) kimitest.Response {
		return kimitest.Response{Content: "answer to " + r.Chat.Messages[len(r.Chat.Messages)-1].Text(), ChunkSize: 4}
	})
	const n = 10
	var wg sync.WaitGroup
	got := make([]string, n)
	for i := range n {
		wg.Go(func() {
			got[i] = MustAnswer(t, c, chat("kimi-k2-turbo-preview", fmt.Sprintf("q%d", i))).content
		})
	}
	wg.Wait()
	for i, g := range got {
		if want := fmt.Sprintf("answer to q%d", i); g != want {
			t.Errorf("stream %d: %q, want %q", i, g, want)
		}
	}
	if v := s.Violations(); v != 0 {
		t.Errorf("fake refused %d requests over its limits, want 0", v)
	}
	if p := s.PeakConcurrency(); p != 1 {
		t.Errorf("peak concurrency at the fake = %d, want 1", p)
	}
	if r := len(s.ChatRequests()); r != n {
		t.Errorf("chat requests = %d, want %d (no refusals, no retries)", r, n)
	}
}

// holdFirst opens a stream that stays in flight, at the fake and in the
// client's admission, until the returned function is called.
func holdFirst(t *testing.T, c *Client, s *kimitest.Server) (done func()) {
	t.Helper()
	hold := make(chan struct{})
	s.Enqueue(kimitest.Response{Content: "held", Hold: hold})
	st, err := c.Stream(context.Background(), chat("kimi-k2-turbo-preview", "first"))
	if err != nil {
		t.Fatalf("first stream: %v", err)
	}
	return func() {
		close(hold)
		if _, err := collect(t, st); err != nil {
			t.Errorf("held stream: %v", err)
		}
	}
}

func TestAdmissionReportsQueuePositionsInOrder(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, func(cfg *Config) { cfg.Limits = Limits{MaxConcurrency: 1} })
	s.SetHandler(func(*kimitest.Request) kimitest.Response { return kimitest.Response{Content: "ok"} })
	release := holdFirst(t, c, s)

	const waiters = 3
	var (
		mu        sync.Mutex
		positions = make([][]int, waiters)
		wg        sync.WaitGroup
	)
	for i := range waiters {
		queued := make(chan struct{})
		wg.Go(func() {
			req := chat("kimi-k2-turbo-preview", fmt.Sprintf("w%d", i))
			req.OnQueued = func(ahead int) {
				mu.Lock()
				positions[i] = append(positions[i], ahead)
				first := len(positions[i]) == 1
				mu.Unlock()
				if first {
					close(queued)
				}
			}
			MustAnswer(t, c, req)
		})
		<-queued // each waiter joins the queue before the next one starts
	}
	release()
	wg.Wait()
	// Each waiter hears its place when it joins, then ever smaller places
	// while it still waits; one that wakes late may skip a place the queue
	// moved past, or go at once.
	for i, got := range positions {
		if len(got) == 0 || got[0] != i {
			t.Fatalf("waiter %d heard %v, want %d first", i, got, i)
		}
		for j := 1; j < len(got); j++ {
			if got[j] >= got[j-1] {
				t.Fatalf("waiter %d heard %v, want strictly falling places", i, got)
			}
		}
	}
}

func TestAdmissionCanceledWhileQueued(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, func(cfg *Config) { cfg.Limits = Limits{MaxConcurrency: 1} })
	release := holdFirst(t, c, s)
	ctx, cancel := context.WithCancel(context.Background())
	req := chat("kimi-k2-turbo-preview", "impatient")
	req.OnQueued = func(int) { cancel() }
	if _, err := c.Stream(ctx, req); err == nil {
		t.Fatal("a canceled request was admitted")
	}
	release()
	if _, _, active := c.Admission().Current(); active != 0 {
		t.Errorf("requests in flight after release = %d, want 0", active)
	}
	s.Enqueue(kimitest.Response{Content: "next"})
	if a := MustAnswer(t, c, chat("kimi-k2-turbo-preview", "next")); a.content != "next" {
		t.Errorf("content after a canceled waiter = %q", a.content)
	}
}

func TestAdmissionAIMD(t *testing.T) {
	a := NewAdmission(Limits{MaxConcurrency: 8, RequestsPerWindow: 10, Window: time.Hour})
	type limits struct{ conc, reqs int }
	current := func() limits {
		c, r, _ := a.Current()
		return limits{c, r}
	}
	steps := []struct {
		name string
		do   func()
		want limits
	}{
		{"Start", func() {}, limits{8, 10}},
		{"Halve", a.RateLimited, limits{4, 5}},
		{"HalveAgain", a.RateLimited, limits{2, 2}},
		{"Floor", func() { a.RateLimited(); a.RateLimited() }, limits{1, 1}},
		{"AddOne", a.Succeeded, limits{2, 2}},
		{"Recover", func() {
			for range 20 {
				a.Succeeded()
			}
		}, limits{8, 10}},
	}
	for _, st := range steps {
		st.do()
		if got := current(); got != st.want {
			t.Fatalf("%s: limits = %+v, want %+v", st.name, got, st.want)
		}
	}
}

// rateLimited is a 429 rate-limit answer without a wait hint, so that the
// retry backoff stays the client's own.
func rateLimited() *kimitest.APIError {
	return &kimitest.APIError{Status: http.StatusTooManyRequests, Type: "rate_limit_reached_error",
		Message: "Your account org-kimitest<ak-kimitest> request reached organization max RPM: 40"}
}

func TestAdmissionBacksOffOnRateLimitNotQuota(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, func(cfg *Config) {
		cfg.Limits = Limits{MaxConcurrency: 8, RequestsPerWindow: 40, Window: time.Millisecond}
	})
	s.Enqueue(kimitest.Response{Error: rateLimited()}, kimitest.Response{Error: rateLimited()},
		kimitest.Response{Content: "third time"})
	if a := MustAnswer(t, c, chat("kimi-k2-turbo-preview", "hi")); a.content != "third time" {
		t.Fatalf("content = %q", a.content)
	}
	// Two halvings, then one success adds one back.
	if conc, reqs, _ := c.Admission().Current(); conc != 3 || reqs != 11 {
		t.Errorf("limits after two 429s and a success = %d concurrent, %d per window; want 3 and 11", conc, reqs)
	}
	if n := len(s.ChatRequests()); n != 3 {
		t.Errorf("chat requests = %d, want every retry sent (and admitted) separately", n)
	}

	s.Enqueue(kimitest.Response{Error: kimitest.QuotaExceeded()})
	_, err := c.Stream(context.Background(), chat("kimi-k2-turbo-preview", "again"))
	MustKind(t, err, Quota)
	if conc, reqs, _ := c.Admission().Current(); conc != 3 || reqs != 11 {
		t.Errorf("a quota error changed the limits to %d and %d", conc, reqs)
	}
	if n := len(s.ChatRequests()); n != 4 {
		t.Errorf("chat requests = %d, want the quota error not retried", n)
	}
}

func TestAdmissionTokensPerWindow(t *testing.T) {
	a := NewAdmission(Limits{TokensPerWindow: 400, Window: time.Hour})
	ctx := context.Background()
	// The bucket holds a quarter of the window's tokens: the first request
	// of 100 goes at once, the next must wait for the refill.
	release, err := a.Admit(ctx, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := a.Admit(short, 100, nil); err == nil {
		t.Fatal("a request over the token budget was admitted at once")
	}
	// A canceled wait gives its tokens back.
	if _, _, active := a.Current(); active != 0 {
		t.Errorf("in flight = %d after a canceled wait", active)
	}
}

func TestAdmissionNilAndUnlimited(t *testing.T) {
	var none *Admission
	release, err := none.Admit(context.Background(), 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	release()
	none.RateLimited()
	none.Succeeded()

	a := NewAdmission(Limits{})
	var releases []func()
	for range 100 {
		r, err := a.Admit(context.Background(), 1000, func(int) { t.Error("an unlimited request was queued") })
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	for _, r := range releases {
		r()
		r()
	}
	if _, _, active := a.Current(); active != 0 {
		t.Errorf("in flight = %d after releasing twice each", active)
	}
}

// Without admission the fake refuses what is over its limits and counts it,
// so a count of zero elsewhere means something.
func TestFakeCountsViolationsWithoutAdmission(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	s.SetLimits(kimitest.Limits{MaxConcurrency: 1, RequestsPerWindow: 2, Window: time.Hour})
	c, _ := MustClient(t, s, func(cfg *Config) { cfg.MaxRetries = -1 })
	release := holdFirst(t, c, s)
	_, err := c.Stream(context.Background(), chat("kimi-k2-turbo-preview", "second"))
	ke := MustKind(t, err, RateLimited)
	if !strings.Contains(ke.Message, "concurrency: 1") {
		t.Errorf("refusal = %q, want the concurrency message", ke.Message)
	}
	release()
	s.Enqueue(kimitest.Response{Content: "ok"})
	MustAnswer(t, c, chat("kimi-k2-turbo-preview", "third"))
	_, err = c.Stream(context.Background(), chat("kimi-k2-turbo-preview", "fourth"))
	if ke := MustKind(t, err, RateLimited); !strings.Contains(ke.Message, "max RPM: 2") || ke.RetryAfter <= 0 {
		t.Errorf("refusal = %q (retry after %s), want the RPM message with a wait", ke.Message, ke.RetryAfter)
	}
	if v := s.Violations(); v != 2 {
		t.Errorf("violations = %d, want 2", v)
	}
}

// BenchmarkAdmission measures admitting and releasing one request, alone
// and with callers contending for four slots.
func BenchmarkAdmission(b *testing.B) {
	ctx := context.Background()
	b.Run("Free", func(b *testing.B) {
		a := NewAdmission(Limits{MaxConcurrency: 4})
		b.ReportAllocs()
		for range b.N {
			release, err := a.Admit(ctx, 0, nil)
			if err != nil {
				b.Fatal(err)
			}
			release()
		}
	})
	b.Run("Contended", func(b *testing.B) {
		a := NewAdmission(Limits{MaxConcurrency: 4})
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				release, err := a.Admit(ctx, 0, nil)
				if err != nil {
					b.Error(err)
					return
				}
				release()
			}
		})
	})
}

func TestAdmissionRateWaitsReportPlace(t *testing.T) {
	a := NewAdmission(Limits{RequestsPerWindow: 3, Window: 300 * time.Millisecond})
	ctx := context.Background()
	first, err := a.Admit(ctx, 0, func(int) { t.Error("the first request waited") })
	if err != nil {
		t.Fatal(err)
	}
	first()
	type result struct {
		places []int
		at     time.Time
	}
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		reported := make(chan struct{})
		wg.Go(func() {
			release, err := a.Admit(ctx, 0, func(ahead int) {
				results[i].places = append(results[i].places, ahead)
				if len(results[i].places) == 1 {
					close(reported)
				}
			})
			results[i].at = time.Now()
			if err != nil {
				t.Error(err)
				return
			}
			release()
		})
		<-reported
	}
	wg.Wait()
	if !reflect.DeepEqual(results[0].places, []int{0}) || !reflect.DeepEqual(results[1].places, []int{1}) {
		t.Errorf("places = %v and %v, want [0] and [1]", results[0].places, results[1].places)
	}
	if !results[1].at.After(results[0].at) {
		t.Error("the second waiter went before the first")
	}
}

func TestAdmissionFreeSlotsAreNotReportedAsQueue(t *testing.T) {
	a := NewAdmission(Limits{MaxConcurrency: 100})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			release, err := a.Admit(context.Background(), 0, func(ahead int) {
				t.Errorf("reported %d ahead with free slots", ahead)
			})
			if err != nil {
				t.Error(err)
				return
			}
			release()
		})
	}
	wg.Wait()
}
