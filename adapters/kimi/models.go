package kimi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"kimibot/bot"
)

// modelsFetchTimeout bounds one model-list request.
const modelsFetchTimeout = 30 * time.Second

// openRouterVendor is the OpenRouter vendor whose models kimibot lists.
const openRouterVendor = "moonshotai/"

// Models returns the provider's models, cached for Config.ModelsTTL. When a
// refresh fails and an older list exists, the older list is returned.
func (c *Client) Models(ctx context.Context) ([]bot.ModelInfo, error) {
	c.mu.Lock()
	stale, fresh := c.models, time.Since(c.loadedAt) < c.cfg.ModelsTTL
	c.mu.Unlock()
	if stale != nil && fresh {
		return slices.Clone(stale), nil
	}
	ch := c.fetch.DoChan("models", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), modelsFetchTimeout)
		defer cancel()
		return c.loadModels(fctx)
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("list models: %w", ctx.Err())
	case r := <-ch:
		if r.Err == nil {
			return slices.Clone(r.Val.([]bot.ModelInfo)), nil
		}
		if stale == nil {
			return nil, fmt.Errorf("list models: %w", r.Err)
		}
		c.log.Warn("model list refresh failed, using the cached list", "err", r.Err)
		return slices.Clone(stale), nil
	}
}

// Model looks a model up in the (cached) list.
func (c *Client) Model(ctx context.Context, id string) (bot.ModelInfo, bool, error) {
	list, err := c.Models(ctx)
	if err != nil {
		return bot.ModelInfo{}, false, err
	}
	i := slices.IndexFunc(list, func(m bot.ModelInfo) bool { return m.ID == id })
	if i < 0 {
		return bot.ModelInfo{}, false, nil
	}
	return list[i], true, nil
}

// cachedModel looks a model up in the cached list without fetching.
func (c *Client) cachedModel(id string) (bot.ModelInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.models, func(m bot.ModelInfo) bool { return m.ID == id })
	if i < 0 {
		return bot.ModelInfo{}, false
	}
	return c.models[i], true
}

// loadModels fetches and caches the model list.
func (c *Client) loadModels(ctx context.Context) ([]bot.ModelInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/models", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	resp, err := c.tr.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("read model list: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.redact(httpError(resp.StatusCode, resp.Header, body))
	}
	list, err := parseModels(c.cfg.Provider, body)
	if err != nil {
		return nil, fmt.Errorf("decode model list: %w", err)
	}
	c.mu.Lock()
	c.models, c.loadedAt = list, time.Now()
	c.mu.Unlock()
	return list, nil
}

// modelEntry covers Moonshot's and OpenRouter's model list entries.
type modelEntry struct {
	ID                string `json:"id"`
	ContextLength     int    `json:"context_length"`
	SupportsImageIn   bool   `json:"supports_image_in"`
	SupportsReasoning bool   `json:"supports_reasoning"`
	Architecture      struct {
		InputModalities []string `json:"input_modalities"`
	} `json:"architecture"`
	SupportedParameters []string `json:"supported_parameters"`
	Pricing             struct {
		Prompt     string `json:"prompt"`
		Completion string `json:"completion"`
	} `json:"pricing"`
}

// parseModels decodes a model list. On OpenRouter only Moonshot's models are kept.
func parseModels(p Provider, body []byte) ([]bot.ModelInfo, error) {
	var list struct {
		Data []modelEntry `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, err
	}
	out := make([]bot.ModelInfo, 0, len(list.Data))
	for _, m := range list.Data {
		info := bot.ModelInfo{ID: m.ID, ContextLength: m.ContextLength}
		if p == OpenRouter {
			if !strings.HasPrefix(strings.TrimPrefix(m.ID, "~"), openRouterVendor) {
				continue
			}
			info.Vision = slices.Contains(m.Architecture.InputModalities, "image")
			info.Reasoning = slices.Contains(m.SupportedParameters, "reasoning")
			info.PromptPrice, _ = strconv.ParseFloat(m.Pricing.Prompt, 64)
			info.CompletionPrice, _ = strconv.ParseFloat(m.Pricing.Completion, 64)
		} else {
			info.Vision, info.Reasoning = m.SupportsImageIn, m.SupportsReasoning
		}
		out = append(out, info)
	}
	return out, nil
}
