package chattext

import (
	"strings"
	"testing"
)

// longAnswer is about 40 KB of Markdown: prose, lists and code blocks, one
// of them longer than a Discord message.
func longAnswer() string {
	var b strings.Builder
	for i := 0; b.Len() < 40_000; i++ {
		b.WriteString("## Step " + Thousands(i) + "\n\nThe order **A1001** shipped on time; here is how to check it again. ")
		b.WriteString(strings.Repeat("Each line of prose runs on for a while, as model answers do. ", 6) + "\n\n")
		b.WriteString("- first point\n- second point with `code`\n- third point 😀\n\n")
		lines := 12
		if i%5 == 0 {
			lines = 90
		}
		b.WriteString("```go\n" + strings.Repeat("\tfmt.Println(\"order\", id, status) // explain\n", lines) + "```\n\n")
	}
	return b.String()
}

func BenchmarkSplit(b *testing.B) {
	text := longAnswer()
	for _, bc := range []struct {
		name string
		st   Style
	}{{"Slack", Slack}, {"Discord", Discord}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			parts := 0
			for b.Loop() {
				parts = len(bc.st.Split(text))
			}
			b.ReportMetric(float64(parts), "messages")
		})
	}
}
