package slack

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// textLen is the length Slack's limits are checked against. Slack does not
// say whether it counts bytes, code points or UTF-16 units; UTF-16 units are
// never fewer than code points, so limits held in them hold either way.
func textLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// fence is the code fence a position is inside, if any.
type fence struct {
	// marker is the fence's run of backticks or tildes; "" outside a fence.
	marker string
	// header is the opening line without its newline, such as "```go".
	header string
}

func (f fence) open() bool { return f.marker != "" }

// maxFenceLine is the longest line taken for a fence line. Longer lines
// are text: a message may have to cut them, and a cut opening line would
// open a fence in one message that its continuation cannot close.
const maxFenceLine = 64

// next returns the fence state after a line (without its newline).
func (f fence) next(line string) fence {
	trimmed := strings.TrimLeft(line, " ")
	if len(line)-len(trimmed) > 3 || textLen(line) > maxFenceLine {
		return f
	}
	run := fenceRun(trimmed)
	if f.open() {
		if run != "" && run[0] == f.marker[0] && len(run) >= len(f.marker) && strings.TrimSpace(trimmed[len(run):]) == "" {
			return fence{}
		}
		return f
	}
	if run == "" || (run[0] == '`' && strings.Contains(trimmed[len(run):], "`")) {
		return f
	}
	return fence{marker: run, header: strings.TrimRight(line, " \t\r")}
}

// fenceRun returns the leading run of three or more backticks or tildes.
func fenceRun(s string) string {
	if len(s) < 3 || (s[0] != '`' && s[0] != '~') {
		return ""
	}
	n := 0
	for n < len(s) && s[n] == s[0] {
		n++
	}
	if n < 3 {
		return ""
	}
	return s[:n]
}

// span is one message's share of a long text: the raw text[start:end],
// shown with prefix (a reopened fence) and suffix (a closed fence).
type span struct {
	start, end     int
	prefix, suffix string
	// after is the fence state at end, for the next span.
	after fence
}

func (sp span) display(text string) string { return sp.prefix + text[sp.start:sp.end] + sp.suffix }

// Split cuts Markdown into messages of at most limit (as textLen counts),
// at paragraph or else line boundaries, never inside a code fence unless one
// fenced block is longer than a message: then the fence is closed at the end
// of one message and reopened, with its language tag, at the start of the
// next. The raw pieces, without those added fence lines, concatenate to text.
func Split(text string, limit int) []string {
	var out []string
	for _, sp := range splitSpans(text, limit) {
		out = append(out, sp.display(text))
	}
	return out
}

func splitSpans(text string, limit int) []span {
	var spans []span
	var state fence
	for start := 0; start < len(text); {
		sp := nextSpan(text, start, state, limit, start+1)
		spans = append(spans, sp)
		start, state = sp.end, sp.after
	}
	return spans
}

// boundary is a line boundary a span may end at.
type boundary struct {
	pos, units int
	state      fence
}

// nextSpan chooses the span starting at start, inside fence state. If the
// rest fits in limit it is one span; otherwise the span ends at minEnd or
// later, preferring, in order: the last paragraph boundary outside fences in
// the second half of the message, the last line boundary outside fences,
// the last line boundary inside a fence (closing and reopening it), and a
// cut in the middle of an overlong line.
func nextSpan(text string, start int, state fence, limit, minEnd int) span {
	prefix := ""
	if state.open() {
		prefix = reopen(state, limit) + "\n"
	}
	base := textLen(prefix)
	if base+textLen(text[start:]) <= limit {
		return span{start: start, end: len(text), prefix: prefix, after: fenceAt(text, start, state)}
	}
	para, line, inside := scanBoundaries(text, start, state, base, limit, minEnd)
	switch {
	case para.pos > 0 && para.units-base >= (limit-base)/2:
		return span{start: start, end: para.pos, prefix: prefix}
	case line.pos > 0:
		return span{start: start, end: line.pos, prefix: prefix}
	case inside.pos > 0:
		return span{start: start, end: inside.pos, prefix: prefix, suffix: inside.state.marker, after: inside.state}
	}
	return hardCut(text, start, state, prefix, limit, minEnd)
}

// scanBoundaries walks the lines from start while they fit in limit and
// returns the last paragraph and line boundaries outside fences and the last
// line boundary inside a fence where the fence can be closed, all at minEnd
// or later. base is the length already taken by a reopened fence.
func scanBoundaries(text string, start int, state fence, base, limit, minEnd int) (para, line, inside boundary) {
	var before boundary
	units, f := base, state
	for pos := start; pos < len(text) && units <= limit; {
		nl := strings.IndexByte(text[pos:], '\n')
		if nl < 0 {
			break
		}
		ln, prev, lineStart := text[pos:pos+nl], f, pos
		units += textLen(ln) + 1
		f = f.next(ln)
		pos += nl + 1
		b := boundary{pos: pos, units: units, state: f}
		switch {
		case !f.open():
			if prev.open() && inside.pos == lineStart {
				// Never leave just the closing fence line for the next message.
				inside = before
			}
			if units <= limit && pos >= minEnd {
				line = b
				if strings.TrimSpace(ln) == "" {
					para = b
				}
			}
		case prev.open() && units+len(f.marker) <= limit && pos >= minEnd:
			before, inside = inside, b
		}
	}
	return para, line, inside
}

// reopen is the line that reopens a fence in the next message: the opening
// line with its language tag, or just the marker if that line is long.
func reopen(f fence, limit int) string {
	if textLen(f.header) <= limit/4 {
		return f.header
	}
	return f.marker
}

// hardCut ends a span inside a line longer than a message: after the last
// space in the final quarter of the room, else at the last rune that fits.
// Inside a fence the span closes it, so the room depends on the fence state
// of the line being cut; the loop settles that.
func hardCut(text string, start int, state fence, prefix string, limit, minEnd int) span {
	end := runesWithin(text, start, limit-textLen(prefix))
	for {
		ls := start + strings.LastIndexByte(text[start:end], '\n') + 1
		f := fenceAt(text[:ls], start, state)
		suffix := ""
		if f.open() {
			suffix = "\n" + f.marker
		}
		room := limit - textLen(prefix) - textLen(suffix)
		cut := runesWithin(text, start, room)
		if sp := lastSpace(text, max(ls, start+1), cut, room*3/4+start); sp > 0 {
			cut = sp
		}
		cut = max(cut, minEnd)
		for cut < len(text) && !utf8.RuneStart(text[cut]) {
			cut++
		}
		if cut >= ls {
			return span{start: start, end: cut, prefix: prefix, suffix: suffix, after: f}
		}
		end = cut
	}
}

// runesWithin returns the end of the longest run of whole runes from start
// whose textLen is at most room.
func runesWithin(text string, start, room int) int {
	units := 0
	for i, r := range text[start:] {
		n := utf16.RuneLen(r)
		if units+n > room {
			return start + i
		}
		units += n
	}
	return len(text)
}

// lastSpace returns the position just after the last space in text[from:to]
// that lies at or beyond floor, or 0 if there is none.
func lastSpace(text string, from, to, floor int) int {
	if to <= from {
		return 0
	}
	i := strings.LastIndexFunc(text[from:to], unicode.IsSpace)
	if i < 0 || from+i+1 < floor {
		return 0
	}
	return from + i + 1
}

// fenceAt returns the fence state after the complete lines of text[start:],
// given the state at start.
func fenceAt(text string, start int, state fence) fence {
	f := state
	rest := text[start:]
	for rest != "" {
		ln, tail, found := strings.Cut(rest, "\n")
		if !found {
			break
		}
		f = f.next(ln)
		rest = tail
	}
	return f
}
