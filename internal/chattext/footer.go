package chattext

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"kimibot/conversation"
)

// Footer renders the small print under an answer, marked as subtext: the
// model that answered, the tokens used with the cached ones among them,
// the cost when known and the time taken, such as
// "kimi-k2.6 · 12,345 tokens (1,024 cached) · $0.0012 · 3.2s". Without a
// model there is no footer: "".
func (st Style) Footer(model string, u conversation.Usage, elapsed time.Duration) string {
	if model == "" {
		return ""
	}
	parts := []string{model}
	tokens := u.TotalTokens
	if tokens == 0 {
		tokens = u.PromptTokens + u.CompletionTokens
	}
	if tokens > 0 {
		t := Thousands(tokens) + " tokens"
		if u.CachedTokens > 0 {
			t += " (" + Thousands(u.CachedTokens) + " cached)"
		}
		parts = append(parts, t)
	}
	if u.Cost > 0 {
		parts = append(parts, fmt.Sprintf("$%.4f", u.Cost))
	}
	if elapsed > 0 {
		parts = append(parts, fmt.Sprintf("%.1fs", elapsed.Round(100*time.Millisecond).Seconds()))
	}
	return st.Subtext + strings.Join(parts, " · ")
}

// Thousands writes n with comma separators: 1234567 is "1,234,567".
func Thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
