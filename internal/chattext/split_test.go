package chattext

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// with returns st with another limit.
func with(st Style, limit int) Style {
	st.Limit = limit
	return st
}

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
			"OKOverlongLineAfterSentence",
			"One two three four. Five six seven eight nine ten",
			30,
			[]string{"One two three four. ", "Five six seven eight nine ten"},
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
			st := with(Slack, tt.limit)
			if got := st.Split(tt.text); !slices.Equal(got, tt.want) {
				t.Fatalf("Split =\n%q\nwant\n%q", got, tt.want)
			}
			checkSplit(t, st, tt.text)
		})
	}
}

// TestSplitDiscord checks splitting at Discord's limit, where only
// backticks fence code.
func TestSplitDiscord(t *testing.T) {
	para := func(n int, word string) string { return strings.TrimSpace(strings.Repeat(word+" ", n)) }
	codeLines := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("\tfmt.Println(\"line " + strings.Repeat("x", i%7) + "\")\n")
		}
		return b.String()
	}
	tests := []struct {
		name  string
		text  string
		limit int
		// check inspects the messages beyond the common properties.
		check func(t *testing.T, parts []string)
	}{
		{"Short", "hello", 2000, wantParts("hello")},
		{"Empty", "", 2000, wantParts()},
		{"ExactlyLimit", strings.Repeat("a", 2000), 2000, wantParts(strings.Repeat("a", 2000))},
		{"ParagraphBoundary", para(150, "alpha") + "\n\n" + para(150, "beta") + "\n\n" + para(150, "gamma"), 2000,
			func(t *testing.T, parts []string) {
				if len(parts) != 2 || !strings.HasSuffix(parts[0], "beta\n\n") || !strings.HasPrefix(parts[1], "gamma") {
					t.Fatalf("want a cut before the third paragraph, got %q", parts)
				}
			}},
		{"LineBoundary", strings.Repeat("a line of text that goes on\n", 100), 500,
			func(t *testing.T, parts []string) {
				for i, p := range parts[:len(parts)-1] {
					if !strings.HasSuffix(p, "\n") {
						t.Fatalf("part %d does not end at a line break: %q", i, p)
					}
				}
			}},
		{"BlockMovesWhole", para(100, "intro") + "\n\n```go\n" + codeLines(66) + "```\n\nafter", 2000,
			func(t *testing.T, parts []string) {
				if len(parts) != 2 || !strings.HasPrefix(parts[1], "```go\n") || strings.Contains(parts[0], "```") {
					t.Fatalf("want the block whole in the second part, got %q", parts)
				}
			}},
		{"LongBlockReopens", "Here is the code:\n\n```python\n" + strings.Repeat("print('hello world')  # a comment\n", 150) + "```\n\nDone.", 2000,
			func(t *testing.T, parts []string) {
				if len(parts) < 3 {
					t.Fatalf("got %d parts, want at least 3", len(parts))
				}
				for i, p := range parts[1 : len(parts)-1] {
					if !strings.HasPrefix(p, "```python\n") || !strings.HasSuffix(p, "\n```") {
						t.Fatalf("middle part %d is not a reopened and closed python block: %.40q...%q", i+1, p, p[len(p)-10:])
					}
				}
			}},
		{"LongLineAtSentence", strings.Repeat("This is a sentence. ", 200), 500,
			func(t *testing.T, parts []string) {
				for i, p := range parts[:len(parts)-1] {
					if !strings.HasSuffix(p, ". ") {
						t.Fatalf("part %d does not end after a sentence: %q", i, p[len(p)-10:])
					}
				}
			}},
		{"LongWordHardCut", strings.Repeat("x", 4500), 2000, func(t *testing.T, parts []string) {
			if len(parts) != 3 || len(parts[0]) != 2000 {
				t.Fatalf("got %d parts, first %d long", len(parts), len(parts[0]))
			}
		}},
		{"LongCodeLine", "```\n" + strings.Repeat("y", 3000) + "\n```", 2000, func(t *testing.T, parts []string) {
			if len(parts) != 2 || !strings.HasSuffix(parts[0], "\n```") || !strings.HasPrefix(parts[1], "```\n") {
				t.Fatalf("parts = %.30q", parts)
			}
		}},
		{"Emoji", strings.Repeat("😀", 1500), 2000, func(t *testing.T, parts []string) {
			if len(parts) != 2 || UTF16.Len(parts[0]) != 2000 {
				t.Fatalf("got %d parts, first %d units", len(parts), UTF16.Len(parts[0]))
			}
		}},
		{"InlineTripleBackticks", "```inline```\n" + strings.Repeat("word ", 600), 2000, func(t *testing.T, parts []string) {
			if strings.HasPrefix(parts[1], "```") {
				t.Fatalf("an inline ```x``` must not open a block: %.30q", parts[1])
			}
		}},
		{"TildesAreText", "~~~\n" + strings.Repeat("tilde line\n", 300), 2000, func(t *testing.T, parts []string) {
			if strings.HasSuffix(parts[0], "~~~") || strings.HasPrefix(parts[1], "~~~") {
				t.Fatalf("tildes must not fence code on Discord: %.30q", parts[1])
			}
		}},
		{"UnterminatedFinalBlock", "intro\n```sh\necho hi\n", 2000, wantParts("intro\n```sh\necho hi\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := with(Discord, tt.limit)
			checkSplit(t, st, tt.text)
			tt.check(t, st.Split(tt.text))
		})
	}
}

