package kimi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
)

// TestEventReaderMatchesGoOpenAI reads raw SSE bodies with eventReader
// and with go-openai's own stream reader: payloads, the end and errors
// must be the same.
func TestEventReaderMatchesGoOpenAI(t *testing.T) {
	long := strings.Repeat("x", 9000)
	bodies := map[string]string{
		"Plain":         "data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n",
		"NoSpace":       "data:{\"a\":1}\n\ndata:[DONE]\n",
		"Tabs":          "data: \t {\"a\":1}  \r\n\r\ndata: [DONE]\n",
		"Comments":      ": keep-alive\n\nevent: x\ndata: {\"a\":1}\n\n: again\ndata: [DONE]\n\n",
		"LongLine":      "data: {\"c\":\"" + long + "\"}\n\ndata: [DONE]\n\n",
		"NoDone":        "data: {\"a\":1}\n\n",
		"PartialLast":   "data: {\"a\":1}\n\ndata: {\"b\"",
		"MidError":      "data: {\"a\":1}\n\ndata: {\"error\":{\"message\":\"overloaded\",\"type\":\"engine_overloaded_error\"}}\n\n",
		"ErrorNotJSON":  "data: {\"error\": nope\n\ndata: {\"a\":1}\n\n",
		"ErrorThenMore": "data: {\"error\":{\"message\":\"bad\"}}\ndata: {\"a\":1}\n\n",
		"TooManyEmpty":  strings.Repeat("\n", maxEmptyLines+5) + "data: {\"a\":1}\n\n",
		"Empty":         "",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			want := readAll(goOpenAIReader(t, body))
			ev := newEventReader(strings.NewReader(body))
			got := readAll(ev.next)
			if got != want {
				t.Fatalf("eventReader read\n%s\ngo-openai read\n%s", got, want)
			}
		})
	}
}

// readAll describes every payload and the final error of a reader.
func readAll(next func() ([]byte, error)) string {
	var b strings.Builder
	for range 1000 {
		p, err := next()
		if err != nil {
			var ae *openai.APIError
			switch {
			case errors.As(err, &ae):
				fmt.Fprintf(&b, "api error %q %q\n", ae.Message, ae.Type)
			case errors.Is(err, io.EOF), errors.Is(err, openai.ErrTooManyEmptyStreamMessages):
				fmt.Fprintf(&b, "end: %v\n", err)
			default:
				fmt.Fprintf(&b, "error: %v\n", err)
			}
			return b.String()
		}
		fmt.Fprintf(&b, "payload %q\n", p)
	}
	return b.String()
}

// goOpenAIReader returns go-openai's RecvRaw over body.
func goOpenAIReader(t *testing.T, body string) func() ([]byte, error) {
	t.Helper()
	cfg := openai.DefaultConfig("test")
	cfg.BaseURL = "http://127.0.0.1:1/v1"
	cfg.HTTPClient = &http.Client{Transport: cannedTransport{[]byte(body)}}
	rs, err := openai.NewClientWithConfig(cfg).CreateChatCompletionStream(context.Background(),
		openai.ChatCompletionRequest{Model: "m", Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	return func() ([]byte, error) {
		p, err := rs.RecvRaw()
		return bytes.Clone(p), err
	}
}
