package kimitest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Model is one row of the fake's model table: what the model can do and
// which request rules Moonshot enforces for it.
type Model struct {
	ID            string
	ContextLength int
	// Vision is true when the model accepts image input.
	Vision bool
	// Video is true when the model accepts video input (Moonshot lists it).
	Video bool
	// Reasoning is true when the model can think (stream reasoning).
	Reasoning bool
	// ThinkingDefault turns thinking on when the request omits `thinking`.
	ThinkingDefault bool
	// ThinkingToggle allows `thinking:{"type":"disabled"}`.
	ThinkingToggle bool
	// LockedTemperature fixes the temperature; nil allows any value in [0,1].
	LockedTemperature *LockedTemp
	// LockedTopP fixes top_p when non-zero.
	LockedTopP float64
	// FixedN rejects any n other than 1.
	FixedN bool
	// PromptPrice and CompletionPrice are OpenRouter pricing strings in USD per token.
	PromptPrice, CompletionPrice string
}

// LockedTemp is the only temperature a model accepts, with thinking on and off.
type LockedTemp struct{ Thinking, NoThinking float64 }

// DefaultModels returns the default model table of a flavour. The rows
// follow kimi-api.md; each call returns fresh values.
func DefaultModels(f Flavor) []Model {
	if f == OpenRouter {
		return []Model{
			{ID: "moonshotai/kimi-k2", ContextLength: 131072,
				PromptPrice: "0.00000057", CompletionPrice: "0.0000023"},
			{ID: "moonshotai/kimi-k2-0905", ContextLength: 262144,
				PromptPrice: "0.00000039", CompletionPrice: "0.0000019"},
			{ID: "moonshotai/kimi-k2-thinking", ContextLength: 262144, Reasoning: true, ThinkingDefault: true,
				PromptPrice: "0.0000006", CompletionPrice: "0.0000025"},
			{ID: "moonshotai/kimi-k2.5", ContextLength: 262144, Vision: true, Reasoning: true,
				ThinkingDefault: true, ThinkingToggle: true,
				PromptPrice: "0.0000006", CompletionPrice: "0.000003"},
			{ID: "moonshotai/kimi-k3", ContextLength: 262144, Vision: true, Reasoning: true, ThinkingDefault: true,
				PromptPrice: "0.000001", CompletionPrice: "0.000004"},
		}
	}
	k2x := func(id string) Model {
		return Model{ID: id, ContextLength: 262144, Vision: true, Video: true, Reasoning: true,
			ThinkingDefault: true, ThinkingToggle: true,
			LockedTemperature: &LockedTemp{Thinking: 1, NoThinking: 0.6}, LockedTopP: 0.95, FixedN: true}
	}
	return []Model{
		k2x("kimi-k2.6"),
		k2x("kimi-k2.5"),
		{ID: "kimi-k2-turbo-preview", ContextLength: 262144},
		{ID: "kimi-k2-thinking", ContextLength: 262144, Reasoning: true, ThinkingDefault: true},
		{ID: "moonshot-v1-8k", ContextLength: 8192},
		{ID: "moonshot-v1-32k-vision-preview", ContextLength: 32768, Vision: true},
		{ID: "kimi-k3", ContextLength: 262144, Vision: true, Video: true, Reasoning: true, ThinkingDefault: true,
			LockedTemperature: &LockedTemp{Thinking: 1, NoThinking: 1}, FixedN: true},
	}
}

// created is the fixed creation time the fake reports for models.
const created = 1760000000

