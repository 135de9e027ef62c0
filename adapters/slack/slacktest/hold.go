package slacktest

import (
	"context"
	"sync"
)

// ResponseURLs names the response_url endpoint for Hold.
const ResponseURLs = "response_url"

// hold is a gate that requests of one kind wait at.
type hold struct {
	open    chan struct{}
	waiting int
}

// Hold makes calls of a Web API method, or with ResponseURLs the messages
// sent to response_urls, wait unanswered until release is called, so
// that a test can see what an app does while a call is pending. Held calls
// then go on as usual, recorded at the time they go on. release may be
// called more than once.
func (s *Server) Hold(name string) (release func()) {
	h := &hold{open: make(chan struct{})}
	s.mu.Lock()
	s.holds[name] = h
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.holds[name] == h {
				delete(s.holds, name)
			}
			s.notifyLocked()
			s.mu.Unlock()
			close(h.open)
		})
	}
}

// Held reports how many calls wait at the hold of name.
func (s *Server) Held(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.holds[name]; h != nil {
		return h.waiting
	}
	return 0
}

// waitHold blocks while name is held, or until ctx ends.
func (s *Server) waitHold(ctx context.Context, name string) {
	s.mu.Lock()
	h := s.holds[name]
	if h == nil {
		s.mu.Unlock()
		return
	}
	h.waiting++
	s.notifyLocked()
	s.mu.Unlock()
	select {
	case <-h.open:
	case <-ctx.Done():
	}
	s.mu.Lock()
	h.waiting--
	s.mu.Unlock()
}
