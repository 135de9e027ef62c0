package kimi

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"kimibot/bot"
)

// decodeDelta decodes the event almost every streamed token comes in, a
// chunk whose one choice carries only text (content or reasoning), without
// reflection: the whole event costs the text's own string. Any other shape
// (tool calls, reasoning details, a finish reason, usage, an error, unusual
// keys) reports false having changed nothing, for decodeChunk's full
// decoding.
func decodeDelta(data []byte, acc *accumulator, out []bot.Chunk) ([]bot.Chunk, bool) {
	p := deltaParser{b: data}
	var ev deltaEvent
	if !p.event(&ev) {
		return out, false
	}
	var d chunkDelta
	var ok bool
	if d.Content, ok = p.text(ev.content); !ok {
		return out, false
	}
	if d.ReasoningContent, ok = p.text(ev.reasoningContent); !ok {
		return out, false
	}
	if d.Reasoning, ok = p.text(ev.reasoning); !ok {
		return out, false
	}
	if ev.model != nil {
		// The model name repeats in every chunk: no copy while it does not change.
		if body := ev.model[1 : len(ev.model)-1]; string(body) != acc.model {
			model, ok := p.text(ev.model)
			if !ok {
				return out, false
			}
			if model != "" {
				acc.model = model
			}
		}
	}
	return acc.addDelta(&d, out), true
}

// deltaEvent holds the raw JSON strings of a text-only chunk.
type deltaEvent struct {
	model                                []byte
	content, reasoningContent, reasoning []byte
}

// deltaParser is a strict scanner over one event's JSON.
type deltaParser struct {
	b []byte
	i int
}

// event parses the top-level object.
func (p *deltaParser) event(ev *deltaEvent) bool {
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "model":
			return p.stringValue(&ev.model)
		case "choices":
			return p.choices(ev)
		case "usage":
			return p.null()
		case "id", "object", "created", "system_fingerprint", "provider":
			return p.skip(0)
		}
		return !knownKey(key) && p.skip(0)
	})
	p.ws()
	return ok && p.i == len(p.b)
}

// choices parses an array of at most one choice, of index 0.
func (p *deltaParser) choices(ev *deltaEvent) bool {
	if !p.consume('[') {
		return false
	}
	if p.consume(']') {
		return true
	}
	ok := p.object(func(key []byte) bool {
		switch string(key) {
		case "index":
			return p.zero()
		case "delta":
			return p.delta(ev)
		case "finish_reason", "native_finish_reason", "usage", "logprobs":
			return p.null()
		}
		return !knownKey(key) && p.skip(0)
	})
	return ok && p.consume(']')
}

// delta parses a delta that carries only text.
func (p *deltaParser) delta(ev *deltaEvent) bool {
	return p.object(func(key []byte) bool {
		switch string(key) {
		case "content":
			return p.stringOrNull(&ev.content)
		case "reasoning_content":
			return p.stringOrNull(&ev.reasoningContent)
		case "reasoning":
			return p.stringOrNull(&ev.reasoning)
		case "role":
			var role []byte
			return p.stringValue(&role)
		case "tool_calls", "reasoning_details":
			return p.null()
		}
		return !knownKey(key) && p.skip(0)
	})
}

// knownKey reports whether key matches, ignoring case as encoding/json
// does, a field decodeChunk reads: the fast path then leaves it to it.
func knownKey(key []byte) bool {
	for _, k := range [...]string{"model", "choices", "usage", "error", "index", "delta", "finish_reason",
		"native_finish_reason", "content", "reasoning_content", "reasoning", "reasoning_details", "tool_calls"} {
		if bytes.EqualFold(key, []byte(k)) {
			return true
		}
	}
	return false
}

// object parses an object, calling field after each key with the scanner
// at the value; field parses the value.
func (p *deltaParser) object(field func(key []byte) bool) bool {
	if !p.consume('{') {
		return false
	}
	if p.consume('}') {
		return true
	}
	for {
		var key []byte
		p.ws()
		if !p.rawString(&key) || bytes.IndexByte(key, '\\') >= 0 || !p.consume(':') {
			return false
		}
		p.ws()
		if !field(key) {
			return false
		}
		if p.consume('}') {
			return true
		}
		if !p.consume(',') {
			return false
		}
	}
}

func (p *deltaParser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// consume skips whitespace and c, reporting whether c was there.
func (p *deltaParser) consume(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// rawString reads a string's quoted form, quotes included.
func (p *deltaParser) rawString(raw *[]byte) bool {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return false
	}
	start := p.i
	for p.i++; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '\\':
			if !p.escape() {
				return false
			}
		case c == '"':
			p.i++
			*raw = p.b[start+1 : p.i-1]
			return true
		case c < 0x20:
			return false
		}
	}
	return false
}

// escape checks the escape at p.i and leaves p.i on its last byte.
func (p *deltaParser) escape() bool {
	if p.i+1 >= len(p.b) {
		return false
	}
	p.i++
	switch p.b[p.i] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if p.i+4 >= len(p.b) {
			return false
		}
		for _, h := range p.b[p.i+1 : p.i+5] {
			if !isHex(h) {
				return false
			}
		}
		p.i += 4
		return true
	}
	return false
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// stringValue reads a string, keeping its quoted form in raw.
func (p *deltaParser) stringValue(raw *[]byte) bool {
	var s []byte
	if !p.rawString(&s) {
		return false
	}
	*raw = p.b[p.i-len(s)-2 : p.i]
	return true
}

// stringOrNull is stringValue that also takes null (raw stays nil).
func (p *deltaParser) stringOrNull(raw *[]byte) bool {
	if p.null() {
		*raw = nil
		return true
	}
	return p.stringValue(raw)
}

func (p *deltaParser) null() bool { return p.literal("null") }

func (p *deltaParser) zero() bool {
	if !p.literal("0") {
		return false
	}
	return p.i == len(p.b) || bytes.IndexByte([]byte(",}] \t\r\n"), p.b[p.i]) >= 0
}

func (p *deltaParser) literal(lit string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		p.i += len(lit)
		return true
	}
	return false
}

// maxSkipDepth bounds the nesting of values the fast path skips.
const maxSkipDepth = 8

// skip passes over any value.
func (p *deltaParser) skip(depth int) bool {
	p.ws()
	if p.i >= len(p.b) || depth > maxSkipDepth {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		var s []byte
		return p.rawString(&s)
	case c == '{':
		return p.object(func([]byte) bool { return p.skip(depth + 1) })
	case c == '[':
		p.i++
		if p.consume(']') {
			return true
		}
		for {
			if !p.skip(depth + 1) {
				return false
			}
			if p.consume(']') {
				return true
			}
			if !p.consume(',') {
				return false
			}
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.null()
	}
	return p.number()
}

// number passes over a number, as JSON writes them.
func (p *deltaParser) number() bool {
	p.literal("-")
	switch {
	case p.literal("0"):
	case p.digits() == 0:
		return false
	}
	if p.literal(".") && p.digits() == 0 {
		return false
	}
	if p.literal("e") || p.literal("E") {
		if !p.literal("+") {
			p.literal("-")
		}
		if p.digits() == 0 {
			return false
		}
	}
	return true
}

// digits passes over decimal digits and reports how many.
func (p *deltaParser) digits() int {
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i - start
}

// text turns a quoted JSON string (or nil) into its value. Plain strings
// are copied as they are; escapes and invalid UTF-8 go through
// encoding/json, so that the result is the same as decodeChunk's.
func (p *deltaParser) text(quoted []byte) (string, bool) {
	if quoted == nil {
		return "", true
	}
	body := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body), true
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return "", false
	}
	return s, true
}
