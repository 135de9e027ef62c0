package kimi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"

	"kimibot/bot"
)

// cannedTransport answers every request with the same SSE body, so the
// benchmark measures the client alone.
type cannedTransport struct{ body []byte }

func (t cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"text/event-stream"}},
		Body:    io.NopCloser(bytes.NewReader(t.body)),
		Request: r,
	}, nil
}

// renderSSE renders a stream of n content tokens, with a comment line
// between chunks when comments is set.
func renderSSE(n int, comments bool) []byte {
	var b bytes.Buffer
	event := func(payload string) {
		if comments {
			b.WriteString(": OPENROUTER PROCESSING\n\n")
		}
		b.WriteString("data: " + payload + "\n\n")
	}
	event(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`)
	for i := range n {
		event(fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"content":"tok%d "},"finish_reason":null}]}`, i%10))
	}
	event(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":10,"completion_tokens":500,"total_tokens":510}}]}`)
	event(`[DONE]`)
	return b.Bytes()
}

// drain reads a stream to its end and counts the content chunks.
func drain(st bot.ChatStream) (int, error) {
	defer st.Close()
	n := 0
	for {
		ch, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if ch.Content != "" {
			n++
		}
	}
}

func BenchmarkStream(b *testing.B) {
	const tokens = 500
	for _, bc := range []struct {
		name     string
		comments bool
	}{{"Moonshot", false}, {"OpenRouterComments", true}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := New(Config{APIKey: "k", BaseURL: "http://kimi.invalid/v1",
				HTTPClient: &http.Client{Transport: cannedTransport{renderSSE(tokens, bc.comments)}}})
			if err != nil {
				b.Fatal(err)
			}
			req := chat("kimi-k2.6", "hi")
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for b.Loop() {
				st, err := c.Stream(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				if n, err := drain(st); err != nil || n != tokens {
					b.Fatalf("got %d tokens, err %v", n, err)
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			streamed := float64(b.N * tokens)
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/streamed, "allocs/token")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/streamed, "B/token")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/streamed, "ns/token")
		})
	}
}
