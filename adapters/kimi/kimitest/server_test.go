package kimitest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct {
		flavor Flavor
		suffix string
	}{{Moonshot, "/v1"}, {OpenRouter, "/api/v1"}} {
		s := MustServer(t, tc.flavor)
		if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
			t.Errorf("%v: URL = %q, want loopback", tc.flavor, s.URL())
		}
		if s.BaseURL() != s.URL()+tc.suffix {
			t.Errorf("%v: BaseURL = %q, want URL()+%q", tc.flavor, s.BaseURL(), tc.suffix)
		}
	}
}

func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		name   string
		flavor Flavor
		auth   string
		status int
		typ    string
		msg    string
	}{
		{"MoonshotOK", Moonshot, "Bearer test-key", 200, "", ""},
		{"MoonshotMissing", Moonshot, "", 401, "invalid_authentication_error", "Invalid Authentication"},
		{"MoonshotWrong", Moonshot, "Bearer other", 401, "invalid_authentication_error", "Invalid Authentication"},
		{"MoonshotNoBearer", Moonshot, "test-key", 401, "invalid_authentication_error", "Invalid Authentication"},
		{"OpenRouterOK", OpenRouter, "Bearer test-key", 200, "", ""},
		{"OpenRouterMissing", OpenRouter, "", 401, "", "No auth credentials found"},
		{"OpenRouterWrong", OpenRouter, "Bearer other", 401, "", "User not found."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustServer(t, tc.flavor)
			model := DefaultModels(tc.flavor)[0].ID
			r := MustDoAuth(t, s, http.MethodPost, s.prefix()+"/chat/completions", body(model, nil, user("hi")), tc.auth)
			if tc.status == 200 {
				if r.Status != 200 {
					t.Fatalf("status = %d, body %s", r.Status, r.Body)
				}
				return
			}
			e := MustError(t, r, tc.status)
			if e.Error.Message != tc.msg || e.Error.Type != tc.typ {
				t.Errorf("error = %+v, want type %q message %q", e.Error, tc.typ, tc.msg)
			}
			if tc.flavor == OpenRouter && e.Error.Code != float64(401) {
				t.Errorf("code = %v, want 401", e.Error.Code)
			}
		})
	}
}

func TestAuthOtherRoutes(t *testing.T) {
	m := MustServer(t, Moonshot)
	if r := MustDoAuth(t, m, http.MethodGet, "/v1/models", nil, ""); r.Status != 401 {
		t.Errorf("moonshot models without key: status %d, want 401", r.Status)
	}
	o := MustServer(t, OpenRouter)
	if r := MustDoAuth(t, o, http.MethodGet, "/api/v1/models", nil, ""); r.Status != 200 {
		t.Errorf("openrouter models without key: status %d, want 200 (public)", r.Status)
	}
	if r := MustDoAuth(t, o, http.MethodGet, "/api/v1/key", nil, ""); r.Status != 401 {
		t.Errorf("openrouter key without key: status %d, want 401", r.Status)
	}
	custom := New(t, Options{APIKey: "sk-custom"})
	if r := MustDoAuth(t, custom, http.MethodGet, "/v1/models", nil, "Bearer sk-custom"); r.Status != 200 {
		t.Errorf("custom key: status %d, want 200", r.Status)
	}
}

func TestUnknownModel(t *testing.T) {
	m := MustServer(t, Moonshot)
	e := MustError(t, MustChat(t, m, body("kimi-latest", nil, user("hi"))), 404)
	if e.Error.Type != "resource_not_found_error" || e.Error.Message != "Not found the model kimi-latest or Permission denied" {
		t.Errorf("moonshot error = %+v", e.Error)
	}
	o := MustServer(t, OpenRouter)
	e = MustError(t, MustChat(t, o, body("moonshotai/kimi-k9", nil, user("hi"))), 400)
	if e.Error.Code != float64(400) || !strings.Contains(e.Error.Message, "moonshotai/kimi-k9") {
		t.Errorf("openrouter error = %+v", e.Error)
	}
}

func TestUnknownRoute(t *testing.T) {
	s := MustServer(t, Moonshot)
	e := MustError(t, MustDo(t, s, http.MethodGet, "/v1/nothing", nil), 404)
	if e.Error.Type != "resource_not_found_error" {
		t.Errorf("error = %+v", e.Error)
	}
}

