package kimi

import (
	"context"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/conversation"
)

// modelRequests counts the model-list requests the fake received.
func modelRequests(s *kimitest.Server) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == "GET" && r.Path == s.BaseURL()[len(s.URL()):]+"/models" {
			n++
		}
	}
	return n
}

// MustModel looks id up and fails when it is missing.
func MustModel(tb testing.TB, c *Client, id string) bot.ModelInfo {
	tb.Helper()
	m, ok, err := c.Model(context.Background(), id)
	if err != nil || !ok {
		tb.Fatalf("model %s: found %v, err %v", id, ok, err)
	}
	return m
}

func TestModels(t *testing.T) {
	extra := kimitest.Model{ID: "openai/gpt-4o", ContextLength: 128000, Vision: true}
	tests := []struct {
		name    string
		flavor  kimitest.Flavor
		models  []kimitest.Model
		want    []bot.ModelInfo
		missing string
	}{
		{name: "Moonshot", flavor: kimitest.Moonshot, want: []bot.ModelInfo{
			{ID: "kimi-k2.6", ContextLength: 262144, Vision: true, Reasoning: true},
			{ID: "kimi-k2-turbo-preview", ContextLength: 262144},
			{ID: "moonshot-v1-32k-vision-preview", ContextLength: 32768, Vision: true},
		}, missing: "kimi-k9"},
		{name: "OpenRouter", flavor: kimitest.OpenRouter,
			models: append(kimitest.DefaultModels(kimitest.OpenRouter), extra), want: []bot.ModelInfo{
				{ID: "moonshotai/kimi-k2.5", ContextLength: 262144, Vision: true, Reasoning: true,
					PromptPrice: 0.0000006, CompletionPrice: 0.000003},
				{ID: "moonshotai/kimi-k2", ContextLength: 131072, PromptPrice: 0.00000057, CompletionPrice: 0.0000023},
			}, missing: extra.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := kimitest.New(t, kimitest.Options{Flavor: tt.flavor, Models: tt.models})
			c, _ := MustClient(t, s, nil)
			list, err := c.Models(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(list) < len(tt.want) {
				t.Fatalf("models = %+v", list)
			}
			for _, want := range tt.want {
				if got := MustModel(t, c, want.ID); got != want {
					t.Errorf("model = %+v, want %+v", got, want)
				}
			}
			if _, ok, err := c.Model(context.Background(), tt.missing); ok || err != nil {
				t.Errorf("model %s: found %v, err %v", tt.missing, ok, err)
			}
			if n := modelRequests(s); n != 1 {
				t.Errorf("model list requests = %d, want 1 (cached)", n)
			}
		})
	}
}

func TestModelsTTLAndStale(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, func(cfg *Config) { cfg.ModelsTTL = time.Nanosecond })
	for range 2 {
		if _, err := c.Models(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := modelRequests(s); n != 2 {
		t.Fatalf("model list requests = %d, want 2 after expiry", n)
	}
	s.Close()
	list, err := c.Models(context.Background())
	if err != nil || len(list) == 0 {
		t.Fatalf("stale list = %d models, err %v", len(list), err)
	}
}

func TestModelsError(t *testing.T) {
	s := kimitest.New(t, kimitest.Options{})
	c, _ := MustClient(t, s, func(cfg *Config) { cfg.APIKey = "wrong" })
	_, err := c.Models(context.Background())
	MustKind(t, err, Auth)
}

// The live list's supports_reasoning decides the placeholder, over the table.
func TestModelsDriveReasoningPlaceholder(t *testing.T) {
	custom := kimitest.Model{ID: "kimi-k2-custom", ContextLength: 262144, Reasoning: true, ThinkingDefault: true}
	s := kimitest.New(t, kimitest.Options{Models: []kimitest.Model{custom}})
	c, _ := MustClient(t, s, nil)
	req := toolTurn(custom.ID, conversation.Message{Role: conversation.RoleAssistant,
		ToolCalls: []conversation.ToolCall{{ID: "get_weather:0", Name: "get_weather", Arguments: `{"city":"Paris"}`}}})

	_, err := c.Stream(context.Background(), req)
	MustKind(t, err, BadRequest) // the table says kimi-k2 does not think

	if _, err := c.Models(context.Background()); err != nil {
		t.Fatal(err)
	}
	MustAnswer(t, c, req)
}
