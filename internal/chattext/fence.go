package chattext

import "strings"

// Fence is the code fence a position in a text is inside, if any. The zero
// Fence is outside any fence.
type Fence struct {
	// marker is the fence's run of backticks or tildes; "" outside a fence.
	marker string
	// header is the opening line without its newline, such as "```go".
	header string
}

// Open reports whether the position is inside a fence.
func (f Fence) Open() bool { return f.marker != "" }

// Marker is the run of backticks or tildes that closes the fence.
func (f Fence) Marker() string { return f.marker }

// maxFenceLine is the longest line taken for a fence line. Longer lines
// are text: a message may have to cut them, and a cut opening line would
// open a fence in one message that its continuation cannot close.
const maxFenceLine = 64

// NextFence returns the fence state after line (without its newline),
// given the state f before it.
func (st Style) NextFence(f Fence, line string) Fence {
	trimmed := strings.TrimLeft(line, " ")
	if len(line)-len(trimmed) > 3 || len(line) > 4*maxFenceLine || st.Len(line) > maxFenceLine {
		return f
	}
	run := st.fenceRun(trimmed)
	if f.Open() {
		if run != "" && run[0] == f.marker[0] && len(run) >= len(f.marker) && strings.TrimSpace(trimmed[len(run):]) == "" {
			return Fence{}
		}
		return f
	}
	if run == "" || (run[0] == '`' && strings.Contains(trimmed[len(run):], "`")) {
		return f
	}
	return Fence{marker: run, header: strings.TrimRight(line, " \t\r")}
}

// fenceRun returns the leading run of three or more fence characters of s.
func (st Style) fenceRun(s string) string {
	if len(s) < 3 || strings.IndexByte(st.Fences, s[0]) < 0 {
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

// FenceAt returns the fence state after the complete lines of text[start:],
// given the state f at start. A last line without its newline is not read.
func (st Style) FenceAt(text string, start int, f Fence) Fence {
	rest := text[start:]
	for {
		ln, tail, found := strings.Cut(rest, "\n")
		if !found {
			return f
		}
		f = st.NextFence(f, ln)
		rest = tail
	}
}

// Close returns what closes a fence left open at the end of text, so that
// a line added after it shows as text: "" when no fence is open, else the
// fence's marker on a line of its own.
func (st Style) Close(text string) string {
	f := st.FenceAt(text+"\n", 0, Fence{})
	switch {
	case !f.Open():
		return ""
	case strings.HasSuffix(text, "\n"):
		return f.marker
	}
	return "\n" + f.marker
}

// reopen is the line that reopens a fence in the next message: the opening
// line with its info string, or just the marker if that line is long.
func (st Style) reopen(f Fence) string {
	if st.Len(f.header) <= st.Limit/4 {
		return f.header
	}
	return f.marker
}
