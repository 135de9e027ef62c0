package kimi

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/internal/tasks"
)

func withRetryAfter(e *kimitest.APIError, v string) *kimitest.APIError {
	e.RetryAfter = v
	return e
}

func TestStreamRetries(t *testing.T) {
	ok := kimitest.Response{Content: "fine"}
	fail := func(e *kimitest.APIError) kimitest.Response { return kimitest.Response{Error: e} }
	tests := []struct {
		name     string
		flavor   kimitest.Flavor
		model    string
		script   []kimitest.Response
		kind     ErrorKind // "" when the stream must succeed
		requests int
		waits    []time.Duration // checked when not nil
	}{
		{name: "RateLimitedRetryAfter", script: []kimitest.Response{fail(withRetryAfter(kimitest.RateLimited(), "2")), ok},
			requests: 2, waits: []time.Duration{2 * time.Second}},
		{name: "RateLimitedMessageHint", script: []kimitest.Response{fail(kimitest.RateLimited()), ok},
			requests: 2, waits: []time.Duration{time.Second}},
		{name: "RetryAfterCappedAtMinute", script: []kimitest.Response{fail(withRetryAfter(kimitest.EngineOverloaded(), "600")), ok},
			requests: 2, waits: []time.Duration{time.Minute}},
		{name: "OverloadedBackoff", script: []kimitest.Response{fail(kimitest.EngineOverloaded()), fail(kimitest.EngineOverloaded()), ok},
			requests: 3},
		{name: "OverloadedBeforeFirstToken", script: []kimitest.Response{
			{Content: "never", MidStreamError: kimitest.EngineOverloaded()}, ok}, requests: 2},
		{name: "ServerErrorExhausted", script: []kimitest.Response{fail(kimitest.ServerError()), fail(kimitest.ServerError()),
			fail(kimitest.ServerError()), fail(kimitest.ServerError()), fail(kimitest.ServerError())}, kind: ProviderDown, requests: 5},
		{name: "QuotaExceeded", script: []kimitest.Response{fail(kimitest.QuotaExceeded()), ok}, kind: Quota, requests: 1},
		{name: "QuotaInactive", script: []kimitest.Response{fail(kimitest.QuotaInactive()), ok}, kind: Quota, requests: 1},
		{name: "ContextTooLong", script: []kimitest.Response{fail(kimitest.ContextTooLong(262144)), ok}, kind: ContextTooLong, requests: 1},
		{name: "ContentFilter", script: []kimitest.Response{fail(kimitest.ContentFilter()), ok}, kind: ContentFilter, requests: 1},
		{name: "BadRequest", script: []kimitest.Response{fail(&kimitest.APIError{Status: 400, Type: "invalid_request_error",
			Message: "Invalid request: stop has too many entries"}), ok}, kind: BadRequest, requests: 1},
		{name: "UnknownModel", model: "kimi-k1-retired", kind: NotFound, requests: 1},
		{name: "OpenRouterCredits", flavor: kimitest.OpenRouter, script: []kimitest.Response{
			fail(kimitest.ORError(402, "payment_required", "Insufficient credits")), ok}, kind: Quota, requests: 1},
		{name: "OpenRouterModeration", flavor: kimitest.OpenRouter, script: []kimitest.Response{
			fail(kimitest.ORError(403, "moderation", "Input flagged")), ok}, kind: ContentFilter, requests: 1},
		{name: "OpenRouterContext", flavor: kimitest.OpenRouter, script: []kimitest.Response{
			fail(kimitest.ORError(400, "context_length_exceeded", "This endpoint's maximum context length is 131072 tokens")), ok},
			kind: ContextTooLong, requests: 1},
		{name: "OpenRouterRateLimited", flavor: kimitest.OpenRouter, script: []kimitest.Response{
			fail(withRetryAfter(kimitest.ORError(429, "rate_limit_exceeded", "Rate limit exceeded"), "0")), ok}, requests: 2},
		{name: "OpenRouterProviderDown", flavor: kimitest.OpenRouter, script: []kimitest.Response{
			fail(kimitest.ORError(502, "provider_unavailable", "Provider returned error")),
			fail(withRetryAfter(kimitest.ORError(503, "provider_unavailable", "No provider"), "0")), ok},
			requests: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kimitest.New(t, kimitest.Options{Flavor: tt.flavor})
			c, waits := MustClient(t, s, nil)
			s.Enqueue(tt.script...)
			model := tt.model
			if model == "" {
				model = map[kimitest.Flavor]string{kimitest.Moonshot: "kimi-k2-turbo-preview", kimitest.OpenRouter: "moonshotai/kimi-k2"}[tt.flavor]
			}
			st, err := c.Stream(context.Background(), chat(model, "hi"))
			if tt.kind == "" {
				if err != nil {
					t.Fatalf("stream: %v", err)
				}
				if a, err := collect(t, st); err != nil || a.content != "fine" {
					t.Fatalf("answer = %q, %v", a.content, err)
				}
			} else {
				MustKind(t, err, tt.kind)
			}
			if n := len(s.ChatRequests()); n != tt.requests {
				t.Errorf("requests = %d, want %d", n, tt.requests)
			}
			if len(*waits) != tt.requests-1 {
				t.Errorf("waits = %v, want %d", *waits, tt.requests-1)
			}
			for i, w := range *waits {
				if tt.waits != nil && w != tt.waits[i] {
					t.Errorf("wait %d = %v, want %v", i, w, tt.waits[i])
				}
				if tt.waits == nil && (w <= 0 || w > 4*time.Millisecond) {
					t.Errorf("backoff wait %d = %v, want within (0, RetryMax]", i, w)
				}
			}
		})
	}
}

