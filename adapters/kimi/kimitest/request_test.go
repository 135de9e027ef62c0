package kimitest

import (
	"encoding/json"
	"testing"
)

// TestMessageText checks Text on every form of content: a plain string
// (read without decoding), strings with escapes or invalid UTF-8 (decoded
// as encoding/json does), lists of parts, and nothing.
func TestMessageText(t *testing.T) {
	for _, tc := range []struct {
		content, want string
	}{
		{`"hello world"`, "hello world"},
		{`"héllo 😀"`, "héllo 😀"},
		{`"line\nnext \"quoted\" \u00e9"`, "line\nnext \"quoted\" é"},
		{"\"bad \xff byte\"", "bad \ufffd byte"},
		{`""`, ""},
		{`[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"b"}]`, "a\nb"},
		{`null`, ""},
		{``, ""},
	} {
		if got := (ChatMessage{Content: json.RawMessage(tc.content)}).Text(); got != tc.want {
			t.Errorf("Text of %s = %q, want %q", tc.content, got, tc.want)
		}
	}
}
