package discord

import (
	"strings"
	"testing"
	"time"

	"kimibot/bot"
	"kimibot/conversation"
)

// fenceOpenAtEnd is an independent check of code fences: it reports whether
// a ``` block is still open at the end of s.
func fenceOpenAtEnd(s string) bool {
	open := false
	for _, l := range strings.Split(s, "\n") {
		t := strings.TrimSpace(l)
		if !strings.HasPrefix(t, "```") {
			continue
		}
		if !open && len(t) > 6 && strings.HasSuffix(t, "```") {
			continue
		}
		if !open || strings.Trim(t, "`") == "" {
			open = !open
		}
	}
	return open
}

// checkChunks asserts the properties every split must have.
func checkChunks(tb testing.TB, text string, limit int, chunks []chunk) {
	tb.Helper()
	var joined strings.Builder
	for i, c := range chunks {
		joined.WriteString(c.body)
		if n := textLen(c.String()); n > limit {
			tb.Fatalf("part %d has %d characters, limit %d: %q", i, n, limit, c.String())
		}
		if c.body == "" {
			tb.Fatalf("part %d is empty", i)
		}
		if i < len(chunks)-1 && fenceOpenAtEnd(c.String()) {
			tb.Fatalf("part %d ends inside a code block: %q", i, c.String())
		}
		if i > 0 {
			wantOpen := chunks[i-1].close != ""
			if gotOpen := c.open != ""; gotOpen != wantOpen {
				tb.Fatalf("part %d reopens a fence = %v, previous part closed one = %v", i, gotOpen, wantOpen)
			}
		}
		if c.open != "" && !strings.HasPrefix(c.open, "```") {
			tb.Fatalf("part %d opens with %q", i, c.open)
		}
		if c.close != "" && strings.Trim(c.close, "\n") != "```" {
			tb.Fatalf("part %d closes with %q", i, c.close)
		}
	}
	if joined.String() != text {
		tb.Fatalf("parts joined differ from the input:\n got %q\nwant %q", joined.String(), text)
	}
}