func TestMalformedBody(t *testing.T) {
	s := MustServer(t, Moonshot)
	e := MustError(t, MustDo(t, s, http.MethodPost, "/v1/chat/completions", "not an object"), 400)
	if e.Error.Type != "invalid_request_error" {
		t.Errorf("error = %+v", e.Error)
	}
	e = MustError(t, MustChat(t, s, map[string]any{"model": 5, "messages": []any{}}), 400)
	if !strings.Contains(e.Error.Message, "Invalid request") {
		t.Errorf("wrong-type field: error = %+v", e.Error)
	}
}

func TestModelsMoonshot(t *testing.T) {
	s := MustServer(t, Moonshot)
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID                string `json:"id"`
			Object            string `json:"object"`
			OwnedBy           string `json:"owned_by"`
			ContextLength     int    `json:"context_length"`
			SupportsReasoning bool   `json:"supports_reasoning"`
			SupportsImageIn   bool   `json:"supports_image_in"`
			SupportsVideoIn   bool   `json:"supports_video_in"`
		} `json:"data"`
	}
	MustJSON(t, MustDo(t, s, http.MethodGet, "/v1/models", nil).Body, &list)
	want := DefaultModels(Moonshot)
	if list.Object != "list" || len(list.Data) != len(want) {
		t.Fatalf("list = %+v", list)
	}
	for i, m := range want {
		got := list.Data[i]
		if got.ID != m.ID || got.Object != "model" || got.ContextLength != m.ContextLength ||
			got.SupportsReasoning != m.Reasoning || got.SupportsImageIn != m.Vision || got.SupportsVideoIn != m.Video {
			t.Errorf("model %d = %+v, want %+v", i, got, m)
		}
	}
	if list.Data[0].ID != "kimi-k2.6" || list.Data[0].ContextLength != 262144 || !list.Data[0].SupportsImageIn {
		t.Errorf("first model = %+v", list.Data[0])
	}
}

func TestModelsOpenRouter(t *testing.T) {
	s := MustServer(t, OpenRouter)
	var list struct {
		Data []struct {
			ID            string `json:"id"`
			ContextLength int    `json:"context_length"`
			Architecture  struct {
				InputModalities []string `json:"input_modalities"`
			} `json:"architecture"`
			Pricing     map[string]string `json:"pricing"`
			TopProvider struct {
				ContextLength int `json:"context_length"`
			} `json:"top_provider"`
			SupportedParameters []string `json:"supported_parameters"`
		} `json:"data"`
	}
	MustJSON(t, MustDoAuth(t, s, http.MethodGet, "/api/v1/models", nil, "").Body, &list)
	want := DefaultModels(OpenRouter)
	if len(list.Data) != len(want) {
		t.Fatalf("got %d models, want %d", len(list.Data), len(want))
	}
	for i, m := range want {
		got := list.Data[i]
		hasImage := strings.Contains(strings.Join(got.Architecture.InputModalities, ","), "image")
		hasReasoning := strings.Contains(","+strings.Join(got.SupportedParameters, ",")+",", ",reasoning,")
		if got.ID != m.ID || got.ContextLength != m.ContextLength || got.TopProvider.ContextLength != m.ContextLength ||
			hasImage != m.Vision || hasReasoning != m.Reasoning ||
			got.Pricing["prompt"] != m.PromptPrice || got.Pricing["completion"] != m.CompletionPrice {
			t.Errorf("model %d = %+v, want %+v", i, got, m)
		}
	}
}

func TestCustomModels(t *testing.T) {
	s := New(t, Options{Models: []Model{{ID: "only-model", ContextLength: 100}}})
	if r := MustChat(t, s, body("only-model", nil, user("hi"))); r.Status != 200 {
		t.Fatalf("custom model: status %d %s", r.Status, r.Body)
	}
	if r := MustChat(t, s, body("kimi-k2.6", nil, user("hi"))); r.Status != 404 {
		t.Fatalf("default model with custom table: status %d, want 404", r.Status)
	}
}

