package kimitest

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// orComment is OpenRouter's SSE keep-alive comment.
const orComment = ": OPENROUTER PROCESSING\n\n"

// stream writes a turn as an SSE stream, flushing after every line.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, t *turn) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	if t.flavor == OpenRouter {
		h.Set("X-Generation-Id", t.id)
	}
	if t.resp.CutAfter > 0 {
		h.Set("Connection", "close")
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil || !writeComments(w, rc, t.resp.Comments) {
		return
	}
	if !s.pause(r.Context(), t.resp.FirstDelay) {
		return
	}
	final := t.finalIndex()
	var line []byte
	for i, ev := range t.events() {
		if i > 0 && (!writeComments(w, rc, t.resp.CommentsBetween) || !s.pause(r.Context(), t.resp.Delay)) {
			return
		}
		if i == final && !t.hold(r.Context()) {
			return
		}
		line = append(append(append(line[:0], "data: "...), ev...), '\n', '\n')
		if _, err := w.Write(line); err != nil || rc.Flush() != nil {
			return
		}
		if t.resp.OnWrite != nil {
			t.resp.OnWrite(i, time.Now())
		}
	}
	if t.resp.CutAfter > 0 && t.resp.Abort {
		panic(http.ErrAbortHandler)
	}
}

// finalIndex is the index of the final chunk among the events, or -1 when
// the stream ends in a fault instead.
func (t *turn) finalIndex() int {
	if t.resp.MidStreamError != nil || t.resp.CutAfter > 0 {
		return -1
	}
	return 1 + len(t.deltas())
}

// hold waits for Response.Hold to close; it reports false if ctx ends first.
func (t *turn) hold(ctx context.Context) bool {
	if t.resp.Hold == nil {
		return true
	}
	select {
	case <-t.resp.Hold:
		return true
	case <-ctx.Done():
		return false
	}
}

