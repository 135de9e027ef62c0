package kimitest

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkStream measures how fast the fake streams a 4 KiB answer in
// 8-rune deltas over loopback, so benchmarks built on it know its share.
func BenchmarkStream(b *testing.B) {
	for _, f := range []Flavor{Moonshot, OpenRouter} {
		b.Run(f.String(), func(b *testing.B) {
			s := NewServer(Options{Flavor: f})
			defer s.Close()
			content := strings.Repeat("kimibot ", 512)
			s.SetHandler(func(*Request) Response { return Response{Content: content} })
			model := DefaultModels(f)[0].ID
			chunks := 0
			for b.Loop() {
				resp, err := postChatRaw(s, body(model, map[string]any{"stream": true}, user("go")))
				if err != nil {
					b.Fatalf("post: %v", err)
				}
				raw, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !strings.HasSuffix(string(raw), "data: [DONE]\n\n") {
					b.Fatalf("stream: %v", err)
				}
				chunks += strings.Count(string(raw), "data: ")
			}
			b.ReportMetric(float64(chunks)/float64(b.N), "chunks/op")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chunks), "ns/chunk")
		})
	}
}
