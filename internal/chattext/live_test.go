package chattext

import (
	"strings"
	"testing"
)

func TestLive(t *testing.T) {
	st := with(Discord, 100)
	tests := []struct{ name, text, want string }{
		{"Plain", "hello", "hello"},
		{"OpenBlock", "x\n```go\nfunc", "x\n```go\nfunc\n```"},
		{"OpenBlockAtNewline", "```go\nfunc\n", "```go\nfunc\n```"},
		{"ClosedBlock", "```go\nf\n```\n", "```go\nf\n```\n"},
		{"StopsShortForTheClosingLine", "```\n" + strings.Repeat("y", 95), "```\n" + strings.Repeat("y", 92) + "\n```"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := st.Next(tt.text, 0, Fence{}, 1)
			if got := st.Live(tt.text, sp); got != tt.want {
				t.Fatalf("Live(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
	t.Run("Reopened", func(t *testing.T) {
		text := "```py\n" + strings.Repeat("print(1)\n", 12) + "more code"
		first := st.Next(text, 0, Fence{}, 1)
		sp := st.Next(text, first.End, first.After, first.End+1)
		want := "```py\n" + text[first.End:] + "\n```"
		if got := st.Live(text, sp); got != want {
			t.Fatalf("Live = %q, want %q", got, want)
		}
	})
}

func TestClose(t *testing.T) {
	tests := []struct {
		name     string
		st       Style
		text, to string
	}{
		{"NoFence", Slack, "plain", ""},
		{"ClosedFence", Slack, "```\nx\n```", ""},
		{"OpenAtNewline", Slack, "```sh\nls\n", "```"},
		{"OpenMidLine", Slack, "```sh\nls", "\n```"},
		{"LongerMarker", Slack, "````\nx", "\n````"},
		{"TildeOnSlack", Slack, "~~~\nx", "\n~~~"},
		{"TildeOnDiscord", Discord, "~~~\nx", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.st.Close(tt.text); got != tt.to {
				t.Fatalf("Close(%q) = %q, want %q", tt.text, got, tt.to)
			}
		})
	}
}
