package discordtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// post sends a JSON request to the fake's REST API.
func post(tb testing.TB, s *Server, method, path, token string, body any) (*http.Response, []byte) {
	tb.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, s.APIURL()+strings.TrimPrefix(path, "/"), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bot "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func TestBucketHeadersAnd429(t *testing.T) {
	s := NewServer(t, Options{MessageLimit: 3, MessageWindow: time.Hour})
	ch := s.DMChannel(s.AddUser("ada", false).ID)
	for i := range 3 {
		resp, body := post(t, s, "POST", "/channels/"+ch+"/messages", s.Token(), map[string]string{"content": "hi"})
		if resp.StatusCode != 200 {
			t.Fatalf("create %d: %d %s", i, resp.StatusCode, body)
		}
		if got := resp.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Fatalf("create %d: remaining %q, want %d", i, got, 2-i)
		}
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Reset", "X-RateLimit-Reset-After", "X-RateLimit-Bucket"} {
			if resp.Header.Get(h) == "" {
				t.Fatalf("create %d: no %s header", i, h)
			}
		}
	}
	// Edits share the channel's bucket.
	resp, body := post(t, s, "PATCH", "/channels/"+ch+"/messages/1", s.Token(), map[string]string{"content": "x"})
	var rl struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	if err := json.Unmarshal(body, &rl); err != nil || resp.StatusCode != 429 || rl.RetryAfter < 3500 || rl.Global || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s (Retry-After %q)", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if st := s.Stats(); st.RateLimited != 1 {
		t.Fatalf("stats %+v", st)
	}
	if n, got := s.MaxWrites(time.Hour); n != 3 || got != ch {
		t.Fatalf("max writes %d in %s, want 3 in %s", n, got, ch)
	}
}

func TestGlobalLimit(t *testing.T) {
	s := NewServer(t, Options{GlobalLimit: 2})
	for i := range 3 {
		resp, body := post(t, s, "GET", "/users/@me", s.Token(), nil)
		if want := i < 2; (resp.StatusCode == 200) != want {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		if i == 2 && (resp.Header.Get("X-RateLimit-Global") != "true" || !strings.Contains(string(body), `"global":true`)) {
			t.Fatalf("global 429 without the global marks: %v %s", resp.Header, body)
		}
	}
}

func TestMessageValidation(t *testing.T) {
	s := NewServer(t, Options{})
	ch := s.DMChannel(s.AddUser("ada", false).ID)
	tests := []struct {
		name   string
		token  string
		body   map[string]any
		status int
		code   int
	}{
		{"NoToken", "", map[string]any{"content": "x"}, 401, 0},
		{"Empty", s.Token(), map[string]any{"content": "  "}, 400, 50006},
		{"TooLong", s.Token(), map[string]any{"content": strings.Repeat("é", 2001)}, 400, 50035},
		{"UnknownReference", s.Token(), map[string]any{"content": "x", "message_reference": map[string]string{"message_id": "1"}}, 400, 50035},
		{"OK", s.Token(), map[string]any{"content": strings.Repeat("é", 2000)}, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, s, "POST", "/channels/"+ch+"/messages", tt.token, tt.body)
			var e struct{ Code int }
			_ = json.Unmarshal(body, &e)
			if resp.StatusCode != tt.status || e.Code != tt.code {
				t.Fatalf("got %d %s, want %d code %d", resp.StatusCode, body, tt.status, tt.code)
			}
		})
	}
}

func TestNonceMakesCreatesIdempotent(t *testing.T) {
	s := NewServer(t, Options{})
	ch := s.DMChannel(s.AddUser("ada", false).ID)
	body := map[string]any{"content": "once", "nonce": "n-1", "enforce_nonce": true}
	_, first := post(t, s, "POST", "/channels/"+ch+"/messages", s.Token(), body)
	_, second := post(t, s, "POST", "/channels/"+ch+"/messages", s.Token(), body)
	var a, b Message
	_ = json.Unmarshal(first, &a)
	_ = json.Unmarshal(second, &b)
	if a.ID == "" || a.ID != b.ID || len(s.BotMessages(ch)) != 1 {
		t.Fatalf("two creates with one nonce made %d messages (%s, %s)", len(s.BotMessages(ch)), a.ID, b.ID)
	}
}

func TestLateInteractionCallbackIsRejected(t *testing.T) {
	s := NewServer(t, Options{})
	g := s.AddGuild()
	ch := s.AddTextChannel(g, "general")
	it := s.SendInteraction(InteractionIn{Type: InteractionCommand, Channel: ch, User: s.AddUser("ada", false), Data: map[string]any{"name": "x"}})
	s.mu.Lock()
	s.inter[it.ID].Dispatched = time.Now().Add(-InteractionAckDeadline)
	s.mu.Unlock()
	resp, body := post(t, s, "POST", "/interactions/"+it.ID+"/"+it.Token+"/callback", "", map[string]any{"type": 4, "data": map[string]string{"content": "late"}})
	if resp.StatusCode != 404 || !strings.Contains(string(body), "10062") {
		t.Fatalf("late callback: %d %s, want 404 Unknown interaction", resp.StatusCode, body)
	}
}
