package chattext

import (
	"testing"
	"time"

	"kimibot/conversation"
)

// TestFooterSameFactsOnBothPlatforms checks that both platforms show the
// same facts, each in its own small print.
func TestFooterSameFactsOnBothPlatforms(t *testing.T) {
	tests := []struct {
		name    string
		model   string
		usage   conversation.Usage
		elapsed time.Duration
		want    string
	}{
		{"NoModel", "", conversation.Usage{TotalTokens: 5}, time.Second, ""},
		{"Full", "kimi-k2.6", conversation.Usage{TotalTokens: 12345, CachedTokens: 1024, Cost: 0.00123}, 3240 * time.Millisecond,
			"kimi-k2.6 · 12,345 tokens (1,024 cached) · $0.0012 · 3.2s"},
		{"SumsWithoutTotal", "m", conversation.Usage{PromptTokens: 999000, CompletionTokens: 1001}, 0, "m · 1,000,001 tokens"},
		{"NoCacheNoCost", "kimi-k2.6", conversation.Usage{TotalTokens: 1234}, 3200 * time.Millisecond, "kimi-k2.6 · 1,234 tokens · 3.2s"},
		{"ModelOnly", "m", conversation.Usage{}, 0, "m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Slack.Footer(tt.model, tt.usage, tt.elapsed); got != tt.want {
				t.Fatalf("Slack footer = %q, want %q", got, tt.want)
			}
			want := tt.want
			if want != "" {
				want = "-# " + want
			}
			if got := Discord.Footer(tt.model, tt.usage, tt.elapsed); got != want {
				t.Fatalf("Discord footer = %q, want %q", got, want)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", -1234567: "-1,234,567", 100000: "100,000"} {
		if got := Thousands(n); got != want {
			t.Fatalf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCounter(t *testing.T) {
	const s = "aé😀"
	tests := []struct {
		c              Counter
		len, within3   int
		clip3, clipped string
	}{
		{UTF16, 4, 3, "aé…", "aé😀"},
		{Runes, 3, len(s), s, s},
		{Bytes, 7, 3, "a…", "aé😀"},
	}
	for _, tt := range tests {
		if got := tt.c.Len(s); got != tt.len {
			t.Fatalf("counter %d: Len = %d, want %d", tt.c, got, tt.len)
		}
		if got := tt.c.Within(s, 3); got != tt.within3 {
			t.Fatalf("counter %d: Within(3) = %d, want %d", tt.c, got, tt.within3)
		}
		if got := tt.c.Clip(s, 3); got != tt.clip3 {
			t.Fatalf("counter %d: Clip(3) = %q, want %q", tt.c, got, tt.clip3)
		}
		if got := tt.c.Clip(s, 7); got != tt.clipped {
			t.Fatalf("counter %d: Clip(7) = %q, want %q", tt.c, got, tt.clipped)
		}
	}
	if got := UTF16.Clip("abc", 0); got != "" {
		t.Fatalf("Clip to 0 = %q", got)
	}
}

func TestClipLine(t *testing.T) {
	if got := UTF16.ClipLine(" a\n\tb  c ", 10); got != "a b c" {
		t.Fatalf("ClipLine = %q", got)
	}
	if got := UTF16.ClipLine("one two\nthree", 6); got != "one t…" {
		t.Fatalf("ClipLine = %q", got)
	}
}
