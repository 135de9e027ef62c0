package kimitest

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestOpenRouterStream(t *testing.T) {
	s := MustServer(t, OpenRouter)
	r := scripted
	r.Comments, r.CommentsBetween = 301, 2
	s.Enqueue(r)
	st := MustStream(t, s, body("moonshotai/kimi-k2.5", nil, user("weather?")))
	if !framing.MatchString(st.Raw) || !st.done() {
		t.Fatalf("framing: %.300q", st.Raw)
	}
	if !strings.HasPrefix(st.Raw, strings.Repeat(": OPENROUTER PROCESSING\n\n", 301)+"data: ") {
		t.Errorf("stream does not start with 301 comment lines")
	}
	between := len(st.Data) - 1
	if st.Comments != 301+2*between {
		t.Errorf("comments = %d, want %d", st.Comments, 301+2*between)
	}
	cs := st.chunks(t)
	if got := order(t, cs); got != "role reasoning content tool final usage" {
		t.Fatalf("order = %q", got)
	}
	genID := regexp.MustCompile(`^gen-\d+-[a-z0-9]+$`)
	for _, c := range cs {
		if !genID.MatchString(c.ID) || c.Provider != "Moonshot AI" || c.Model != "moonshotai/kimi-k2.5" {
			t.Errorf("envelope = %v", c.Raw)
		}
	}
	if st.Header.Get("X-Generation-Id") != cs[0].ID {
		t.Errorf("X-Generation-Id = %q, want %q", st.Header.Get("X-Generation-Id"), cs[0].ID)
	}
	checkORReasoning(t, cs)
	checkORFinal(t, cs)
}

func checkORReasoning(t *testing.T, cs []testChunk) {
	t.Helper()
	var text string
	for _, c := range cs[:len(cs)-1] {
		d := c.Choices[0].Delta
		if d.ReasoningContent != nil {
			t.Errorf("openrouter delta carries reasoning_content: %v", c.Raw)
		}
		if d.Reasoning == nil {
			continue
		}
		if len(d.ReasoningDetails) != 1 || d.ReasoningDetails[0] != (testDetail{"reasoning.text", *d.Reasoning, "unknown", 0}) {
			t.Errorf("reasoning_details = %+v", d.ReasoningDetails)
		}
		text += *d.Reasoning
	}
	if text != scripted.Reasoning {
		t.Errorf("reasoning = %q", text)
	}
}

func checkORFinal(t *testing.T, cs []testChunk) {
	t.Helper()
	var rawChoices []map[string]json.RawMessage
	MustJSON(t, cs[1].Raw["choices"], &rawChoices)
	if string(rawChoices[0]["native_finish_reason"]) != "null" || string(rawChoices[0]["finish_reason"]) != "null" {
		t.Errorf("delta chunk choice = %v", rawChoices[0])
	}
	final := cs[len(cs)-2].Choices[0]
	if *final.FinishReason != "tool_calls" || *final.NativeFinishReason != "tool_calls" || final.Usage != nil {
		t.Errorf("final chunk = %v", cs[len(cs)-2].Raw)
	}
	last := cs[len(cs)-1]
	u := last.Usage
	if string(last.Raw["choices"]) != "[]" || u == nil || u.TotalTokens != 312 || u.Cost == nil || *u.Cost != 0.0004 ||
		u.IsBYOK == nil || u.PromptTokensDetails.CachedTokens != 90 || u.CompletionTokensDetails.ReasoningTokens != 33 {
		t.Errorf("usage chunk = %v", last.Raw)
	}
}

func TestOpenRouterReasoningExclude(t *testing.T) {
	for _, extra := range []map[string]any{
		{"reasoning": map[string]any{"exclude": true}},
		{"include_reasoning": false},
	} {
		s := MustServer(t, OpenRouter)
		s.Enqueue(scripted)
		st := MustStream(t, s, body("moonshotai/kimi-k2.5", extra, user("weather?")))
		if strings.Contains(st.Raw, `"reasoning"`) || strings.Contains(st.Raw, "reasoning_details") {
			t.Errorf("%v: reasoning sent: %.400s", extra, st.Raw)
		}
		if got := order(t, st.chunks(t)); got != "role content tool final usage" {
			t.Errorf("%v: order = %q", extra, got)
		}
	}
}

func TestOpenRouterUsageAlways(t *testing.T) {
	s := MustServer(t, OpenRouter)
	cs := MustStream(t, s, body("moonshotai/kimi-k2", nil, user("hello"))).chunks(t)
	last := cs[len(cs)-1]
	if len(last.Choices) != 0 || last.Usage == nil || last.Usage.Cost == nil {
		t.Fatalf("last chunk = %v", last.Raw)
	}
	m := DefaultModels(OpenRouter)[0]
	want := float64(last.Usage.PromptTokens)*price(m.PromptPrice) + float64(last.Usage.CompletionTokens)*price(m.CompletionPrice)
	if *last.Usage.Cost != want || want == 0 {
		t.Errorf("cost = %v, want %v", *last.Usage.Cost, want)
	}
}

