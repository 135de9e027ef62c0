package kimi

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSSEBodyFilter(t *testing.T) {
	long := "data: {\"choices\":[{\"delta\":{\"content\":\"" + strings.Repeat("x", 40<<10) + "\"}}]}\n"
	longComment := ": " + strings.Repeat("k", 40<<10) + "\n"
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "data: a\n\ndata: [DONE]\n\n", "data: a\n\ndata: [DONE]\n\n"},
		{"Comments", ": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: a\n\n: x\n\ndata: b\n\n",
			"data: a\n\ndata: b\n\n"},
		{"CRLF", ": ping\r\n\r\ndata: a\r\n\r\n\r\n", "data: a\r\n\r\n"},
		{"LongLines", longComment + "\n" + long + "\n" + longComment + "data: b\n", long + "\ndata: b\n"},
		{"NoTrailingNewline", "data: a\n\ndata: b", "data: a\n\ndata: b"},
		{"Fields", "event: message\nid: 7\nretry: 10\ndata: a\n\n", "data: a\n\n"},
		{"Other", "{\"error\":{}}\n", "{\"error\":{}}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			wd := newWatchdog(time.Hour, time.Hour, cancel)
			b := newSSEBody(io.NopCloser(strings.NewReader(tt.in)), wd, cancel)
			got, err := io.ReadAll(b)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("filtered = %.80q (%d bytes), want %.80q (%d bytes)", got, len(got), tt.want, len(tt.want))
			}
			if err := b.Close(); err != nil || ctx.Err() == nil {
				t.Errorf("close: %v, request context still live", err)
			}
		})
	}
}