func TestRecording(t *testing.T) {
	s := MustServer(t, Moonshot)
	MustDo(t, s, http.MethodGet, "/v1/models", nil)
	MustChat(t, s, body("kimi-k2.6", map[string]any{"custom_field": 7}, user("one")))
	MustDoAuth(t, s, http.MethodPost, "/v1/chat/completions", body("kimi-k2.6", nil, user("two")), "")

	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("recorded %d requests, want 3", len(reqs))
	}
	if reqs[0].Method != http.MethodGet || reqs[0].Path != "/v1/models" || reqs[0].Chat != nil {
		t.Errorf("first = %s %s chat=%v", reqs[0].Method, reqs[0].Path, reqs[0].Chat)
	}
	if got := reqs[1].Header.Get("Authorization"); got != "Bearer test-key" {
		t.Errorf("recorded auth header = %q", got)
	}
	if reqs[1].Time.IsZero() || !strings.Contains(string(reqs[1].Body), `"one"`) {
		t.Errorf("second = %+v", reqs[1])
	}
	chats := s.ChatRequests()
	if len(chats) != 2 || chats[0].Messages[0].Text() != "one" || chats[1].Messages[0].Text() != "two" {
		t.Fatalf("chat requests = %+v", chats)
	}
	if string(chats[0].Raw["custom_field"]) != "7" || string(chats[0].Messages[0].Raw["role"]) != `"user"` {
		t.Errorf("raw fields = %s / %v", chats[0].Raw["custom_field"], chats[0].Messages[0].Raw)
	}
}

func TestWaitRequests(t *testing.T) {
	s := MustServer(t, Moonshot)
	const n = 5
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- postChat(s, body("kimi-k2-turbo-preview", nil, user(fmt.Sprint("msg ", i))))
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.WaitRequests(ctx, n); err != nil {
		t.Fatalf("WaitRequests: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(s.ChatRequests()); got != n {
		t.Errorf("chat requests = %d, want %d", got, n)
	}

	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	if err := s.WaitRequests(cctx, n+1); err == nil {
		t.Error("WaitRequests with a cancelled context returned nil")
	}
}

// postChat posts a chat request from any goroutine and reports a
// failure as an error.
func postChat(s *Server, payload map[string]any) error {
	resp, err := postChatRaw(s, payload)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

func TestQueueHandlerEcho(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(Response{Content: "scripted"})
	s.SetHandler(func(r *Request) Response {
		return Response{Content: "handled " + r.Chat.lastUserText()}
	})
	for _, want := range []string{"scripted", "handled b"} {
		if got := completionText(t, MustChat(t, s, body("kimi-k2-turbo-preview", nil, user("b")))); got != want {
			t.Errorf("content = %q, want %q", got, want)
		}
	}
	s.SetHandler(nil)
	if got := completionText(t, MustChat(t, s, body("kimi-k2-turbo-preview", nil, user("c")))); got != "You said: c" {
		t.Errorf("echo = %q", got)
	}
}

func TestSetHandlerConcurrent(t *testing.T) {
	s := MustServer(t, OpenRouter)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			s.SetHandler(func(*Request) Response { return Response{Content: fmt.Sprint(i)} })
		})
		wg.Go(func() {
			if err := postChat(s, body("moonshotai/kimi-k2", nil, user("x"))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestCloseEndsDelayedStreams(t *testing.T) {
	s := NewServer(Options{})
	defer s.Close()
	s.Enqueue(Response{Content: "late", FirstDelay: time.Hour},
		Response{Content: "abcdefgh", ChunkSize: 1, Delay: time.Hour})
	first, err := postChatRaw(s, body("kimi-k2.6", map[string]any{"stream": true}, user("x")))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer first.Body.Close()
	if first.StatusCode != 200 || first.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("headers before the first chunk: %d %v", first.StatusCode, first.Header)
	}
	second, err := postChatRaw(s, body("kimi-k2.6", map[string]any{"stream": true}, user("x")))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer second.Body.Close()
	line, err := bufio.NewReader(second.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, `"role":"assistant"`) {
		t.Fatalf("first chunk before the delay: %q, %v", line, err)
	}
	s.Close()
	s.Close()
}

// completionText returns the content of a non-stream answer.
func completionText(tb testing.TB, r result) string {
	tb.Helper()
	var c struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if r.Status != 200 {
		tb.Fatalf("status %d: %s", r.Status, r.Body)
	}
	MustJSON(tb, r.Body, &c)
	if len(c.Choices) != 1 {
		tb.Fatalf("choices = %d", len(c.Choices))
	}
	return c.Choices[0].Message.Content
}
