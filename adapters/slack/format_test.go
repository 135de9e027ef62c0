package slack

import (
	"strings"
	"testing"
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
	if slackText.Len(got) > fallbackLimit || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Fatalf("fallback of %d chars is %d long", len(long), slackText.Len(got))
	}
	if short := fallbackText("**hi**"); short != "*hi*" {
		t.Fatalf("short fallback = %q", short)
	}
}
