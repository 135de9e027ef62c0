package kimitest

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestPreStreamErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    *APIError
		status int
		typ    string
		msg    string
	}{
		{"RateLimited", RateLimited(), 429, "rate_limit_reached_error", "please try again after 1 seconds"},
		{"EngineOverloaded", EngineOverloaded(), 429, "engine_overloaded_error", "The engine is currently overloaded, please try again later"},
		{"QuotaExceeded", QuotaExceeded(), 429, "exceeded_current_quota_error", "You exceeded your current token quota"},
		{"QuotaInactive", QuotaInactive(), 403, "exceeded_current_quota_error", "is not active, current state:"},
		{"ContextTooLong", ContextTooLong(262144), 400, "invalid_request_error", "Your request exceeded model token limit : 262144"},
		{"ContentFilter", ContentFilter(), 400, "content_filter", "The request was rejected because it was considered high risk"},
		{"ServerError", ServerError(), 500, "server_error", "The server had an error"},
		{"Unauthorized", Unauthorized(), 401, "invalid_authentication_error", "Invalid Authentication"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustServer(t, Moonshot)
			s.Enqueue(Response{Error: tc.err})
			e := MustError(t, MustChat(t, s, body("kimi-k2.6", map[string]any{"stream": true}, user("x"))), tc.status)
			if e.Error.Type != tc.typ || !strings.Contains(e.Error.Message, tc.msg) || e.Error.Code != nil {
				t.Errorf("error = %+v", e.Error)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	for _, f := range []Flavor{Moonshot, OpenRouter} {
		s := MustServer(t, f)
		e := RateLimited()
		e.RetryAfter = "7"
		s.Enqueue(Response{Error: e}, Response{Error: EngineOverloaded()})
		model := DefaultModels(f)[0].ID
		r := MustChat(t, s, body(model, nil, user("x")))
		if r.Status != 429 || r.Header.Get("Retry-After") != "7" {
			t.Errorf("%v: status %d Retry-After %q", f, r.Status, r.Header.Get("Retry-After"))
		}
		r = MustChat(t, s, body(model, nil, user("x")))
		if _, ok := r.Header["Retry-After"]; ok || r.Status != 429 {
			t.Errorf("%v: Retry-After sent when not scripted", f)
		}
	}
}

func TestMidStreamErrorMoonshot(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(Response{Content: "abcdefghijklmnopqrstuvwxyz", ChunkSize: 5,
		MidStreamError: EngineOverloaded(), MidStreamAfter: 2})
	st := MustStream(t, s, body("kimi-k2-turbo-preview", nil, user("x")))
	if st.done() || len(st.Data) != 4 || !framing.MatchString(st.Raw) {
		t.Fatalf("data = %q", st.Data)
	}
	if st.Data[3] != `{"error":{"message":"The engine is currently overloaded, please try again later","type":"engine_overloaded_error"}}` {
		t.Errorf("error line = %s", st.Data[3])
	}
	for _, c := range st.chunks(t)[:3] {
		if c.Choices[0].FinishReason != nil {
			t.Errorf("finish_reason before the error: %v", c.Raw)
		}
	}
}

func TestCutAfter(t *testing.T) {
	for _, f := range []Flavor{Moonshot, OpenRouter} {
		s := MustServer(t, f)
		s.Enqueue(Response{Content: "abcdefghijklmnopqrstuvwxyz", ChunkSize: 4, CutAfter: 3},
			Response{Content: "ab", CutAfter: 50})
		model := DefaultModels(f)[1].ID
		for _, want := range []int{3, 2} {
			st := MustStream(t, s, body(model, map[string]any{"stream_options": map[string]any{"include_usage": true}}, user("x")))
			if st.ReadErr != nil || st.done() || len(st.Data) != want || !st.Close {
				t.Fatalf("%v: err %v data %q close %v", f, st.ReadErr, st.Data, st.Close)
			}
			for _, c := range st.chunks(t) {
				if len(c.Choices) == 0 || c.Choices[0].FinishReason != nil {
					t.Errorf("%v: chunk after cut point: %v", f, c.Raw)
				}
			}
		}
	}
}

func TestCutAbort(t *testing.T) {
	s := MustServer(t, Moonshot)
	s.Enqueue(Response{Content: "abcdefghijklmnop", ChunkSize: 4, CutAfter: 2, Abort: true},
		Response{Content: "whole", CutAfter: 1})
	st := MustStream(t, s, body("kimi-k2.6", nil, user("x")))
	if !errors.Is(st.ReadErr, io.ErrUnexpectedEOF) || len(st.Data) != 2 {
		t.Fatalf("read err %v, data %q", st.ReadErr, st.Data)
	}
	resp, err := postChatRaw(s, body("kimi-k2.6", nil, user("x")))
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("non-stream cut: read err %v, want unexpected EOF", err)
	}
}