func (s *Server) handleModels(w http.ResponseWriter, _ *http.Request) {
	if s.opts.Flavor == OpenRouter {
		data := make([]orModel, 0, len(s.opts.Models))
		for _, m := range s.opts.Models {
			data = append(data, newORModel(m))
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": data})
		return
	}
	data := make([]moonshotModel, 0, len(s.opts.Models))
	for _, m := range s.opts.Models {
		data = append(data, moonshotModel{
			ID: m.ID, Object: "model", Created: created, OwnedBy: "moonshot",
			ContextLength: m.ContextLength, SupportsReasoning: m.Reasoning,
			SupportsImageIn: m.Vision, SupportsVideoIn: m.Video,
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// moonshotModel is one entry of Moonshot's GET /v1/models.
type moonshotModel struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Created           int64  `json:"created"`
	OwnedBy           string `json:"owned_by"`
	ContextLength     int    `json:"context_length"`
	SupportsReasoning bool   `json:"supports_reasoning"`
	SupportsImageIn   bool   `json:"supports_image_in"`
	SupportsVideoIn   bool   `json:"supports_video_in"`
}

// orModel is one entry of OpenRouter's GET /api/v1/models.
type orModel struct {
	ID            string `json:"id"`
	CanonicalSlug string `json:"canonical_slug"`
	Name          string `json:"name"`
	Created       int64  `json:"created"`
	Description   string `json:"description"`
	ContextLength int    `json:"context_length"`
	Architecture  struct {
		InputModalities  []string `json:"input_modalities"`
		OutputModalities []string `json:"output_modalities"`
		Tokenizer        string   `json:"tokenizer"`
		InstructType     *string  `json:"instruct_type"`
	} `json:"architecture"`
	Pricing     map[string]string `json:"pricing"`
	TopProvider struct {
		ContextLength       int  `json:"context_length"`
		MaxCompletionTokens *int `json:"max_completion_tokens"`
		IsModerated         bool `json:"is_moderated"`
	} `json:"top_provider"`
	PerRequestLimits    map[string]any `json:"per_request_limits"`
	SupportedParameters []string       `json:"supported_parameters"`
	DefaultParameters   map[string]any `json:"default_parameters"`
	ExpirationDate      *string        `json:"expiration_date"`
}

func newORModel(m Model) orModel {
	o := orModel{
		ID: m.ID, CanonicalSlug: m.ID, Created: created, ContextLength: m.ContextLength,
		Name:        "MoonshotAI: " + strings.TrimPrefix(m.ID, "moonshotai/"),
		Description: "Kimi model served by the kimitest fake.",
		Pricing: map[string]string{
			"prompt": orPrice(m.PromptPrice), "completion": orPrice(m.CompletionPrice),
			"request": "0", "image": "0", "web_search": "0", "internal_reasoning": "0",
		},
		SupportedParameters: []string{"max_tokens", "temperature", "top_p", "stop", "frequency_penalty",
			"presence_penalty", "seed", "response_format", "structured_outputs", "tools", "tool_choice"},
		DefaultParameters: map[string]any{"temperature": nil, "top_p": nil, "frequency_penalty": nil},
	}
	o.Architecture.InputModalities = []string{"text"}
	if m.Vision {
		o.Architecture.InputModalities = append(o.Architecture.InputModalities, "image")
	}
	o.Architecture.OutputModalities = []string{"text"}
	o.Architecture.Tokenizer = "Other"
	o.TopProvider.ContextLength = m.ContextLength
	if m.Reasoning {
		o.SupportedParameters = append(o.SupportedParameters, "reasoning", "include_reasoning")
	}
	return o
}

func orPrice(p string) string {
	if p == "" {
		return "0"
	}
	return p
}

// price parses an OpenRouter pricing string; an empty or bad string is 0.
func price(p string) float64 {
	v, err := strconv.ParseFloat(p, 64)
	if err != nil {
		return 0
	}
	return v
}

// route is where a chat request is served: the model and, on OpenRouter,
// the provider.
type route struct {
	model    Model
	provider string
}

// providers are the OpenRouter provider slugs the fake knows, with their
// display names.
var providers = []struct{ slug, name string }{
	{"moonshotai", "Moonshot AI"},
	{"fireworks", "Fireworks"},
	{"together", "Together"},
	{"deepinfra", "DeepInfra"},
	{"groq", "Groq"},
	{"novita", "NovitaAI"},
	{"parasail", "Parasail"},
	{"baseten", "Baseten"},
}

func providerName(slug string) (string, bool) {
	for _, p := range providers {
		if strings.EqualFold(slug, p.slug) || strings.EqualFold(slug, p.name) {
			return p.name, true
		}
	}
	return "", false
}

// resolve finds the model that serves a chat request: the request model, or
// on OpenRouter the first known model of the `models` fallback list.
func (s *Server) resolve(req *ChatRequest) (route, *APIError) {
	if m, ok := s.models[req.Model]; ok {
		return s.routeProvider(req, m)
	}
	if m, ok := s.alias(req.Model); ok {
		return s.routeProvider(req, m)
	}
	if s.opts.Flavor == Moonshot {
		return route{}, &APIError{Status: http.StatusNotFound, Type: "resource_not_found_error",
			Message: "Not found the model " + req.Model + " or Permission denied"}
	}
	for _, id := range req.Models {
		if m, ok := s.models[id]; ok {
			return s.routeProvider(req, m)
		}
	}
	return route{}, &APIError{Status: http.StatusBadRequest, Type: "invalid_request_error",
		Message: req.Model + " is not a valid model ID"}
}

// routeProvider applies OpenRouter's provider preferences: with
// allow_fallbacks:false (or `only`) and no known provider listed, nothing
// can serve the request.
func (s *Server) routeProvider(req *ChatRequest, m Model) (route, *APIError) {
	r := route{model: m}
	if s.opts.Flavor != OpenRouter {
		return r, nil
	}
	r.provider = "Moonshot AI"
	prefs := req.providerPrefs()
	listed := slices.Concat(prefs.Only, prefs.Order)
	for _, slug := range listed {
		if name, ok := providerName(slug); ok {
			r.provider = name
			return r, nil
		}
	}
	strict := len(prefs.Only) > 0 || (len(prefs.Order) > 0 && prefs.AllowFallbacks != nil && !*prefs.AllowFallbacks)
	if strict {
		return route{}, &APIError{Status: http.StatusServiceUnavailable, Type: "provider_unavailable",
			Message:  "No allowed providers are available for the selected model.",
			Metadata: map[string]any{"requested_providers": listed}}
	}
	return r, nil
}