func writeComments(w http.ResponseWriter, rc *http.ResponseController, n int) bool {
	if n <= 0 {
		return true
	}
	if _, err := w.Write(bytes.Repeat([]byte(orComment), n)); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// events returns the data payloads of the stream in order: the role chunk,
// the output deltas, then either a fault or the final chunk, the usage
// chunk and [DONE].
func (t *turn) events() [][]byte {
	out := [][]byte{t.chunk(delta{Role: "assistant", Content: new(string)})}
	deltas := t.deltas()
	switch {
	case t.resp.MidStreamError != nil:
		n := min(max(t.resp.MidStreamAfter, 0), len(deltas))
		return append(append(out, deltas[:n]...), t.errorChunk(t.resp.MidStreamError))
	case t.resp.CutAfter > 0:
		out = append(out, deltas...)
		return out[:min(t.resp.CutAfter, len(out))]
	}
	out = append(append(out, deltas...), t.finalChunk())
	if t.flavor == OpenRouter || t.includeUsage {
		out = append(out, mustJSON(chunk{ID: t.id, Object: "chat.completion.chunk", Created: t.created,
			Model: t.model, Provider: t.provider, Choices: []choice{}, Usage: t.usageJSON()}))
	}
	return append(out, []byte("[DONE]"))
}

// deltas returns the output chunks: reasoning, then content, then tool
// calls (a head with id, type, name and empty arguments, then argument
// pieces by index).
func (t *turn) deltas() [][]byte {
	if t.deltaEvents != nil {
		return t.deltaEvents
	}
	out := [][]byte{}
	for _, piece := range split(t.reasoning, t.size) {
		out = append(out, t.chunk(t.reasoningDelta(piece)))
	}
	out = append(out, t.contentChunks(t.resp.Content, t.size)...)
	for i, c := range t.calls {
		head := toolDelta{Index: i, ID: c.ID, Type: callType(c.Name), Function: toolDeltaFunc{Name: c.Name}}
		out = append(out, t.chunk(delta{ToolCalls: []toolDelta{head}}))
		for _, piece := range splitArgs(c.Arguments, t.size) {
			d := toolDelta{Index: i, Function: toolDeltaFunc{Arguments: piece}}
			out = append(out, t.chunk(delta{ToolCalls: []toolDelta{d}}))
		}
	}
	t.deltaEvents = out
	return out
}

// contentChunk returns what appends the chunk of one content piece to dst:
// the bytes t.chunk(delta{Content: &piece}) gives, from a template encoded
// once.
func (t *turn) contentChunk() func(dst []byte, piece string) []byte {
	marker := "\x00kimitest\x00"
	tmpl := t.chunk(delta{Content: &marker})
	quoted := mustJSON(marker)
	at := bytes.Index(tmpl, quoted)
	head, tail := tmpl[:at], tmpl[at+len(quoted):]
	return func(dst []byte, piece string) []byte {
		dst = append(dst, head...)
		if plainJSON(piece) {
			dst = append(append(append(dst, '"'), piece...), '"')
		} else {
			dst = append(dst, mustJSON(piece)...)
		}
		return append(dst, tail...)
	}
}

// plainJSON reports whether encoding/json writes s as is between quotes:
// valid UTF-8 with no character it escapes.
func plainJSON(s string) bool {
	for _, r := range s {
		switch {
		case r < 0x20, r == '"', r == '\\', r == '<', r == '>', r == '&', r == '\u2028', r == '\u2029',
			r == utf8.RuneError:
			return false
		}
	}
	return true
}

// contentChunks returns the chunks of content cut in pieces of size runes,
// built in one buffer.
func (t *turn) contentChunks(content string, size int) [][]byte {
	chunk := t.contentChunk()
	pieces := split(content, size)
	var buf []byte
	ends := make([]int, len(pieces))
	for i, piece := range pieces {
		buf = chunk(buf, piece)
		ends[i] = len(buf)
	}
	out := make([][]byte, len(pieces))
	start := 0
	for i, end := range ends {
		out[i] = buf[start:end:end]
		start = end
	}
	return out
}

// chunk wraps one delta in a chunk with finish_reason null.
func (t *turn) chunk(d delta) []byte {
	c := choice{Delta: d}
	if t.flavor == OpenRouter {
		c.NativeFinishReason = (*string)(nil)
	}
	return mustJSON(t.envelope(c))
}

func (t *turn) envelope(c choice) chunk {
	return chunk{ID: t.id, Object: "chat.completion.chunk", Created: t.created, Model: t.model,
		Provider: t.provider, Choices: []choice{c}}
}

// finalChunk carries the finish_reason; on Moonshot also the usage, inside
// the choice.
func (t *turn) finalChunk() []byte {
	finish := t.finish
	c := choice{FinishReason: &finish}
	if t.flavor == OpenRouter {
		c.NativeFinishReason = finish
	} else {
		c.Usage = t.usageJSON()
	}
	return mustJSON(t.envelope(c))
}

// errorChunk is a mid-stream error: a bare error object on Moonshot, a
// terminal chunk with finish_reason "error" on OpenRouter.
func (t *turn) errorChunk(e *APIError) []byte {
	if t.flavor == Moonshot {
		return mustJSON(map[string]any{"error": e.moonshot()})
	}
	finish, empty := "error", ""
	c := chunk{ID: t.id, Object: "chat.completion.chunk", Created: t.created, Model: t.model,
		Provider: t.provider, Error: e.openRouter(),
		Choices: []choice{{Delta: delta{Content: &empty}, FinishReason: &finish, NativeFinishReason: finish}}}
	return mustJSON(c)
}

// complete writes a turn as one JSON body. OpenRouter bodies start with
// whitespace, as its keep-alive does.
func (s *Server) complete(w http.ResponseWriter, r *http.Request, t *turn) {
	if !s.pause(r.Context(), t.resp.FirstDelay) {
		return
	}
	if t.resp.MidStreamError != nil {
		s.writeError(w, t.resp.MidStreamError)
		return
	}
	body := mustJSON(t.completionJSON())
	if t.flavor == OpenRouter {
		body = append(bytes.Repeat([]byte("\n"), max(1, t.resp.Comments)), body...)
		w.Header().Set("X-Generation-Id", t.id)
	}
	w.Header().Set("Content-Type", "application/json")
	if t.resp.CutAfter > 0 {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// split cuts s into pieces of n runes.
func split(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		end, k := 0, 0
		for end < len(s) && k < n {
			_, size := utf8.DecodeRuneInString(s[end:])
			end, k = end+size, k+1
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// splitArgs cuts tool arguments into pieces of at most n runes, and into at
// least two pieces when there are two runes or more.
func splitArgs(s string, n int) []string {
	runes := len([]rune(s))
	if runes >= 2 {
		n = min(n, (runes+1)/2)
	}
	return split(s, n)
}
