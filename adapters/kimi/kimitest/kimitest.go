// Package kimitest is an in-process fake of the Kimi chat API, as Moonshot
// serves it and as OpenRouter serves it, for tests of kimibot's Kimi client
// and of everything built on it.
//
// The fake listens on 127.0.0.1 and speaks the wire formats of the
// project's kimi-api.md reference: bearer auth, the model lists, the per-model request
// rules with their exact error messages, SSE streams framed like the real
// services (reasoning, tool-call deltas, usage placement, OpenRouter comment
// lines), pre-stream and mid-stream errors, truncated streams, and the
// side endpoints (files, tokenizer, balance, key, credits). Every request is
// recorded. Answers come from a queue of scripted Responses, then from an
// optional handler, then from a default echo.
package kimitest

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Flavor selects which service the fake imitates.
type Flavor int

// The two services that serve Kimi models.
const (
	// Moonshot is Moonshot AI's own API (https://api.moonshot.ai/v1).
	Moonshot Flavor = iota
	// OpenRouter is OpenRouter's API (https://openrouter.ai/api/v1).
	OpenRouter
)

// String returns the lowercase flavour name.
func (f Flavor) String() string {
	if f == OpenRouter {
		return "openrouter"
	}
	return "moonshot"
}

// Options configures a fake server.
type Options struct {
	// Flavor selects Moonshot (default) or OpenRouter behaviour.
	Flavor Flavor
	// APIKey is the bearer token requests must carry; default "test-key".
	APIKey string
	// Models is the model table; default DefaultModels(Flavor).
	Models []Model
	// DisableReasoningRule turns off Moonshot's check that, with thinking
	// on, every assistant tool-call message in the request carries
	// reasoning_content. The rule is on by default.
	DisableReasoningRule bool
	// NoRecording keeps Requests and ChatRequests empty (WaitRequests still
	// counts), so that long benchmarks measure the client, not the record.
	NoRecording bool
}

// Server is a running fake Kimi API. It is safe for concurrent use.
type Server struct {
	opts      Options
	models    map[string]Model
	http      *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	queue     []Response
	handler   func(r *Request) Response
	requests  []Request
	chats     int
	arrived   chan struct{}
	calls     int
	webSearch map[string]string
	files     []*file
	spent     float64
	limit     limiter
}

// New starts a fake server on 127.0.0.1 and closes it when the test ends.
func New(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := NewServer(opts)
	tb.Cleanup(s.Close)
	return s
}

// NewServer starts a fake server on 127.0.0.1. The caller must call Close.
func NewServer(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = "test-key"
	}
	if len(opts.Models) == 0 {
		opts.Models = DefaultModels(opts.Flavor)
	}
	s := &Server{
		opts:      opts,
		models:    make(map[string]Model, len(opts.Models)),
		done:      make(chan struct{}),
		arrived:   make(chan struct{}),
		webSearch: make(map[string]string),
	}
	for _, m := range opts.Models {
		s.models[m.ID] = m
	}
	s.http = httptest.NewUnstartedServer(s.routes())
	s.http.Start()
	return s
}

// Close stops the server. Streams still running end at their next pause.
// Close may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.http.Close()
	})
}

// URL returns the server root, such as http://127.0.0.1:1234.
func (s *Server) URL() string { return s.http.URL }

// BaseURL returns the API base a client is configured with: URL()+"/v1"
// for Moonshot, URL()+"/api/v1" for OpenRouter.
func (s *Server) BaseURL() string { return s.http.URL + s.prefix() }

// Flavor returns the service the server imitates.
func (s *Server) Flavor() Flavor { return s.opts.Flavor }

// APIKey returns the bearer token the server accepts.
func (s *Server) APIKey() string { return s.opts.APIKey }

func (s *Server) prefix() string {
	if s.opts.Flavor == OpenRouter {
		return "/api/v1"
	}
	return "/v1"
}

// routes builds the flavour's route table behind recording and auth.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := s.prefix()
	mux.HandleFunc("POST "+p+"/chat/completions", s.limited(s.handleChat))
	mux.HandleFunc("GET "+p+"/models", s.handleModels)
	if s.opts.Flavor == OpenRouter {
		mux.HandleFunc("GET "+p+"/key", s.handleKey)
		mux.HandleFunc("GET "+p+"/credits", s.handleCredits)
	} else {
		mux.HandleFunc("POST "+p+"/files", s.handleFileUpload)
		mux.HandleFunc("GET "+p+"/files", s.handleFileList)
		mux.HandleFunc("GET "+p+"/files/{id}", s.handleFileGet)
		mux.HandleFunc("DELETE "+p+"/files/{id}", s.handleFileDelete)
		mux.HandleFunc("GET "+p+"/files/{id}/content", s.handleFileContent)
		mux.HandleFunc("POST "+p+"/tokenizers/estimate-token-count", s.handleTokenCount)
		mux.HandleFunc("GET "+p+"/users/me/balance", s.handleBalance)
	}
	mux.HandleFunc("/", s.handleNotFound)
	return s.record(s.authorize(mux))
}

// authorize rejects requests without the right bearer token. OpenRouter's
// model list is public.
func (s *Server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Flavor == OpenRouter && r.URL.Path == s.prefix()+"/models" {
			next.ServeHTTP(w, r)
			return
		}
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.APIKey)) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		if s.opts.Flavor == OpenRouter && auth == "" {
			s.writeError(w, &APIError{Status: http.StatusUnauthorized, Message: "No auth credentials found"})
			return
		}
		if s.opts.Flavor == OpenRouter {
			s.writeError(w, &APIError{Status: http.StatusUnauthorized, Message: "User not found."})
			return
		}
		s.writeError(w, Unauthorized())
	})
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, &APIError{
		Status:  http.StatusNotFound,
		Type:    "resource_not_found_error",
		Message: "Not found: " + r.Method + " " + r.URL.Path,
	})
}

// pause waits for d, and reports false if the request or the server ended first.
func (s *Server) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}
