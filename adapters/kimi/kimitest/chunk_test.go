package kimitest

import (
	"bytes"
	"testing"
)

// TestContentChunkMatchesEncoding checks the content chunk template
// against encoding each chunk whole, for both flavors.
func TestContentChunkMatchesEncoding(t *testing.T) {
	for _, flavor := range []Flavor{Moonshot, OpenRouter} {
		tu := &turn{flavor: flavor, id: "chatcmpl-1", created: 1, model: "kimi-k2.6", provider: "Moonshot AI"}
		content := tu.contentChunk()
		for _, piece := range []string{"word ", "", "a\"b\\c\n", "<b>&</b>", "é😀\u2028", "\x00kimitest\x00", "\xff", "\u2029\ufffd"} {
			if got, want := content(nil, piece), tu.chunk(delta{Content: &piece}); !bytes.Equal(got, want) {
				t.Errorf("%v chunk of %q = %s, want %s", flavor, piece, got, want)
			}
		}
	}
}
