package discord

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"kimibot/bot"
)

// MaxMessageLen is Discord's limit on message content, in characters.
const MaxMessageLen = 2000

// minSplitLimit keeps room for a reopened fence, its closing line and text.
const minSplitLimit = 64

const fenceMarker = "```"

// textLen counts characters as Discord's length limit does. It counts
// UTF-16 units, which are never fewer than code points, so text that fits
// by this count fits by either.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Split cuts text into messages of at most limit characters. It cuts at
// paragraph breaks, then at line breaks, never inside a ``` code block; a
// block longer than a message is cut at a line break inside it, closed at
// the end of one message and reopened with the same language at the start
// of the next. Apart from those added fence lines, the parts joined give
// back text.
func Split(text string, limit int) []string {
	chunks := splitChunks(text, limit)
	parts := make([]string, len(chunks))
	for i, c := range chunks {
		parts[i] = c.String()
	}
	return parts
}

// splitChunks is Split keeping the added fence lines apart from the text.
func splitChunks(text string, limit int) []chunk {
	limit = max(limit, minSplitLimit)
	var chunks []chunk
	rest, fence := text, ""
	for rest != "" {
		if fitsFinal(rest, fence, limit) {
			return append(chunks, chunk{open: reopen(fence), body: rest})
		}
		var c chunk
		c, rest, fence = cut(rest, fence, limit)
		chunks = append(chunks, c)
	}
	return chunks
}

// chunk is one message of a split text: body is a piece of the input and
// open and close are the fence lines added around it.
type chunk struct {
	open, body, close string
}

// String renders the chunk as a message.
func (c chunk) String() string { return c.open + c.body + c.close }

// reopen is the line that reopens fence at the start of a message.
func reopen(fence string) string {
	if fence == "" {
		return ""
	}
	return fence + "\n"
}

// closeFence is what closes a fence open at the end of body.
func closeFence(body string) string {
	if body == "" || strings.HasSuffix(body, "\n") {
		return fenceMarker
	}
	return "\n" + fenceMarker
}

// fitsFinal reports whether s, the last piece of a text, fits one message.
func fitsFinal(s, fence string, limit int) bool {
	return textLen(reopen(fence))+textLen(s) <= limit
}

// liveView renders s, a piece still growing, for display: an open fence at
// its end is closed so that the partial code shows as code.
func liveView(s, fence string) string {
	out := reopen(fence) + s
	if endFence(s, fence) != "" {
		out += closeFence(out)
	}
	return out
}

// endFence returns the fence open at the end of s, which starts inside fence.
func endFence(s, fence string) string {
	lines := scanLines(s, fence)
	if len(lines) == 0 {
		return fence
	}
	return lines[len(lines)-1].after
}

// line is one line of a text being split.
type line struct {
	start, next int // byte offsets of the line and of the next line
	width       int // characters in s[start:next]
	fence       string
	after       string // the fence open after the line
	blank       bool
	marker      bool // the line opens or closes a fence
}

// scanLines splits s into lines and tracks the code fence each is in.
func scanLines(s, fence string) []line {
	var out []line
	for start := 0; start < len(s); {
		next := len(s)
		if i := strings.IndexByte(s[start:], '\n'); i >= 0 {
			next = start + i + 1
		}
		t := strings.TrimSpace(s[start:next])
		l := line{start: start, next: next, width: textLen(s[start:next]), fence: fence, blank: t == ""}
		switch {
		case !strings.HasPrefix(t, fenceMarker):
		case fence == "" && !(len(t) > 6 && strings.HasSuffix(t, fenceMarker)):
			fence, l.marker = fenceHeader(t), true
		case fence != "" && strings.Trim(t, "`") == "":
			fence, l.marker = "", true
		}
		l.after = fence
		out = append(out, l)
		start = next
	}
	return out
}

// fenceHeader is the line that reopens a fence: the marker and the first
// word of the info string (its language), kept short.
func fenceHeader(opening string) string {
	info := strings.TrimLeft(opening, "`")
	if f := strings.Fields(info); len(f) > 0 {
		info = f[0]
	}
	if len(info) > 20 || strings.Contains(info, "`") || !utf8.ValidString(info) {
		info = ""
	}
	return fenceMarker + info
}

// candidate is a place to cut and the length of the message it makes.
type candidate struct {
	pos, render int
	ok          bool
}

