package discord

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// routeCounter is a RequestObserver that keeps what it was told.
type routeCounter struct {
	mu    sync.Mutex
	calls []string
}

func (c *routeCounter) Request(route string, write bool, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kind := "read"
	if write {
		kind = "write"
	}
	c.calls = append(c.calls, route+" "+kind+" "+http.StatusText(status))
}

func TestCountRequestsByRoute(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	c := &routeCounter{}
	req := func(method, path string) {
		r, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := countRequests(http.DefaultTransport, r.URL.Host, c).RoundTrip(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	req(http.MethodPost, "/api/v10/channels/123456789012345678/messages")
	req(http.MethodPatch, "/api/v10/channels/123456789012345678/messages/223456789012345678")
	req(http.MethodGet, "/api/v10/users/@me")
	want := []string{"POST /channels/{id}/messages write OK", "PATCH /channels/{id}/messages/{id} write Too Many Requests",
		"GET /users/@me read OK"}
	if len(c.calls) != len(want) {
		t.Fatalf("calls = %q, want %q", c.calls, want)
	}
	for i := range want {
		if c.calls[i] != want[i] {
			t.Errorf("call %d = %q, want %q", i, c.calls[i], want[i])
		}
	}
}

func TestShardLabel(t *testing.T) {
	for _, tc := range []struct {
		shard *[2]int
		want  string
	}{{nil, "0/1"}, {&[2]int{0, 1}, "0/1"}, {&[2]int{2, 4}, "2/4"}} {
		if got := shardLabel(tc.shard); got != tc.want {
			t.Errorf("shardLabel(%v) = %q, want %q", tc.shard, got, tc.want)
		}
	}
}
