package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"kimibot/conversation"
)

// perMillion converts USD per million tokens to USD per token.
const perMillion = 1e-6

// DefaultPrices are Moonshot's published pay-as-you-go prices by model
// family, in USD per token: input on a cache miss (Prompt), input on a
// cache hit (Cached) and output (Completion). KIMIBOT_PRICES overrides or
// extends them.
var DefaultPrices = map[string]Price{
	"kimi-k3":                {Prompt: 3.00 * perMillion, Cached: 0.30 * perMillion, Completion: 15.00 * perMillion},
	"kimi-k2.6":              {Prompt: 0.95 * perMillion, Cached: 0.16 * perMillion, Completion: 4.00 * perMillion},
	"kimi-k2.5":              {Prompt: 0.60 * perMillion, Cached: 0.10 * perMillion, Completion: 3.00 * perMillion},
	"kimi-k2-0905-preview":   {Prompt: 0.60 * perMillion, Cached: 0.15 * perMillion, Completion: 2.50 * perMillion},
	"kimi-k2-0711-preview":   {Prompt: 0.60 * perMillion, Cached: 0.15 * perMillion, Completion: 2.50 * perMillion},
	"kimi-k2-turbo-preview":  {Prompt: 1.15 * perMillion, Cached: 0.15 * perMillion, Completion: 8.00 * perMillion},
	"kimi-k2-thinking":       {Prompt: 0.60 * perMillion, Cached: 0.15 * perMillion, Completion: 2.50 * perMillion},
	"kimi-k2-thinking-turbo": {Prompt: 1.15 * perMillion, Cached: 0.15 * perMillion, Completion: 8.00 * perMillion},
	"moonshot-v1-8k":         {Prompt: 0.20 * perMillion, Completion: 2.00 * perMillion},
	"moonshot-v1-32k":        {Prompt: 1.00 * perMillion, Completion: 3.00 * perMillion},
	"moonshot-v1-128k":       {Prompt: 2.00 * perMillion, Completion: 5.00 * perMillion},
}

// DefaultWebSearchPrice is Moonshot's price of one $web_search call in USD.
const DefaultWebSearchPrice = 0.005

// ParsePrices reads KIMIBOT_PRICES: a JSON object from model ID to prices
// in USD per million tokens, such as
// {"kimi-k2.6":{"input":0.95,"cached":0.16,"output":4}}. The result holds
// DefaultPrices with the given models replaced.
func ParsePrices(s string) (map[string]Price, error) {
	out := make(map[string]Price, len(DefaultPrices))
	for k, v := range DefaultPrices {
		out[k] = v
	}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	var in map[string]struct {
		Input  *float64 `json:"input"`
		Cached *float64 `json:"cached"`
		Output *float64 `json:"output"`
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("parse prices: %w", err)
	}
	for model, p := range in {
		if p.Input == nil || p.Output == nil || *p.Input < 0 || *p.Output < 0 || (p.Cached != nil && *p.Cached < 0) {
			return nil, fmt.Errorf("prices for %s: input and output must be given and not negative", model)
		}
		price := Price{Prompt: *p.Input * perMillion, Completion: *p.Output * perMillion}
		if p.Cached != nil {
			price.Cached = *p.Cached * perMillion
		}
		out[model] = price
	}
	return out, nil
}

// priceFor returns the configured price of model: by its exact ID, then by
// its family (without an OpenRouter "~", vendor or ":variant"), longest
// matching prefix first.
func priceFor(prices map[string]Price, model string) (Price, bool) {
	if p, ok := prices[model]; ok {
		return p, true
	}
	id := strings.TrimPrefix(model, "~")
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[:i]
	}
	best, found := "", false
	for k := range prices {
		if strings.HasPrefix(id, k) && len(k) > len(best) {
			best, found = k, true
		}
	}
	return prices[best], found
}

// priced returns u with its cost: the provider's when it reported one
// (OpenRouter), else the price table's, cached input at its own price.
func (e *Engine) priced(ctx context.Context, model string, u conversation.Usage) conversation.Usage {
	if u.Cost == 0 {
		u.Cost = e.cost(ctx, model, u)
	}
	return u
}