// cut takes the first message off s, which starts inside fence and does
// not fit one message. It returns the message, the rest and the fence the
// rest starts in.
func cut(s, fence string, limit int) (chunk, string, string) {
	lines := scanLines(s, fence)
	base := textLen(reopen(fence))
	var para, brk, inFence candidate
	over, cum := -1, base
	for i, l := range lines {
		if i > 0 {
			considerBoundary(lines, i, cum, limit, &para, &brk, &inFence)
		}
		end := cum + l.width
		if l.after != "" {
			end += len(fenceMarker) + 1
		}
		if end > limit && over < 0 {
			over = i
		}
		cum += l.width
	}
	if over < 0 {
		over = len(lines) - 1
	}
	half := limit / 2
	switch {
	case para.ok && para.render >= half:
		return split(s, fence, para.pos)
	case brk.ok && brk.render >= half:
		return split(s, fence, brk.pos)
	case lines[over].fence != "" || lines[over].marker:
		return cutInBlock(s, fence, limit, lines, over, inFence)
	}
	if p, ok := softCut(s, fence, limit, lines[over]); ok {
		return split(s, fence, p)
	}
	if brk.ok {
		return split(s, fence, brk.pos)
	}
	return split(s, fence, hardCut(s, fence, limit, lines[over]))
}

// considerBoundary records the cut before line i if it fits.
func considerBoundary(lines []line, i, cum, limit int, para, brk, inFence *candidate) {
	l := lines[i]
	if l.fence == "" {
		if cum > limit {
			return
		}
		*brk = candidate{pos: l.start, render: cum, ok: true}
		if lines[i-1].blank {
			*para = *brk
		}
		return
	}
	render := cum + len(fenceMarker)
	// A cut inside a block keeps at least one line of it in this message.
	if render <= limit && !lines[i-1].marker {
		*inFence = candidate{pos: l.start, render: render, ok: true}
	}
}

// cutInBlock cuts s where the message overflows inside the code block that
// contains line over: before the block if it fits the next message whole,
// else inside it at a line break, else inside a line.
func cutInBlock(s, fence string, limit int, lines []line, over int, inFence candidate) (chunk, string, string) {
	open := over
	for open >= 0 && !(lines[open].marker && lines[open].fence == "") {
		open--
	}
	if open > 0 && blockWidth(lines, open) <= limit {
		return split(s, fence, lines[open].start)
	}
	if inFence.ok {
		return split(s, fence, inFence.pos)
	}
	if open > 0 {
		return split(s, fence, lines[open].start)
	}
	return split(s, fence, hardCut(s, fence, limit, lines[over]))
}

// blockWidth is the width of the block opened at line open, through its
// closing line (or the end of the text).
func blockWidth(lines []line, open int) int {
	w := 0
	for i := open; i < len(lines); i++ {
		w += lines[i].width
		if i > open && lines[i].marker {
			break
		}
	}
	return w
}

// softCut finds a cut inside line l after the end of a sentence or at a
// space, filling at least half a message.
func softCut(s, fence string, limit int, l line) (int, bool) {
	p := hardCut(s, fence, limit, l)
	width := textLen(reopen(fence)) + textLen(s[:p])
	best := -1
	for p > l.start && width >= limit/2 {
		r, size := utf8.DecodeLastRuneInString(s[:p])
		if unicode.IsSpace(r) {
			if best < 0 {
				best = p
			}
			prev, _ := utf8.DecodeLastRuneInString(strings.TrimRightFunc(s[:p], unicode.IsSpace))
			if strings.ContainsRune(".!?", prev) {
				return p, true
			}
		}
		p -= size
		width -= utf16.RuneLen(r)
	}
	return best, best > 0
}

// hardCut returns the largest rune boundary inside line l where a message
// ending there fits, with a closing fence if it is inside a block.
func hardCut(s, fence string, limit int, l line) int {
	room := limit - textLen(reopen(fence)) - textLen(s[:l.start])
	if l.fence != "" {
		room -= len(fenceMarker) + 1
	}
	p := l.start
	for p < l.next {
		r, size := utf8.DecodeRuneInString(s[p:])
		if room -= utf16.RuneLen(r); room < 0 && p > 0 {
			break
		}
		p += size
	}
	if p == 0 {
		_, size := utf8.DecodeRuneInString(s)
		p = size
	}
	return p
}

// split cuts s at byte offset p.
func split(s, fence string, p int) (chunk, string, string) {
	body := s[:p]
	c := chunk{open: reopen(fence), body: body}
	after := endFence(body, fence)
	if after != "" {
		c.close = closeFence(body)
	}
	return c, s[p:], after
}

// footerLine renders the small print under an answer in Discord's subtext
// markdown: "-# kimi-k2.6 · 1,234 tokens · 3.2s".
func footerLine(f bot.Footer) string {
	parts := []string{f.Model}
	tokens := f.Usage.TotalTokens
	if tokens == 0 {
		tokens = f.Usage.PromptTokens + f.Usage.CompletionTokens
	}
	if tokens > 0 {
		parts = append(parts, thousands(tokens)+" tokens")
	}
	if f.Elapsed > 0 {
		parts = append(parts, fmt.Sprintf("%.1fs", f.Elapsed.Seconds()))
	}
	return "-# " + strings.Join(parts, " · ")
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// errorLine renders a user-facing failure as an italic line.
func errorLine(msg string) string {
	msg = strings.TrimSpace(strings.ReplaceAll(msg, "\n", " "))
	return "*" + strings.ReplaceAll(msg, "*", "\\*") + "*"
}
