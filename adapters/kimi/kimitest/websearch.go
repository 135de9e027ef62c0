package kimitest

import (
	"bytes"
	"encoding/json"
)

// checkWebSearchThinking rejects a request that declares $web_search while
// the model thinks: Moonshot's guide requires thinking off for the search.
// The message is the fake's wording; the real one is not documented.
func checkWebSearchThinking(req *ChatRequest, m Model) string {
	if !declaresWebSearch(req) || !moonshotThinking(req, m) {
		return ""
	}
	return "Invalid request: $web_search is not available while thinking is enabled; disable thinking"
}

// declaresWebSearch reports whether the request offers the builtin $web_search.
func declaresWebSearch(req *ChatRequest) bool {
	for _, raw := range req.Tools {
		if !bytes.Contains(raw, []byte(webSearch)) {
			continue
		}
		var t struct {
			Type     string `json:"type"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		}
		if json.Unmarshal(raw, &t) == nil && t.Type == "builtin_function" && t.Function.Name == webSearch {
			return true
		}
	}
	return false
}
