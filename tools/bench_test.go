package tools_test

import (
	"context"
	"encoding/json"
	"testing"

	"kimibot/tools"
)

// BenchmarkRun measures one call through the registry: argument parsing,
// schema validation, the timeout goroutine and a trivial tool.
func BenchmarkRun(b *testing.B) {
	cases := []struct {
		name, tool, args string
	}{
		{"Trivial", "search_docs", `{"query":"tea","limit":10,"tags":["green","loose"],"filter":{"status":"open"}}`},
		{"LookupOrderFile", tools.LookupOrderName, `{"order_id":"A1003"}`},
		{"InvalidArgs", "search_docs", `{"query":5,"limit":"ten"}`},
	}
	trivial := &funcTool{name: "search_docs", schema: richSchema, call: func(context.Context, json.RawMessage) (string, error) {
		return "3 documents", nil
	}}
	r := MustRegistry(b, tools.Options{}, trivial, MustLookupOrder(b, tools.OrdersConfig{File: sampleOrdersFile}))
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if res := r.Run(ctx, tc.tool, tc.args); res.Content == "" {
					b.Fatal("empty result")
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
		})
	}
}
