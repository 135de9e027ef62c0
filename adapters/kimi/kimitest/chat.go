package kimitest

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// handleChat serves POST chat/completions: decode, route, validate, pick
// the answer, then stream it or return it whole.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	rec := recordOf(r.Context())
	if rec.req == nil || rec.req.Chat == nil {
		s.writeError(w, invalidRequest("Invalid request: body must be a JSON object"))
		return
	}
	if rec.decodeErr != nil {
		s.writeError(w, invalidRequest("Invalid request: "+rec.decodeErr.Error()))
		return
	}
	req := rec.req.Chat
	rt, apiErr := s.resolve(req)
	if apiErr == nil {
		apiErr = s.validate(req, rt.model)
	}
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	resp := s.next(rec.req)
	if resp.Error != nil {
		s.writeError(w, resp.Error)
		return
	}
	t := s.newTurn(req, rt, resp)
	if req.Stream {
		s.stream(w, r, t)
		return
	}
	s.complete(w, r, t)
}

// turn is one answer ready to be written: the scripted response with every
// default filled in.
type turn struct {
	flavor       Flavor
	resp         Response
	id           string
	created      int64
	model        string
	provider     string
	reasoning    string
	calls        []ToolCall
	finish       string
	usage        Usage
	size         int
	includeUsage bool
	// deltaEvents caches deltas(), which stream and finalIndex both read.
	deltaEvents [][]byte
}

func (s *Server) newTurn(req *ChatRequest, rt route, resp Response) *turn {
	t := &turn{
		flavor:   s.opts.Flavor,
		resp:     resp,
		created:  time.Now().Unix(),
		model:    rt.model.ID,
		provider: rt.provider,
		finish:   resp.FinishReason,
		size:     resp.ChunkSize,
	}
	t.id = "chatcmpl-" + randString(24)
	if t.flavor == OpenRouter {
		t.id = "gen-" + strconv.FormatInt(t.created, 10) + "-" + randString(20)
	}
	if resp.Model != "" {
		t.model = resp.Model
	}
	if t.size <= 0 {
		t.size = defaultChunkSize
	}
	t.reasoning = resp.Reasoning
	if t.flavor == OpenRouter && req.reasoningPrefs().Exclude {
		t.reasoning = ""
	}
	t.includeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	t.calls = s.fillCalls(resp.ToolCalls)
	if t.finish == "" {
		t.finish = "stop"
		if len(t.calls) > 0 {
			t.finish = "tool_calls"
		}
	}
	t.usage = s.usage(req, rt.model, resp, t.calls)
	return t
}

// fillCalls gives each scripted call its default ID (and $web_search its
// default arguments), and remembers what was sent to $web_search calls.
func (s *Server) fillCalls(in []ToolCall) []ToolCall {
	if len(in) == 0 {
		return nil
	}
	out := make([]ToolCall, len(in))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range in {
		if c.ID == "" {
			c.ID = fmt.Sprintf("%s:%d", c.Name, s.calls)
			if s.opts.Flavor == OpenRouter {
				c.ID = fmt.Sprintf("call_%d", s.calls)
			}
		}
		s.calls++
		if c.Name == webSearch {
			if c.Arguments == "" {
				c.Arguments = `{"search_result":{"search_id":"` + randString(20) + `"},"usage":{"total_tokens":8933}}`
			}
			s.webSearch[c.ID] = c.Arguments
		}
		out[i] = c
	}
	return out
}

func (s *Server) sentWebSearch(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	args, ok := s.webSearch[id]
	return args, ok
}

// usage returns the scripted usage or an estimate, and adds an OpenRouter
// answer's cost to the account's spending.
func (s *Server) usage(req *ChatRequest, m Model, resp Response, calls []ToolCall) Usage {
	u := Usage{}
	if resp.Usage != nil {
		u = *resp.Usage
	} else {
		u.PromptTokens = promptTokens(req)
		u.ReasoningTokens = estimate(resp.Reasoning)
		u.CompletionTokens = estimate(resp.Content) + u.ReasoningTokens
		for _, c := range calls {
			u.CompletionTokens += estimate(c.Name) + estimate(c.Arguments)
		}
		u.Cost = float64(u.PromptTokens)*price(m.PromptPrice) + float64(u.CompletionTokens)*price(m.CompletionPrice)
	}
	if s.opts.Flavor == OpenRouter {
		s.mu.Lock()
		s.spent += u.Cost
		s.mu.Unlock()
	}
	return u
}

func callType(name string) string {
	if name == webSearch {
		return "builtin_function"
	}
	return "function"
}

const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randString returns n random lowercase letters and digits, for IDs.
func randString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}
