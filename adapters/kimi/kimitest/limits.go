package kimitest

import (
	"fmt"
	"math"
	"net/http"
	"time"
)

// Limits are account limits the fake enforces on chat requests, as
// Moonshot does per account. Zero fields mean no limit.
type Limits struct {
	// MaxConcurrency caps the chat requests in flight.
	MaxConcurrency int
	// RequestsPerWindow caps the chat requests started in any Window.
	RequestsPerWindow int
	// Window is the period of RequestsPerWindow; default one minute.
	Window time.Duration
}

// limiter is the fake's account state: requests in flight, the start
// times of accepted requests, and the refusals.
type limiter struct {
	limits     Limits
	inFlight   int
	peak       int
	starts     []time.Time
	violations int
}

// SetLimits makes the fake enforce lim from now on. Requests over a limit
// get Moonshot's 429 rate_limit_reached_error and count as violations.
func (s *Server) SetLimits(lim Limits) {
	if lim.Window <= 0 {
		lim.Window = time.Minute
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit.limits = lim
}

// Violations returns how many chat requests the fake refused because they
// were over its limits.
func (s *Server) Violations() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit.violations
}

// PeakConcurrency returns the most chat requests that were in flight at
// once.
func (s *Server) PeakConcurrency() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limit.peak
}

// limited enforces the account limits around a chat handler.
func (s *Server) limited(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if apiErr := s.enter(time.Now()); apiErr != nil {
			s.writeError(w, apiErr)
			return
		}
		defer s.leave()
		next(w, r)
	}
}

// enter admits one chat request at now, or returns the 429 that refuses it.
func (s *Server) enter(now time.Time) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := &s.limit
	lim := l.limits
	if lim.RequestsPerWindow > 0 {
		cut := 0
		for cut < len(l.starts) && now.Sub(l.starts[cut]) >= lim.Window {
			cut++
		}
		l.starts = l.starts[cut:]
	}
	switch {
	case lim.MaxConcurrency > 0 && l.inFlight >= lim.MaxConcurrency:
		l.violations++
		return concurrencyLimited(lim.MaxConcurrency)
	case lim.RequestsPerWindow > 0 && len(l.starts) >= lim.RequestsPerWindow:
		l.violations++
		return rpmLimited(lim.RequestsPerWindow, l.starts[0].Add(lim.Window).Sub(now))
	}
	l.inFlight++
	l.peak = max(l.peak, l.inFlight)
	if lim.RequestsPerWindow > 0 {
		l.starts = append(l.starts, now)
	}
	return nil
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit.inFlight--
}

// concurrencyLimited is Moonshot's 429 for too many requests in flight.
func concurrencyLimited(n int) *APIError {
	return &APIError{Status: http.StatusTooManyRequests, Type: "rate_limit_reached_error",
		Message: fmt.Sprintf("Your account org-kimitest<ak-kimitest> request reached max organization concurrency: %d, "+
			"please try again after 1 seconds", n)}
}

// rpmLimited is Moonshot's 429 for too many requests per minute.
func rpmLimited(n int, wait time.Duration) *APIError {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &APIError{Status: http.StatusTooManyRequests, Type: "rate_limit_reached_error",
		Message: fmt.Sprintf("Your account org-kimitest<ak-kimitest> request reached organization max RPM: %d, "+
			"please try again after %d seconds", n, secs)}
}
