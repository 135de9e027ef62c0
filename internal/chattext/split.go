package chattext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Span is one message's share of a long text: the raw text[Start:End],
// shown after Prefix (a reopened fence) and before Suffix (a closed fence).
type Span struct {
	Start, End     int
	Prefix, Suffix string
	// After is the fence state at End, where the next span starts.
	After Fence
}

// Text is the message the span shows of text.
func (sp Span) Text(text string) string { return sp.Prefix + text[sp.Start:sp.End] + sp.Suffix }

// Split cuts Markdown into messages of at most st.Limit, at paragraph or
// else line boundaries, never inside a code fence unless one fenced block
// is longer than a message: then the fence is closed at the end of one
// message and reopened, with its info string, at the start of the next. A
// line longer than a message is cut after a sentence or at a space. The
// raw pieces, without those added fence lines, concatenate to text.
func (st Style) Split(text string) []string {
	var out []string
	for _, sp := range st.Spans(text) {
		out = append(out, sp.Text(text))
	}
	return out
}

// Spans is Split keeping each message's raw piece apart from the fence
// lines added around it.
func (st Style) Spans(text string) []Span {
	var spans []Span
	var state Fence
	for start := 0; start < len(text); {
		sp := st.Next(text, start, state, start+1)
		spans = append(spans, sp)
		start, state = sp.End, sp.After
	}
	return spans
}

// boundary is a line boundary a span may end at.
type boundary struct {
	pos, units int
	state      Fence
}

// Next chooses the span of the message starting at start, inside fence
// state. If the rest fits in the limit it is one span; otherwise the span
// ends at minEnd or later (text up to minEnd may already be shown),
// preferring, in order: the last paragraph boundary outside fences in the
// second half of the message, the last line boundary outside fences, the
// last line boundary inside a fence (closing and reopening it), and a cut
// in the middle of an overlong line.
func (st Style) Next(text string, start int, state Fence, minEnd int) Span {
	prefix := ""
	if state.Open() {
		prefix = st.reopen(state) + "\n"
	}
	base := st.Len(prefix)
	if st.Count.Within(text[start:], st.Limit-base) == len(text)-start {
		return Span{Start: start, End: len(text), Prefix: prefix, After: st.FenceAt(text, start, state)}
	}
	para, line, inside := st.scanBoundaries(text, start, state, base, minEnd)
	switch {
	case para.pos > 0 && para.units-base >= (st.Limit-base)/2:
		return Span{Start: start, End: para.pos, Prefix: prefix}
	case line.pos > 0:
		return Span{Start: start, End: line.pos, Prefix: prefix}
	case inside.pos > 0:
		return Span{Start: start, End: inside.pos, Prefix: prefix, Suffix: inside.state.marker, After: inside.state}
	}
	return st.hardCut(text, start, state, prefix, minEnd)
}

// scanBoundaries walks the lines from start while they fit in the limit
// and returns the last paragraph and line boundaries outside fences and
// the last line boundary inside a fence where the fence can be closed, all
// at minEnd or later. base is the length already taken by a reopened fence.
func (st Style) scanBoundaries(text string, start int, state Fence, base, minEnd int) (para, line, inside boundary) {
	var before boundary
	limit := st.Limit
	units, f := base, state
	for pos := start; pos < len(text) && units <= limit; {
		nl := strings.IndexByte(text[pos:], '\n')
		if nl < 0 {
			break
		}
		ln, prev, lineStart := text[pos:pos+nl], f, pos
		units += st.Len(ln) + 1
		f = st.NextFence(f, ln)
		pos += nl + 1
		b := boundary{pos: pos, units: units, state: f}
		switch {
		case !f.Open():
			if prev.Open() && inside.pos == lineStart {
				// Never leave just the closing fence line for the next message.
				inside = before
			}
			if units <= limit && pos >= minEnd {
				line = b
				if strings.TrimSpace(ln) == "" {
					para = b
				}
			}
		case prev.Open() && units+len(f.marker) <= limit && pos >= minEnd:
			before, inside = inside, b
		}
	}
	return para, line, inside
}

// hardCut ends a span inside a line longer than a message: after the last
// sentence in the second half of the room, else after the last space in
// its final quarter, else at the last rune that fits. Inside a fence the
// span closes it, so the room depends on the fence state of the line being
// cut; the loop settles that.
func (st Style) hardCut(text string, start int, state Fence, prefix string, minEnd int) Span {
	end := start + st.Count.Within(text[start:], st.Limit-st.Len(prefix))
	for {
		ls := start + strings.LastIndexByte(text[start:end], '\n') + 1
		f := st.FenceAt(text[:ls], start, state)
		suffix := ""
		if f.Open() {
			suffix = "\n" + f.marker
		}
		room := st.Limit - st.Len(prefix) - st.Len(suffix)
		cut := start + st.Count.Within(text[start:], room)
		if sp := softCut(text, max(ls, start+1), cut, room, start); sp > 0 {
			cut = sp
		}
		cut = max(cut, minEnd)
		for cut < len(text) && !utf8.RuneStart(text[cut]) {
			cut++
		}
		if cut >= ls {
			return Span{Start: start, End: cut, Prefix: prefix, Suffix: suffix, After: f}
		}
		end = cut
	}
}

// softCut returns where to cut text[from:to], a piece of an overlong line
// in a message of room starting at start: just after the last sentence end
// in the second half of the room, else just after the last space in its
// final quarter; 0 if there is neither.
func softCut(text string, from, to, room, start int) int {
	if to <= from {
		return 0
	}
	piece := text[from:to]
	half, quarter := start+room/2-from, start+room*3/4-from
	for i := len(piece) - 1; i > 0 && i >= half; i-- {
		if piece[i] == ' ' && strings.IndexByte(".!?", piece[i-1]) >= 0 {
			return from + i + 1
		}
	}
	i := strings.LastIndexFunc(piece, unicode.IsSpace)
	if i < 0 || i+1 < quarter {
		return 0
	}
	return from + i + 1
}
