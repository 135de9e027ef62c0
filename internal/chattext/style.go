package chattext

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Counter says how a platform counts the length of text against its limits.
type Counter int

const (
	// UTF16 counts UTF-16 code units. They are never fewer than code
	// points, so text that fits by this count fits either way.
	UTF16 Counter = iota
	// Runes counts Unicode code points.
	Runes
	// Bytes counts UTF-8 bytes.
	Bytes
)

// width is the length of one rune.
func (c Counter) width(r rune) int {
	switch c {
	case Runes:
		return 1
	case Bytes:
		return utf8.RuneLen(r)
	}
	return utf16.RuneLen(r)
}

// Len is the length of s.
func (c Counter) Len(s string) int {
	switch c {
	case Bytes:
		return len(s)
	case Runes:
		return utf8.RuneCountInString(s)
	}
	n := utf8.RuneCountInString(s)
	for i := 0; i < len(s); i++ {
		// Only runes of four UTF-8 bytes take two UTF-16 units.
		if s[i] >= 0xF0 {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 4 {
				n++
			}
		}
	}
	return n
}

// Within returns the byte offset ending the longest run of whole runes of
// s, from its start, whose length is at most room.
func (c Counter) Within(s string, room int) int {
	used := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			if used == room {
				return i
			}
			used++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		w := c.width(r)
		if c == Bytes {
			w = size
		}
		if used += w; used > room {
			return i
		}
		i += size
	}
	return len(s)
}

// Clip shortens s to at most n, ending it with an ellipsis when cut.
func (c Counter) Clip(s string, n int) string {
	if c.Len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return s[:c.Within(s, n-1)] + "…"
}

// Style is how one platform shows text.
type Style struct {
	// Limit is the most one message may hold, as Count measures it.
	Limit int
	// Count is how the platform counts length.
	Count Counter
	// Fences are the characters whose runs of three or more open a code
	// fence: "`~" for CommonMark, "`" where tildes make no code block.
	Fences string
	// Subtext marks a line as small print, such as Discord's "-# "; ""
	// where the adapter shows small print natively (Slack's context block).
	Subtext string
}

// Slack is Slack's style. A markdown block takes 12,000 characters, and
// several blocks in one message hit a cap near 13,200, so a message keeps
// its Markdown to 11,500, leaving room for the footer and status lines.
// Slack does not say how it counts; UTF-16 units hold either way. The
// footer shows in a context block, which the adapter builds.
var Slack = Style{Limit: 11_500, Count: UTF16, Fences: "`~"}

// Discord is Discord's style: 2,000 characters of content a message, code
// blocks fenced with backticks only, and "-# " subtext for small print.
var Discord = Style{Limit: 2_000, Count: UTF16, Fences: "`", Subtext: "-# "}

// Len is the length of s as the platform counts it.
func (st Style) Len(s string) int { return st.Count.Len(s) }
