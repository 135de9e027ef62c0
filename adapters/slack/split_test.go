package slack

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	para := func(c string, n int) string { return strings.Repeat(c, n) }
	tests := []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{"OKFits", "hello\n\nworld", 100, []string{"hello\n\nworld"}},
		{"OKEmpty", "", 100, nil},
		{
			"OKParagraph",
			para("a", 30) + "\n\n" + para("b", 10) + "\n" + para("c", 10) + "\n",
			45,
			[]string{para("a", 30) + "\n\n", para("b", 10) + "\n" + para("c", 10) + "\n"},
		},
		{
			"OKLineWhenParagraphIsEarly",
			"aa\n\n" + para("b", 20) + "\n" + para("c", 20) + "\n" + para("d", 20),
			50,
			[]string{"aa\n\n" + para("b", 20) + "\n" + para("c", 20) + "\n", para("d", 20)},
		},
		{
			"OKBeforeFence",
			"intro\n```go\n" + para("x", 30) + "\n```\nafter",
			46,
			[]string{"intro\n", "```go\n" + para("x", 30) + "\n```\nafter"},
		},
		{
			"OKLongFenceReopened",
			"```python\n" + strings.Repeat("print(1)\n", 6) + "```\n",
			40,
			[]string{
				"```python\nprint(1)\nprint(1)\nprint(1)\n```",
				"```python\nprint(1)\nprint(1)\n```",
				"```python\nprint(1)\n```\n",
			},
		},
		{
			"OKTildeFenceKeepsMarker",
			"~~~~\n" + strings.Repeat("ab\n", 12) + "~~~~\n",
			30,
			[]string{
				"~~~~\n" + strings.Repeat("ab\n", 7) + "~~~~",
				"~~~~\n" + strings.Repeat("ab\n", 5) + "~~~~\n",
			},
		},
		{
			"OKOverlongLineAtSpace",
			strings.Repeat("word ", 20),
			42,
			[]string{strings.Repeat("word ", 8), strings.Repeat("word ", 8), strings.Repeat("word ", 4)},
		},
		{
			"OKCountsUTF16",
			strings.Repeat("😀", 6) + "\n" + strings.Repeat("😀", 6),
			24,
			[]string{strings.Repeat("😀", 6) + "\n", strings.Repeat("😀", 6)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Split(tt.text, tt.limit)
			if !equalStrings(got, tt.want) {
				t.Fatalf("Split =\n%q\nwant\n%q", got, tt.want)
			}
			checkSplit(t, tt.text, tt.limit)
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkSplit asserts Split's contract for one input: the raw pieces rebuild
// the text, each message fits, no message leaves a fence open but the last,
// a cut inside a line happens only in an overlong line, and the finished
// messages of any prefix of the text are the first messages of the text.
func checkSplit(t *testing.T, text string, limit int) {
	t.Helper()
	spans := splitSpans(text, limit)
	var raw strings.Builder
	for i, sp := range spans {
		shown := sp.display(text)
		if n := textLen(shown); n > limit {
			t.Fatalf("part %d is %d long, limit %d: %q", i, n, limit, shown)
		}
		if sp.start != raw.Len() {
			t.Fatalf("part %d starts at %d, want %d", i, sp.start, raw.Len())
		}
		raw.WriteString(text[sp.start:sp.end])
		if i == len(spans)-1 {
			break
		}
		if fenceAt(shown+"\n", 0, fence{}).open() {
			t.Fatalf("part %d leaves a fence open: %q", i, shown)
		}
		if text[sp.end-1] != '\n' {
			ls := strings.LastIndexByte(text[:sp.end], '\n') + 1
			le := strings.IndexByte(text[sp.end:], '\n')
			if le < 0 {
				le = len(text) - sp.end
			}
			if n := textLen(text[ls : sp.end+le]); n <= limit/2 {
				t.Fatalf("part %d cut inside a %d-long line", i, n)
			}
		}
	}
	if raw.String() != text {
		t.Fatalf("raw parts rebuild %q, want %q", raw.String(), text)
	}
	full := Split(text, limit)
	for _, k := range []int{len(text) / 3, len(text) / 2, len(text) * 4 / 5} {
		for k < len(text) && k > 0 && (text[k]&0xC0) == 0x80 {
			k++
		}
		prefix := Split(text[:k], limit)
		for i := 0; i+1 < len(prefix); i++ {
			if prefix[i] != full[i] {
				t.Fatalf("prefix of %d bytes: part %d = %q, full text has %q", k, i, prefix[i], full[i])
			}
		}
	}
}

// randomMarkdown builds a document of paragraphs, lists, fences (some
// unclosed), overlong lines and multi-byte text.
func randomMarkdown(r *rand.Rand) string {
	words := []string{"kimi", "answer", "the", "order", "A1001", "é", "😀", "**bold**", "`code`", "漢字"}
	line := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[r.IntN(len(words))])
		}
		return b.String()
	}
	var b strings.Builder
	for range 1 + r.IntN(12) {
		switch r.IntN(6) {
		case 0:
			marker := []string{"```", "````", "~~~"}[r.IntN(3)]
			b.WriteString(marker + []string{"", "go", "python"}[r.IntN(3)] + "\n")
			for range r.IntN(15) {
				b.WriteString(line(r.IntN(8)) + "\n")
			}
			if r.IntN(5) > 0 {
				b.WriteString(marker + "\n")
			}
		case 1:
			b.WriteString(line(40+r.IntN(80)) + "\n")
		case 2:
			for range 1 + r.IntN(5) {
				b.WriteString("- " + line(1+r.IntN(6)) + "\n")
			}
		default:
			b.WriteString(line(1+r.IntN(20)) + "\n")
		}
		if r.IntN(2) == 0 {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func TestSplitProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 400 {
		text := randomMarkdown(r)
		checkSplit(t, text, 4*maxFenceLine+r.IntN(300))
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("```go\nfmt.Println()\n```\n\ntext", 300)
	f.Add(strings.Repeat("x", 1000), 260)
	f.Add("a\n\n\n\nb\n```\n\n```\n"+strings.Repeat("y\n", 200), 256)
	f.Add("    ```\nnot a fence\n```js\n"+strings.Repeat("code\n", 100), 300)
	f.Fuzz(func(t *testing.T, text string, limit int) {
		if limit < 4*maxFenceLine || limit > 4000 || !isValidUTF8(text) {
			t.Skip()
		}
		checkSplit(t, text, limit)
	})
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