func TestSplit(t *testing.T) {
	para := func(n int, word string) string { return strings.TrimSpace(strings.Repeat(word+" ", n)) }
	codeLines := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("\tfmt.Println(\"line ")
			b.WriteString(strings.Repeat("x", i%7))
			b.WriteString("\")\n")
		}
		return b.String()
	}
	tests := []struct {
		name  string
		text  string
		limit int
		// check inspects the rendered parts beyond the common properties.
		check func(t *testing.T, parts []string)
	}{
		{name: "Short", text: "hello", limit: 2000, check: func(t *testing.T, parts []string) {
			if len(parts) != 1 || parts[0] != "hello" {
				t.Fatalf("parts = %q", parts)
			}
		}},
		{name: "Empty", text: "", limit: 2000, check: func(t *testing.T, parts []string) {
			if len(parts) != 0 {
				t.Fatalf("parts = %q", parts)
			}
		}},
		{name: "ExactlyLimit", text: strings.Repeat("a", 2000), limit: 2000, check: func(t *testing.T, parts []string) {
			if len(parts) != 1 {
				t.Fatalf("got %d parts", len(parts))
			}
		}},
		{name: "ParagraphBoundary", text: para(150, "alpha") + "\n\n" + para(150, "beta") + "\n\n" + para(150, "gamma"), limit: 2000,
			check: func(t *testing.T, parts []string) {
				if len(parts) != 2 || !strings.HasSuffix(parts[0], "beta\n\n") || !strings.HasPrefix(parts[1], "gamma") {
					t.Fatalf("want a cut before the third paragraph, got %q", parts)
				}
			}},
		{name: "LineBoundary", text: strings.Repeat("a line of text that goes on\n", 100), limit: 500,
			check: func(t *testing.T, parts []string) {
				for i, p := range parts[:len(parts)-1] {
					if !strings.HasSuffix(p, "\n") {
						t.Fatalf("part %d does not end at a line break: %q", i, p)
					}
				}
			}},
		{name: "BlockMovesWhole", text: para(100, "intro") + "\n\n```go\n" + codeLines(66) + "```\n\nafter", limit: 2000,
			check: func(t *testing.T, parts []string) {
				if len(parts) != 2 || !strings.HasPrefix(parts[1], "```go\n") || strings.Contains(parts[0], "```") {
					t.Fatalf("want the block whole in the second part, got %q", parts)
				}
			}},
		{name: "LongBlockReopens", text: "Here is the code:\n\n```python\n" + strings.Repeat("print('hello world')  # a comment\n", 150) + "```\n\nDone.", limit: 2000,
			check: func(t *testing.T, parts []string) {
				if len(parts) < 3 {
					t.Fatalf("got %d parts, want at least 3", len(parts))
				}
				for i, p := range parts[1 : len(parts)-1] {
					if !strings.HasPrefix(p, "```python\n") || !strings.HasSuffix(p, "\n```") {
						t.Fatalf("middle part %d is not a reopened and closed python block: %.40q...%q", i+1, p, p[len(p)-10:])
					}
				}
			}},
		{name: "LongLineAtSentence", text: strings.Repeat("This is a sentence. ", 200), limit: 500,
			check: func(t *testing.T, parts []string) {
				for i, p := range parts[:len(parts)-1] {
					if !strings.HasSuffix(p, ". ") {
						t.Fatalf("part %d does not end after a sentence: %q", i, p[len(p)-10:])
					}
				}
			}},
		{name: "LongWordHardCut", text: strings.Repeat("x", 4500), limit: 2000, check: func(t *testing.T, parts []string) {
			if len(parts) != 3 || len(parts[0]) != 2000 {
				t.Fatalf("got %d parts, first %d long", len(parts), len(parts[0]))
			}
		}},
		{name: "LongCodeLine", text: "```\n" + strings.Repeat("y", 3000) + "\n```", limit: 2000, check: func(t *testing.T, parts []string) {
			if len(parts) != 2 || !strings.HasSuffix(parts[0], "\n```") || !strings.HasPrefix(parts[1], "```\n") {
				t.Fatalf("parts = %.30q / %.30q", parts[0], parts[1])
			}
		}},
		{name: "Emoji", text: strings.Repeat("😀", 1500), limit: 2000, check: func(t *testing.T, parts []string) {
			if len(parts) != 2 || textLen(parts[0]) != 2000 {
				t.Fatalf("got %d parts, first %d units", len(parts), textLen(parts[0]))
			}
		}},
		{name: "InlineTripleBackticks", text: "```inline```\n" + strings.Repeat("word ", 600), limit: 2000, check: func(t *testing.T, parts []string) {
			if strings.HasPrefix(parts[1], "```") {
				t.Fatalf("an inline ```x``` must not open a block: %.30q", parts[1])
			}
		}},
		{name: "UnterminatedFinalBlock", text: "intro\n```sh\necho hi\n", limit: 2000, check: func(t *testing.T, parts []string) {
			if len(parts) != 1 || parts[0] != "intro\n```sh\necho hi\n" {
				t.Fatalf("parts = %q", parts)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkChunks(t, tt.text, tt.limit, splitChunks(tt.text, tt.limit))
			tt.check(t, Split(tt.text, tt.limit))
		})
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("hello\n\nworld", uint16(64))
	f.Add("```go\nfunc main() {}\n```\n"+strings.Repeat("text ", 50), uint16(80))
	f.Add(strings.Repeat("```\n"+strings.Repeat("a\n", 40)+"```\n\n", 3), uint16(70))
	f.Add(strings.Repeat("😀 é\n", 90), uint16(100))
	f.Add("```x```\n```\n"+strings.Repeat("b", 300)+"\n```", uint16(64))
	f.Fuzz(func(t *testing.T, text string, lim uint16) {
		limit := 64 + int(lim)%2000
		for _, l := range strings.Split(text, "\n") {
			// A fence line longer than a message cannot be kept whole.
			if strings.HasPrefix(strings.TrimSpace(l), "```") && textLen(l) > limit/4 {
				t.Skip()
			}
		}
		checkChunks(t, text, limit, splitChunks(text, limit))
	})
}

func TestLiveView(t *testing.T) {
	tests := []struct{ name, in, fence, want string }{
		{"Plain", "hello", "", "hello"},
		{"OpenBlock", "x\n```go\nfunc", "", "x\n```go\nfunc\n```"},
		{"OpenBlockAtNewline", "```go\nfunc\n", "", "```go\nfunc\n```"},
		{"ClosedBlock", "```go\nf\n```\n", "", "```go\nf\n```\n"},
		{"Reopened", "more code", "```py", "```py\nmore code\n```"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := liveView(tt.in, tt.fence); got != tt.want {
				t.Fatalf("liveView(%q, %q) = %q, want %q", tt.in, tt.fence, got, tt.want)
			}
		})
	}
}

func TestFooterLine(t *testing.T) {
	tests := []struct {
		name string
		f    bot.Footer
		want string
	}{
		{"Full", bot.Footer{Model: "kimi-k2.6", Usage: conversation.Usage{TotalTokens: 1234}, Elapsed: 3200 * time.Millisecond},
			"-# kimi-k2.6 · 1,234 tokens · 3.2s"},
		{"SumsWithoutTotal", bot.Footer{Model: "m", Usage: conversation.Usage{PromptTokens: 999000, CompletionTokens: 1001}},
			"-# m · 1,000,001 tokens"},
		{"ModelOnly", bot.Footer{Model: "m"}, "-# m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := footerLine(tt.f); got != tt.want {
				t.Fatalf("footerLine = %q, want %q", got, tt.want)
			}
		})
	}
}
