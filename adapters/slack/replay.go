package slack

import (
	"net/http"
	"sync"
	"time"
)

// maxRemembered bounds the signatures remembered for replay protection.
// Beyond it the oldest are forgotten first.
const maxRemembered = 100_000

// replayGuard remembers the signatures of accepted requests until their
// timestamps leave the signature window, so that a captured request cannot
// be sent again while its signature is still valid. It is safe for
// concurrent use.
type replayGuard struct {
	mu    sync.Mutex
	seen  map[string]time.Time // signature -> when it expires
	order []remembered         // in the order claimed, for expiry
	max   int
	now   func() time.Time
}

// remembered is one claimed signature and when it expires.
type remembered struct {
	sig     string
	expires time.Time
}

func newReplayGuard(max int, now func() time.Time) *replayGuard {
	return &replayGuard{seen: make(map[string]time.Time), max: max, now: now}
}

// claim records sig, whose request was signed at ts, and reports false if
// it is already recorded and not yet expired.
func (g *replayGuard) claim(sig string, ts time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.expire(now)
	if exp, ok := g.seen[sig]; ok && now.Before(exp) {
		return false
	}
	exp := ts.Add(signatureWindow + time.Second)
	g.seen[sig] = exp
	g.order = append(g.order, remembered{sig, exp})
	for len(g.seen) > g.max && len(g.order) > 0 {
		g.forget(g.order[0])
		g.order = g.order[1:]
	}
	return true
}

// release forgets sig, for a request that was not accepted after all.
func (g *replayGuard) release(sig string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.seen, sig)
}

// expire drops the oldest claims that have expired; g.mu is held.
func (g *replayGuard) expire(now time.Time) {
	n := 0
	for n < len(g.order) && !now.Before(g.order[n].expires) {
		g.forget(g.order[n])
		n++
	}
	g.order = g.order[n:]
	if n > 0 && cap(g.order) > 2*len(g.order)+64 {
		g.order = append([]remembered(nil), g.order...)
	}
}

// forget deletes r's signature unless it was claimed again since.
func (g *replayGuard) forget(r remembered) {
	if exp, ok := g.seen[r.sig]; ok && exp.Equal(r.expires) {
		delete(g.seen, r.sig)
	}
}

// len returns the number of remembered signatures.
func (g *replayGuard) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seen)
}

var _ http.Flusher = (*statusWriter)(nil)

// statusWriter records the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes on to the underlying writer, which acknowledge relies on.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