func wantParts(want ...string) func(t *testing.T, parts []string) {
	return func(t *testing.T, parts []string) {
		t.Helper()
		if !slices.Equal(parts, want) {
			t.Fatalf("parts = %q, want %q", parts, want)
		}
	}
}

// checkSplit asserts Split's contract for one input: the raw pieces rebuild
// the text, each message fits, no message leaves a fence open but the last,
// a reopened fence follows a closed one, a cut inside a line happens only
// in an overlong line, and the finished messages of any prefix of the text
// are the first messages of the text.
func checkSplit(t *testing.T, st Style, text string) {
	t.Helper()
	spans := st.Spans(text)
	var raw strings.Builder
	for i, sp := range spans {
		shown := sp.Text(text)
		if n := st.Len(shown); n > st.Limit {
			t.Fatalf("part %d is %d long, limit %d: %q", i, n, st.Limit, shown)
		}
		if sp.Start != raw.Len() || sp.End <= sp.Start {
			t.Fatalf("part %d is [%d:%d], want it to start at %d", i, sp.Start, sp.End, raw.Len())
		}
		if i > 0 && (sp.Prefix != "") != (spans[i-1].Suffix != "") {
			t.Fatalf("part %d reopens %q after a part closed with %q", i, sp.Prefix, spans[i-1].Suffix)
		}
		raw.WriteString(text[sp.Start:sp.End])
		if i == len(spans)-1 {
			break
		}
		if st.Close(shown) != "" {
			t.Fatalf("part %d leaves a fence open: %q", i, shown)
		}
		if text[sp.End-1] != '\n' {
			ls := strings.LastIndexByte(text[:sp.End], '\n') + 1
			le := strings.IndexByte(text[sp.End:], '\n')
			if le < 0 {
				le = len(text) - sp.End
			}
			if n := st.Len(text[ls : sp.End+le]); n <= st.Limit/2 {
				t.Fatalf("part %d cut inside a %d-long line", i, n)
			}
		}
	}
	if raw.String() != text {
		t.Fatalf("raw parts rebuild %q, want %q", raw.String(), text)
	}
	full := st.Split(text)
	for _, k := range []int{len(text) / 3, len(text) / 2, len(text) * 4 / 5} {
		for k < len(text) && k > 0 && (text[k]&0xC0) == 0x80 {
			k++
		}
		prefix := st.Split(text[:k])
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
	words := []string{"kimi", "answer.", "the", "order", "A1001", "é", "😀", "**bold**", "`code`", "漢字"}
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
	for i := range 400 {
		st := Slack
		if i%2 == 1 {
			st = Discord
		}
		checkSplit(t, with(st, 4*maxFenceLine+r.IntN(300)), randomMarkdown(r))
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("```go\nfmt.Println()\n```\n\ntext", 300, false)
	f.Add(strings.Repeat("x", 1000), 260, false)
	f.Add("a\n\n\n\nb\n```\n\n```\n"+strings.Repeat("y\n", 200), 256, true)
	f.Add("    ```\nnot a fence\n```js\n"+strings.Repeat("code\n", 100), 300, false)
	f.Add(strings.Repeat("```\n"+strings.Repeat("a\n", 40)+"```\n\n", 3), 270, true)
	f.Add("```x```\n```\n"+strings.Repeat("b", 300)+"\n```", 264, true)
	f.Add(strings.Repeat("This is it. 😀 é\n", 90), 400, true)
	f.Fuzz(func(t *testing.T, text string, limit int, discord bool) {
		if limit < 4*maxFenceLine || limit > 4000 || !isValidUTF8(text) {
			t.Skip()
		}
		st := Slack
		if discord {
			st = Discord
		}
		checkSplit(t, with(st, limit), text)
	})
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
