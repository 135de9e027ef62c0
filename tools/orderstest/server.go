// Package orderstest is a fake orders API on loopback for tests of the
// lookup_order tool: GET /orders/{id} with bearer authentication.
package orderstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Request is one request the server received.
type Request struct {
	Method string
	// Path is the escaped path as sent, such as "/orders/A1001".
	Path   string
	Header http.Header
}

// Server is a fake orders API. It answers GET /orders/{id} with 401 unless
// the request carries "Authorization: Bearer <token>" (any request passes
// when the token is empty), 404 JSON for unknown IDs and the order's JSON
// otherwise.
type Server struct {
	srv    *httptest.Server
	token  string
	orders map[string][]byte

	mu       sync.Mutex
	requests []Request
	failNext []int
}

// New starts a server on 127.0.0.1 holding the given orders, each keyed by
// its string "id". The server is closed when the test ends.
func New(tb testing.TB, token string, orders ...map[string]any) *Server {
	tb.Helper()
	s := &Server{token: token, orders: make(map[string][]byte, len(orders))}
	for i, o := range orders {
		id, ok := o["id"].(string)
		if !ok || id == "" {
			tb.Fatalf("orderstest: order %d has no string id", i)
		}
		b, err := json.Marshal(o)
		if err != nil {
			tb.Fatalf("orderstest: encode order %s: %v", id, err)
		}
		s.orders[id] = b
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", s.handleOrder)
	s.srv = httptest.NewUnstartedServer(s.record(mux))
	s.srv.Start()
	tb.Cleanup(s.srv.Close)
	return s
}

// URL returns the API base URL, without a trailing slash.
func (s *Server) URL() string { return s.srv.URL }

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = Request{Method: r.Method, Path: r.Path, Header: r.Header.Clone()}
	}
	return out
}

// FailNext makes the next request (after any failures already queued)
// answer with status and a JSON error body, whatever it asks for.
func (s *Server) FailNext(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, status)
}

// record logs each request and serves any queued failure before routing.
func (s *Server) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header.Clone()})
		fail := 0
		if len(s.failNext) > 0 {
			fail, s.failNext = s.failNext[0], s.failNext[1:]
		}
		s.mu.Unlock()
		if fail != 0 {
			writeError(w, fail, "injected", http.StatusText(fail))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request) {
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		w.Header().Set("WWW-Authenticate", `Bearer realm="orders"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token")
		return
	}
	id := r.PathValue("id")
	order, ok := s.orders[id]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no order with id %s", id))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(order)
}

// writeError writes {"error":code,"message":msg} with status.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
