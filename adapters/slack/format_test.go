package slack

import (
	"strings"
	"testing"
	"time"

	"kimibot/bot"
	"kimibot/conversation"
)

func TestMrkdwn(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"Bold", "this is **very** important", "this is *very* important"},
		{"Italic", "an *aside* and _another_", "an _aside_ and _another_"},
		{"BoldAndItalic", "**bold** then *it*", "*bold* then _it_"},
		{"Strike", "~~gone~~", "~gone~"},
		{"Link", "see [the docs](https://example.com/a?b=1&c=2)", "see <https://example.com/a?b=1&amp;c=2|the docs>"},
		{"Heading", "## Step **one**", "*Step one*"},
		{"Bullets", "- a\n  * b\n+ c", "• a\n  • b\n• c"},
		{"Escapes", "1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"},
		{"CodeSpanUntouched", "use `**kwargs` here", "use `**kwargs` here"},
		{"FenceDropsLanguage", "```go\nx := a**b < c\n```\n**after**", "```\nx := a**b &lt; c\n```\n*after*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mrkdwn(tt.in); got != tt.want {
				t.Fatalf("mrkdwn(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFallbackTextIsCapped(t *testing.T) {
	long := strings.Repeat("ab ", 2000)
	got := fallbackText(long)
	if textLen(got) > fallbackLimit || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Fatalf("fallback of %d chars is %d long", len(long), textLen(got))
	}
	if short := fallbackText("**hi**"); short != "*hi*" {
		t.Fatalf("short fallback = %q", short)
	}
}

func TestFooterLine(t *testing.T) {
	tests := []struct {
		name string
		in   bot.Footer
		want string
	}{
		{"Empty", bot.Footer{}, ""},
		{"Full", bot.Footer{Model: "kimi-k2.6", Elapsed: 3240 * time.Millisecond,
			Usage: conversation.Usage{TotalTokens: 12345, CachedTokens: 1024, Cost: 0.00123}},
			"kimi-k2.6 · 12,345 tokens (1,024 cached) · $0.0012 · 3.2s"},
		{"SumsTokens", bot.Footer{Model: "m", Usage: conversation.Usage{PromptTokens: 900, CompletionTokens: 100}}, "m · 1,000 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := footerLine(tt.in); got != tt.want {
				t.Fatalf("footerLine = %q, want %q", got, tt.want)
			}
		})
	}
}
