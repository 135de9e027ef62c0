package conversation_test

import (
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"

	"kimibot/conversation"
)

func TestEstimateMessage(t *testing.T) {
	tests := []struct {
		name string
		msg  conversation.Message
		want int
	}{
		{"Empty", conversation.Message{Role: conversation.RoleUser}, 4},
		{"Latin", conversation.Message{Text: strings.Repeat("a", 35)}, 4 + 10},
		{"LatinRoundsUp", conversation.Message{Text: strings.Repeat("a", 36)}, 4 + 11},
		{"AccentedLatin", conversation.Message{Text: strings.Repeat("é", 7)}, 4 + 2},
		{"CJK", conversation.Message{Text: "你好世界こんにちは안녕"}, 4 + 11},
		{"FullWidthPunctuation", conversation.Message{Text: "。！"}, 4 + 2},
		{"Cyrillic", conversation.Message{Text: "Привет"}, 4 + 3},
		{"Mixed", conversation.Message{Text: "订单 A1001"}, 4 + 2 + 2},
		{"Image", conversation.Message{Parts: []conversation.Part{
			{Type: conversation.PartImage, ImageURL: "data:image/png;base64," + strings.Repeat("A", 10000)},
			{Type: conversation.PartText, Text: strings.Repeat("b", 7)},
		}}, 4 + 1024 + 2},
		{"TwoImages", conversation.Message{Parts: []conversation.Part{{Type: conversation.PartImage}, {Type: conversation.PartImage}}}, 4 + 2048},
		{"ToolCalls", conversation.Message{Role: conversation.RoleAssistant, ToolCalls: []conversation.ToolCall{
			{ID: "functions.lookup_order:0", Name: "lookup_order", Arguments: `{"id":"A1001"}`}, // 12+14 chars
			{ID: "functions.lookup_order:1", Name: "lookup_order", Arguments: `{"id":"A1002"}`},
		}}, 4 + 15},
		{"Reasoning", conversation.Message{Text: strings.Repeat("a", 7), Reasoning: strings.Repeat("r", 14),
			ReasoningDetails: json.RawMessage(strings.Repeat("d", 7))}, 4 + 2 + 4 + 2},
		{"ToolResult", conversation.Message{Role: conversation.RoleTool, ToolName: "lookup_order", ToolCallID: "x",
			Text: strings.Repeat("a", 2)}, 4 + 4},
	}
	var e conversation.Estimator
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.EstimateMessage(tt.msg); got != tt.want {
				t.Errorf("EstimateMessage = %d, want %d", got, tt.want)
			}
		})
	}
	t.Run("EstimateSums", func(t *testing.T) {
		var msgs []conversation.Message
		want := 0
		for _, tt := range tests {
			msgs = append(msgs, tt.msg)
			want += tt.want
		}
		if got := e.Estimate(msgs); got != want {
			t.Errorf("Estimate = %d, want %d", got, want)
		}
		var nilEst *conversation.Estimator
		if got := nilEst.Estimate(msgs); got != want {
			t.Errorf("nil Estimator Estimate = %d, want %d", got, want)
		}
	})
}

func TestEstimatorObserve(t *testing.T) {
	tests := []struct {
		name         string
		observations [][2]int
		want         float64
		tolerance    float64
	}{
		{"None", nil, 1, 1e-9},
		{"OneStep", [][2]int{{100, 150}}, 1.1, 1e-9},
		{"TwoSteps", [][2]int{{100, 150}, {110, 110}}, 1.1, 1e-9},
		{"Down", [][2]int{{100, 50}}, 0.9, 1e-9},
		{"SampleClamped", [][2]int{{100, 100000}}, 1.2, 1e-9},
		{"ClampHigh", repeat([2]int{100, 100000}, 60), 2, 1e-3},
		{"ClampLow", repeat([2]int{100, 1}, 60), 0.5, 1e-3},
		{"IgnoresZeroEstimate", [][2]int{{0, 500}}, 1, 1e-9},
		{"IgnoresZeroActual", [][2]int{{500, 0}}, 1, 1e-9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e conversation.Estimator
			for _, o := range tt.observations {
				e.Observe(o[0], o[1])
				if r := e.Ratio(); r < 0.5 || r > 2 {
					t.Fatalf("ratio %v left [0.5, 2]", r)
				}
			}
			if got := e.Ratio(); math.Abs(got-tt.want) > tt.tolerance {
				t.Errorf("Ratio = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEstimatorConverges(t *testing.T) {
	msgs := []conversation.Message{
		{Role: conversation.RoleUser, Text: strings.Repeat("How is order A1001 doing? ", 40)},
		{Role: conversation.RoleAssistant, Text: strings.Repeat("It shipped yesterday. ", 30)},
	}
	var e conversation.Estimator
	raw := e.Estimate(msgs)
	actual := int(float64(raw) * 1.3)
	for range 60 {
		e.Observe(e.Estimate(msgs), actual)
	}
	if got := e.Estimate(msgs); math.Abs(float64(got-actual)) > float64(actual)/50 {
		t.Errorf("after observing, Estimate = %d, want about %d", got, actual)
	}
}

func TestEstimatorConcurrent(t *testing.T) {
	var e conversation.Estimator
	msgs := []conversation.Message{{Role: conversation.RoleUser, Text: "hello"}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				e.Observe(e.Estimate(msgs), 20)
			}
		})
	}
	wg.Wait()
	if r := e.Ratio(); r <= 1 || r > 2 {
		t.Errorf("ratio after concurrent observations = %v, want in (1, 2]", r)
	}
}

func repeat(o [2]int, n int) [][2]int {
	out := make([][2]int, n)
	for i := range out {
		out[i] = o
	}
	return out
}
