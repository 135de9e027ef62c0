package slacktest

import (
	"encoding/json"
	"strings"
)

// Block Kit limits the fake checks, in UTF-16 code units or counts.
const (
	// MaxHeaderText is the limit of a header block's plain text.
	MaxHeaderText = 150
	// MaxContextElements is the number of elements a context block may have.
	MaxContextElements = 10
	// MaxActionElements is the number of elements an actions block may have.
	MaxActionElements = 25
	// MaxButtonText, MaxButtonValue and MaxActionID are a button's limits.
	MaxButtonText, MaxButtonValue, MaxActionID = 75, 2000, 255
)

// Button is a button of a message's actions block.
type Button struct {
	BlockID, ActionID, Text, Value string
	// Style is "", "primary" or "danger".
	Style string
}

// shownBlocks is what a blocks parameter shows.
type shownBlocks struct {
	markdown, footer, header string
	contexts                 []string
	buttons                  []Button
	raw                      json.RawMessage
}

// textObject is a Block Kit text object.
type textObject struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// block is the part of a Block Kit block the fake reads.
type block struct {
	Type     string          `json:"type"`
	BlockID  string          `json:"block_id"`
	Text     json.RawMessage `json:"text"`
	Elements []element       `json:"elements"`
}

// element is an element of a context or actions block.
type element struct {
	Type     string          `json:"type"`
	Text     json.RawMessage `json:"text"`
	ActionID string          `json:"action_id"`
	Value    string          `json:"value"`
	Style    string          `json:"style"`
}

// knownBlocks are the block types a message may carry.
var knownBlocks = map[string]bool{"markdown": true, "section": true, "context": true, "header": true,
	"actions": true, "divider": true, "rich_text": true, "image": true}

// parseBlocks reads a blocks parameter and checks Slack's block limits,
// returning the Slack error code of a violation.
func parseBlocks(raw string) (shownBlocks, string) {
	if raw == "" {
		return shownBlocks{}, ""
	}
	var blocks []block
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return shownBlocks{}, "invalid_blocks_format"
	}
	if len(blocks) > MaxBlocks {
		return shownBlocks{}, "invalid_blocks"
	}
	out := shownBlocks{raw: json.RawMessage(raw)}
	var md []string
	total := 0
	for _, b := range blocks {
		if !knownBlocks[b.Type] || !out.add(b, &md) {
			return shownBlocks{}, "invalid_blocks"
		}
		if b.Type == "markdown" {
			total += Len(md[len(md)-1])
		}
	}
	if total > MaxMarkdownTotal {
		return shownBlocks{}, "msg_blocks_too_long"
	}
	out.markdown, out.footer = strings.Join(md, "\n"), strings.Join(out.contexts, " ")
	return out, ""
}

// add records what one block shows; it reports false if the block breaks a limit.
func (out *shownBlocks) add(b block, md *[]string) bool {
	switch b.Type {
	case "markdown":
		var t string
		if json.Unmarshal(b.Text, &t) != nil || Len(t) > MaxMarkdownBlock {
			return false
		}
		*md = append(*md, t)
	case "section":
		var t textObject
		if json.Unmarshal(b.Text, &t) != nil || Len(t.Text) > MaxSectionText {
			return false
		}
		*md = append(*md, t.Text)
	case "header":
		var t textObject
		if json.Unmarshal(b.Text, &t) != nil || t.Type != "plain_text" || Len(t.Text) > MaxHeaderText {
			return false
		}
		out.header = t.Text
	case "context":
		text, ok := contextText(b)
		if !ok {
			return false
		}
		out.contexts = append(out.contexts, text)
	case "actions":
		buttons, ok := actionButtons(b)
		if !ok {
			return false
		}
		out.buttons = append(out.buttons, buttons...)
	}
	return true
}

// contextText joins the texts of a context block's elements.
func contextText(b block) (string, bool) {
	if len(b.Elements) == 0 || len(b.Elements) > MaxContextElements {
		return "", false
	}
	parts := make([]string, 0, len(b.Elements))
	for _, e := range b.Elements {
		if e.Type == "image" {
			continue
		}
		var t string
		if json.Unmarshal(e.Text, &t) != nil || Len(t) > MaxSectionText {
			return "", false
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " "), true
}

// actionButtons reads the buttons of an actions block.
func actionButtons(b block) ([]Button, bool) {
	if len(b.Elements) == 0 || len(b.Elements) > MaxActionElements {
		return nil, false
	}
	seen := map[string]bool{}
	var out []Button
	for _, e := range b.Elements {
		if e.Type != "button" {
			continue
		}
		var t textObject
		if json.Unmarshal(e.Text, &t) != nil || t.Type != "plain_text" || t.Text == "" || Len(t.Text) > MaxButtonText ||
			Len(e.Value) > MaxButtonValue || e.ActionID == "" || Len(e.ActionID) > MaxActionID || seen[e.ActionID] ||
			(e.Style != "" && e.Style != "primary" && e.Style != "danger") {
			return nil, false
		}
		seen[e.ActionID] = true
		out = append(out, Button{BlockID: b.BlockID, ActionID: e.ActionID, Text: t.Text, Value: e.Value, Style: e.Style})
	}
	return out, true
}
