package orderstest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"kimibot/tools/orderstest"
)

const token = "fake-orders-token"

// MustGet sends GET url with the bearer token (when set) and returns the
// status and decoded JSON body.
func MustGet(tb testing.TB, url, bearer string) (int, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		tb.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		tb.Fatalf("GET %s: decode: %v", url, err)
	}
	return resp.StatusCode, body
}

func TestServer(t *testing.T) {
	s := orderstest.New(t, token,
		map[string]any{"id": "A1001", "status": "shipped", "total": 47.9},
		map[string]any{"id": "A1002", "status": "processing"},
	)
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL() = %s, want loopback", s.URL())
	}
	cases := []struct {
		name, path, bearer string
		status             int
		field, want        string
	}{
		{"OK", "/orders/A1001", token, http.StatusOK, "status", "shipped"},
		{"OKOther", "/orders/A1002", token, http.StatusOK, "id", "A1002"},
		{"NotFound", "/orders/Z1", token, http.StatusNotFound, "error", "not_found"},
		{"NoToken", "/orders/A1001", "", http.StatusUnauthorized, "error", "unauthorized"},
		{"WrongToken", "/orders/A1001", "nope", http.StatusUnauthorized, "error", "unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := MustGet(t, s.URL()+tc.path, tc.bearer)
			if status != tc.status || body[tc.field] != tc.want {
				t.Fatalf("GET %s = %d %v, want %d with %s=%s", tc.path, status, body, tc.status, tc.field, tc.want)
			}
		})
	}
	reqs := s.Requests()
	if len(reqs) != len(cases) {
		t.Fatalf("Requests() has %d entries, want %d", len(reqs), len(cases))
	}
	if reqs[0].Method != http.MethodGet || reqs[0].Path != "/orders/A1001" || reqs[0].Header.Get("Authorization") != "Bearer "+token {
		t.Fatalf("first request = %+v", reqs[0])
	}
}

func TestServer_FailNext(t *testing.T) {
	s := orderstest.New(t, token, map[string]any{"id": "A1001"})
	s.FailNext(http.StatusInternalServerError)
	s.FailNext(http.StatusServiceUnavailable)
	for _, want := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusOK} {
		if status, body := MustGet(t, s.URL()+"/orders/A1001", token); status != want {
			t.Fatalf("status = %d %v, want %d", status, body, want)
		}
	}
}

func TestServer_EmptyTokenAcceptsAll(t *testing.T) {
	s := orderstest.New(t, "", map[string]any{"id": "A1001"})
	if status, _ := MustGet(t, s.URL()+"/orders/A1001", ""); status != http.StatusOK {
		t.Fatalf("status = %d, want 200", status)
	}
}

func TestServer_OnlyGet(t *testing.T) {
	s := orderstest.New(t, token, map[string]any{"id": "A1001"})
	resp, err := http.Post(s.URL()+"/orders/A1001", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST status = %d, want 405", resp.StatusCode)
	}
	if got := s.Requests(); len(got) != 1 || got[0].Method != http.MethodPost {
		t.Fatalf("Requests() = %+v, want the POST recorded", got)
	}
}

func TestServer_RequestsAreCopies(t *testing.T) {
	s := orderstest.New(t, token, map[string]any{"id": "A1001"})
	MustGet(t, s.URL()+"/orders/A1001", token)
	s.Requests()[0].Header.Set("Authorization", "changed")
	if got := s.Requests()[0].Header.Get("Authorization"); got != "Bearer "+token {
		t.Fatalf("recorded header changed to %q", got)
	}
}
