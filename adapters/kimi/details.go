package kimi

import (
	"bytes"
	"encoding/json"
	"strings"
)

// detail is one OpenRouter reasoning_details entry being assembled. While
// streaming, OpenRouter sends reasoning.text and reasoning.summary entries
// as word-sized pieces, all with index 0; consecutive pieces of one block
// are merged back into the single entry a non-stream answer would carry,
// because that is the shape the API expects to get back. Every other field
// is kept as sent.
type detail struct {
	raw    json.RawMessage            // an entry kept exactly as sent
	fields map[string]json.RawMessage // a mergeable entry, without its text
	key    string                     // "text" or "summary"
	text   strings.Builder
}

// textKeys names the field that mergeable entry types stream in pieces.
var textKeys = map[string]string{"reasoning.text": "text", "reasoning.summary": "summary"}

// addDetail adds one streamed reasoning_details entry.
func (acc *accumulator) addDetail(raw json.RawMessage) {
	var fields map[string]json.RawMessage
	var typ, piece string
	if json.Unmarshal(raw, &fields) != nil || json.Unmarshal(fields["type"], &typ) != nil {
		acc.details = append(acc.details, &detail{raw: raw})
		return
	}
	key := textKeys[typ]
	if key == "" || json.Unmarshal(fields[key], &piece) != nil {
		acc.details = append(acc.details, &detail{raw: raw})
		return
	}
	delete(fields, key)
	if n := len(acc.details); n > 0 && acc.details[n-1].continuedBy(key, fields) {
		last := acc.details[n-1]
		last.text.WriteString(piece)
		for k, v := range fields {
			if isEmptyJSON(last.fields[k]) {
				last.fields[k] = v
			}
		}
		return
	}
	d := &detail{fields: fields, key: key}
	d.text.WriteString(piece)
	acc.details = append(acc.details, d)
}

// continuedBy reports whether an entry with these fields continues d: the
// same mergeable type and the same index.
func (d *detail) continuedBy(key string, fields map[string]json.RawMessage) bool {
	return d.fields != nil && d.key == key &&
		bytes.Equal(d.fields["type"], fields["type"]) &&
		(isEmptyJSON(fields["index"]) || bytes.Equal(d.fields["index"], fields["index"]))
}

// isEmptyJSON reports whether a field is absent, null or an empty string.
func isEmptyJSON(v json.RawMessage) bool {
	s := string(bytes.TrimSpace(v))
	return s == "" || s == "null" || s == `""`
}

// detailsJSON returns the assembled reasoning_details array, or nil.
func (acc *accumulator) detailsJSON() json.RawMessage {
	if len(acc.details) == 0 {
		return nil
	}
	out := make([]json.RawMessage, 0, len(acc.details))
	for _, d := range acc.details {
		if d.fields == nil {
			out = append(out, d.raw)
			continue
		}
		fields := make(map[string]json.RawMessage, len(d.fields)+1)
		for k, v := range d.fields {
			fields[k] = v
		}
		fields[d.key], _ = json.Marshal(d.text.String())
		b, _ := json.Marshal(fields)
		out = append(out, b)
	}
	b, _ := json.Marshal(out)
	return b
}