func TestRetryAfterDate(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, waits := MustClient(t, s, nil)
	at := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	s.Enqueue(kimitest.Response{Error: withRetryAfter(kimitest.EngineOverloaded(), at)}, kimitest.Response{Content: "ok"})
	MustAnswer(t, c, chat("kimi-k2-turbo-preview", "hi"))
	if len(*waits) != 1 || (*waits)[0] < 20*time.Second || (*waits)[0] > 30*time.Second {
		t.Fatalf("waits = %v, want about 30s", *waits)
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	c.wait = func(ctx context.Context, _ time.Duration) error { cancel(); return tasks.Sleep(ctx, time.Hour) }
	s.Enqueue(kimitest.Response{Error: kimitest.ServerError()})
	_, err := c.Stream(ctx, chat("kimi-k2-turbo-preview", "hi"))
	if err == nil || ctx.Err() == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if n := len(s.ChatRequests()); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestNoSecretInErrors(t *testing.T) {
	const secret = "sk-live-0123456789abcdef"
	t.Run("WrongKey", func(t *testing.T) {
		s := kimitest.New(t, kimitest.Options{})
		c, _ := MustClient(t, s, func(cfg *Config) { cfg.APIKey = secret })
		_, err := c.Stream(context.Background(), chat("kimi-k2.6", "hi"))
		ke := MustKind(t, err, Auth)
		if strings.Contains(err.Error(), secret) || strings.Contains(ke.UserMessage(), secret) {
			t.Fatalf("error leaks the key: %v", err)
		}
		if n := len(s.ChatRequests()); n != 1 {
			t.Errorf("requests = %d, want 1 (auth errors are not retried)", n)
		}
	})
	t.Run("EchoedByProvider", func(t *testing.T) {
		s := kimitest.New(t, kimitest.Options{APIKey: secret})
		var logs bytes.Buffer
		c, _ := MustClient(t, s, func(cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
		echo := &kimitest.APIError{Status: 500, Type: "server_error", Message: "upstream rejected key " + secret}
		s.Enqueue(kimitest.Response{Error: echo}, kimitest.Response{Error: echo}, kimitest.Response{Error: echo},
			kimitest.Response{Error: echo}, kimitest.Response{Error: echo})
		_, err := c.Stream(context.Background(), chat("kimi-k2.6", "hi"))
		MustKind(t, err, ProviderDown)
		if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "[redacted]") {
			t.Errorf("error = %v", err)
		}
		if logs.Len() == 0 || strings.Contains(logs.String(), secret) {
			t.Errorf("retry logs = %q", logs.String())
		}
		if auth := s.Requests()[0].Header.Get("Authorization"); auth != "Bearer "+secret {
			t.Errorf("authorization = %q", auth)
		}
	})
}

func TestClassifyStreamErrors(t *testing.T) {
	tests := []struct {
		status int
		body   string
		kind   ErrorKind
	}{
		{401, `{"error":{"message":"Incorrect API key provided","type":"incorrect_api_key_error"}}`, Auth},
		{403, `{"error":{"message":"The API you are accessing is not open","type":"permission_denied_error"}}`, Auth},
		{400, `{"error":{"message":"Input token length too long","type":"invalid_request_error"}}`, ContextTooLong},
		{408, `{"error":{"code":408,"message":"Timed out"}}`, Timeout},
		{429, `{"error":{"code":429,"message":"slow down","metadata":{"error_type":"provider_overloaded"}}}`, Overloaded},
		{502, `<html>Bad Gateway</html>`, ProviderDown},
		{418, ``, BadRequest},
	}
	for _, tt := range tests {
		if e := httpError(tt.status, http.Header{}, []byte(tt.body)); e.Kind != tt.kind || e.Status != tt.status {
			t.Errorf("%d %s: got %+v, want kind %s", tt.status, tt.body, e, tt.kind)
		}
	}
}
