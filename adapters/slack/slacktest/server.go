// Package slacktest is an in-repo fake of the parts of Slack that kimibot
// uses: the Web API methods the adapter calls (form and JSON, as slack-go
// sends them), private file downloads and a Socket Mode websocket. It runs on
// 127.0.0.1, records every call with a timestamp, keeps what each message
// finally shows, enforces and counts Slack's rate limits, and can inject
// 429s, 5xx replies, Slack errors and Socket Mode disconnects.
package slacktest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a Server. Zero fields take the defaults noted.
type Options struct {
	// TeamID is the workspace ("T0KIMI").
	TeamID string
	// BotUserID and BotID identify the bot ("UKIMIBOT", "BKIMIBOT").
	BotUserID, BotID string
	// BotToken and AppToken are the accepted tokens ("xoxb-test-bot", "xapp-test-app").
	BotToken, AppToken string
	// Window is the rolling window of the per-minute limits (one minute).
	// Benchmarks may compress time by shortening it together with the
	// adapter's limits.
	Window time.Duration
	// UpdatesPerWindow caps chat.update per workspace in any window (50).
	UpdatesPerWindow int
	// AppendsPerWindow caps chat.appendStream per workspace in any window (100).
	AppendsPerWindow int
	// StreamCallsPerWindow caps chat.startStream and chat.stopStream, each,
	// per workspace in any window (20: Slack's Tier 2).
	StreamCallsPerWindow int
	// PostInterval is the sustained chat.postMessage pace per channel (1s)
	// and PostBurst the burst allowed on top of it (5).
	PostInterval time.Duration
	PostBurst    int
	// AckTimeout is how long an envelope may stay unacknowledged before it
	// is delivered again with retry_attempt increased (3s); MaxRetries caps
	// the redeliveries (3).
	AckTimeout time.Duration
	MaxRetries int
	// PingInterval is how often the websocket pings the client (5s).
	PingInterval time.Duration
	// TriggerTimeout is how long a trigger_id may open a view (3s).
	TriggerTimeout time.Duration
	// Scopes are the bot token's scopes, sent in X-OAuth-Scopes (DefaultScopes).
	Scopes []string
}

func (o *Options) defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.TeamID, "T0KIMI")
	def(&o.BotUserID, "UKIMIBOT")
	def(&o.BotID, "BKIMIBOT")
	def(&o.BotToken, "xoxb-test-bot")
	def(&o.AppToken, "xapp-test-app")
	if o.Scopes == nil {
		o.Scopes = DefaultScopes
	}
	defDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defDur(&o.Window, time.Minute)
	defDur(&o.PostInterval, time.Second)
	defDur(&o.AckTimeout, 3*time.Second)
	defDur(&o.PingInterval, 5*time.Second)
	defDur(&o.TriggerTimeout, 3*time.Second)
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	defInt(&o.UpdatesPerWindow, 50)
	defInt(&o.AppendsPerWindow, 100)
	defInt(&o.StreamCallsPerWindow, 20)
	defInt(&o.PostBurst, 5)
	defInt(&o.MaxRetries, 3)
}

// Call is one recorded Web API request.
type Call struct {
	Method string
	Time   time.Time
	// Params holds the form values, or the JSON body flattened to strings.
	Params url.Values
	// Status is the HTTP status the fake answered with.
	Status int
	// Error is the Slack error code of an ok:false answer.
	Error string
	// Lost is true when the call took effect but its answer was lost.
	Lost bool
}

// Channel returns the channel the call addressed, whichever parameter name
// the method uses.
func (c Call) Channel() string {
	if ch := c.Params.Get("channel"); ch != "" {
		return ch
	}
	return c.Params.Get("channel_id")
}

// Violation records a request that broke one of Slack's limits.
type Violation struct {
	Time    time.Time
	Method  string
	Channel string
	Reason  string
}

// Server is a running fake Slack.
type Server struct {
	opts Options
	http *httptest.Server
	hub  *hub

	mu         sync.Mutex
	changed    chan struct{}
	calls      []Call
	counts     map[string]int
	msgs       map[string]*Message
	order      []string
	ephemerals []Ephemeral
	statuses   map[string][]StatusChange
	views      []*View
	users      map[string]User
	userMsgs   map[string]*userMsg
	groups     map[string][]string
	triggers   map[string]*trigger
	responses  map[string]*responseURL
	answers    []Response
	holds      map[string]*hold
	files      map[string]file
	faults     []*Fault
	windows    map[string][]time.Time
	buckets    map[string]*bucket
	blocked    map[string]time.Time
	violations []Violation
	noStream   string
	channels   map[string]string
	seq        int64
	base       int64
}

// New starts a fake Slack on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	opts.defaults()
	s := &Server{
		opts:      opts,
		changed:   make(chan struct{}),
		msgs:      map[string]*Message{},
		counts:    map[string]int{},
		statuses:  map[string][]StatusChange{},
		users:     map[string]User{},
		userMsgs:  map[string]*userMsg{},
		groups:    map[string][]string{},
		triggers:  map[string]*trigger{},
		responses: map[string]*responseURL{},
		holds:     map[string]*hold{},
		files:     map[string]file{},
		windows:   map[string][]time.Time{},
		buckets:   map[string]*bucket{},
		blocked:   map[string]time.Time{},
		base:      time.Now().Unix(),
	}
	s.hub = newHub(s)
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("GET /files/{id}/{name}", s.serveFile)
	mux.HandleFunc("GET /signin", serveSignIn)
	mux.HandleFunc("GET /socket", s.hub.serveSocket)
	mux.HandleFunc("POST /respond/{id}", s.serveResponse)
	s.http = httptest.NewUnstartedServer(mux)
	s.http.Start()
	return s
}

// Start starts a fake Slack and closes it when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := New(opts)
	tb.Cleanup(s.Close)
	return s
}

// Close disconnects every websocket and stops the server.
func (s *Server) Close() {
	s.hub.close()
	s.http.CloseClientConnections()
	s.http.Close()
}

// URL is the server's base URL, such as "http://127.0.0.1:4321".
func (s *Server) URL() string { return s.http.URL }

// APIURL is the Web API base to give slack-go's OptionAPIURL.
func (s *Server) APIURL() string { return s.http.URL + "/api/" }

// Options returns the effective options, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// NewTS returns a fresh message timestamp, later than every earlier one,
// in Slack's "seconds.micros" form.
func (s *Server) NewTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextTSLocked()
}

func (s *Server) nextTSLocked() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", s.base+s.seq/1_000_000, s.seq%1_000_000)
}

// Wait blocks until cond, checked under no lock after every change to the
// fake's state (calls, messages, acks, connections), reports true, or ctx ends.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for slack state: %w", ctx.Err())
		}
	}
}

// notifyLocked wakes every Wait; s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Calls returns the recorded Web API calls, all of them or only those of
// the named methods, in arrival order.
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// CallCount returns how many calls of method succeeded (ok: true). It is
// cheap enough for a Wait condition checked on every change.
func (s *Server) CallCount(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[method]
}

// Violations returns every request that broke a rate limit or came before
// the end of a Retry-After pause.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Violation(nil), s.violations...)
}

// DisableStreaming makes chat.startStream fail with the Slack error code
// (for example "method_not_supported_for_channel_type"); "" enables it again.
func (s *Server) DisableStreaming(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noStream = code
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// bearer returns the token of an Authorization: Bearer header.
func bearer(r *http.Request) string {
	t, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return t
}