func TestOpenRouterFallback(t *testing.T) {
	s := MustServer(t, OpenRouter)
	extra := map[string]any{"models": []string{"moonshotai/gone", "moonshotai/kimi-k2-0905", "moonshotai/kimi-k2"}}
	cs := MustStream(t, s, body("moonshotai/retired", extra, user("hi"))).chunks(t)
	for _, c := range cs {
		if c.Model != "moonshotai/kimi-k2-0905" {
			t.Fatalf("served model = %q, want the first known fallback", c.Model)
		}
	}
	s.Enqueue(Response{Content: "x", Model: "moonshotai/kimi-k2.5-0127"})
	if c := MustStream(t, s, body("moonshotai/kimi-k2.5", nil, user("hi"))).chunks(t)[0]; c.Model != "moonshotai/kimi-k2.5-0127" {
		t.Errorf("scripted served model = %q", c.Model)
	}
}

func TestOpenRouterProviderRouting(t *testing.T) {
	for _, tc := range []struct {
		name     string
		provider map[string]any
		status   int
		served   string
	}{
		{"ErrNoKnownProvider", map[string]any{"order": []string{"nobody"}, "allow_fallbacks": false}, 503, ""},
		{"ErrOnlyUnknown", map[string]any{"only": []string{"nobody"}}, 503, ""},
		{"FallbacksAllowed", map[string]any{"order": []string{"nobody"}}, 200, "Moonshot AI"},
		{"KnownProvider", map[string]any{"order": []string{"nobody", "fireworks"}, "allow_fallbacks": false}, 200, "Fireworks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := MustServer(t, OpenRouter)
			st := MustStream(t, s, body("moonshotai/kimi-k2", map[string]any{"provider": tc.provider}, user("hi")))
			if st.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", st.Status, tc.status, st.Raw)
			}
			if tc.status != 200 {
				var e errorBody
				MustJSON(t, []byte(st.Raw), &e)
				if e.Error.Code != float64(503) || e.Error.Message == "" {
					t.Errorf("error = %+v", e.Error)
				}
				return
			}
			if p := st.chunks(t)[0].Provider; p != tc.served {
				t.Errorf("provider = %q, want %q", p, tc.served)
			}
		})
	}
}

func TestOpenRouterPreStreamError(t *testing.T) {
	for _, status := range []int{402, 429, 502, 503} {
		s := MustServer(t, OpenRouter)
		s.Enqueue(Response{Error: ORError(status, "payment_required", "Insufficient credits")})
		e := MustError(t, MustChat(t, s, body("moonshotai/kimi-k2", map[string]any{"stream": true}, user("x"))), status)
		if e.Error.Code != float64(status) || e.Error.Message != "Insufficient credits" ||
			e.Error.Metadata["error_type"] != "payment_required" {
			t.Errorf("%d: error = %+v", status, e.Error)
		}
	}
	s := MustServer(t, OpenRouter)
	s.Enqueue(Response{Error: EngineOverloaded()})
	e := MustError(t, MustChat(t, s, body("moonshotai/kimi-k2", nil, user("x"))), 429)
	if e.Error.Code != float64(429) || e.Error.Type != "" {
		t.Errorf("moonshot error in openrouter shape = %+v", e.Error)
	}
}

func TestMidStreamErrorOpenRouter(t *testing.T) {
	s := MustServer(t, OpenRouter)
	s.Enqueue(Response{Content: "abcdefghijklmnopqrstuvwxyz", ChunkSize: 5, CommentsBetween: 1,
		MidStreamError: ORError(502, "provider_unavailable", "Provider disconnected"), MidStreamAfter: 1})
	st := MustStream(t, s, body("moonshotai/kimi-k2-0905", nil, user("x")))
	cs := st.chunks(t)
	if st.done() || len(cs) != 3 || st.Status != 200 {
		t.Fatalf("status %d data = %q", st.Status, st.Data)
	}
	last := cs[2]
	if !strings.HasPrefix(st.Data[2], `{"id":"gen-`) || last.Error == nil || last.Error.Code != float64(502) ||
		last.Error.Message != "Provider disconnected" || last.Error.Metadata["error_type"] != "provider_unavailable" {
		t.Errorf("error chunk = %s", st.Data[2])
	}
	if ch := last.Choices[0]; *ch.FinishReason != "error" || *ch.NativeFinishReason != "error" || last.Provider == "" {
		t.Errorf("error chunk choice = %s", st.Data[2])
	}
}
