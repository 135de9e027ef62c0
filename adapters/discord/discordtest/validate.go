package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Discord's limits on embeds, components, modals and autocomplete, which
// the fake enforces with 400 Invalid Form Body as Discord does.
const (
	MaxEmbeds           = 10
	MaxEmbedTitle       = 256
	MaxEmbedDescription = 4096
	MaxEmbedFields      = 25
	MaxFieldName        = 256
	MaxFieldValue       = 1024
	MaxEmbedFooter      = 2048
	// MaxEmbedTotal bounds the characters of all embeds of a message.
	MaxEmbedTotal  = 6000
	MaxRows        = 5
	MaxRowButtons  = 5
	MaxCustomID    = 100
	MaxButtonLabel = 80
	MaxModalTitle  = 45
	MaxInputLabel  = 45
	MaxTextInput   = 4000
	MaxChoices     = 25
	MaxChoiceName  = 100
)

// The component types the fake knows, as Discord numbers them.
const (
	ComponentRow       = 1
	ComponentButton    = 2
	ComponentTextInput = 4
)

// Button is a message button as the bot sent it.
type Button struct {
	CustomID string `json:"custom_id"`
	Label    string `json:"label"`
	Style    int    `json:"style"`
	URL      string `json:"url"`
	Disabled bool   `json:"disabled"`
}

// component is any component of a row, as sent.
type component struct {
	Type        int    `json:"type"`
	CustomID    string `json:"custom_id"`
	Label       string `json:"label"`
	Style       int    `json:"style"`
	URL         string `json:"url"`
	Disabled    bool   `json:"disabled"`
	Value       string `json:"value"`
	Placeholder string `json:"placeholder"`
	Required    *bool  `json:"required"`
	MinLength   int    `json:"min_length"`
	MaxLength   int    `json:"max_length"`
}

type row struct {
	Type       int         `json:"type"`
	Components []component `json:"components"`
}

// Buttons returns the buttons of a message, row by row.
func (m Message) Buttons() []Button {
	var rows []row
	_ = json.Unmarshal(m.Components, &rows)
	var out []Button
	for _, r := range rows {
		for _, c := range r.Components {
			if c.Type == ComponentButton {
				out = append(out, Button{CustomID: c.CustomID, Label: c.Label, Style: c.Style, URL: c.URL, Disabled: c.Disabled})
			}
		}
	}
	return out
}

// invalid answers 400 Invalid Form Body with a reason.
func invalid(w http.ResponseWriter, reason string) {
	writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: "+reason)
}

// checkMessage answers 400 and reports false when a message's content,
// embeds or components are invalid. A message needs content, an embed or
// a component.
func checkMessage(w http.ResponseWriter, content string, components json.RawMessage, embeds []Embed) bool {
	reason := ""
	switch {
	case strings.TrimSpace(content) == "" && !hasComponents(components) && len(embeds) == 0:
		writeError(w, http.StatusBadRequest, 50006, "Cannot send an empty message")
		return false
	case contentLen(content) > MaxContent:
		reason = "content: Must be 2000 or fewer in length."
	default:
		reason = embedProblem(embeds)
		if reason == "" {
			reason = componentProblem(components)
		}
	}
	if reason != "" {
		invalid(w, reason)
		return false
	}
	return true
}

// embedProblem describes what breaks Discord's embed limits, or is "".
func embedProblem(embeds []Embed) string {
	if len(embeds) > MaxEmbeds {
		return "embeds: Must be 10 or fewer in length."
	}
	total := 0
	for i, e := range embeds {
		footer := ""
		if e.Footer != nil {
			footer = e.Footer.Text
		}
		switch {
		case contentLen(e.Title) > MaxEmbedTitle:
			return fmt.Sprintf("embeds.%d.title: Must be 256 or fewer in length.", i)
		case contentLen(e.Description) > MaxEmbedDescription:
			return fmt.Sprintf("embeds.%d.description: Must be 4096 or fewer in length.", i)
		case len(e.Fields) > MaxEmbedFields:
			return fmt.Sprintf("embeds.%d.fields: Must be 25 or fewer in length.", i)
		case contentLen(footer) > MaxEmbedFooter:
			return fmt.Sprintf("embeds.%d.footer.text: Must be 2048 or fewer in length.", i)
		}
		total += contentLen(e.Title) + contentLen(e.Description) + contentLen(footer)
		for j, f := range e.Fields {
			switch {
			case f.Name == "" || contentLen(f.Name) > MaxFieldName:
				return fmt.Sprintf("embeds.%d.fields.%d.name: Must be between 1 and 256 in length.", i, j)
			case f.Value == "" || contentLen(f.Value) > MaxFieldValue:
				return fmt.Sprintf("embeds.%d.fields.%d.value: Must be between 1 and 1024 in length.", i, j)
			}
			total += contentLen(f.Name) + contentLen(f.Value)
		}
	}
	if total > MaxEmbedTotal {
		return "embeds: Embed size exceeds maximum size of 6000"
	}
	return ""
}

// componentProblem describes what breaks Discord's rules for message
// components (action rows of buttons), or is "".
func componentProblem(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var rows []row
	if err := json.Unmarshal(raw, &rows); err != nil {
		return "components: Invalid component payload."
	}
	if len(rows) > MaxRows {
		return "components: Must be 5 or fewer in length."
	}
	seen := map[string]bool{}
	for i, r := range rows {
		if r.Type != ComponentRow || len(r.Components) == 0 || len(r.Components) > MaxRowButtons {
			return fmt.Sprintf("components.%d: Action rows hold 1 to 5 buttons.", i)
		}
		for j, c := range r.Components {
			if p := buttonProblem(c, seen); p != "" {
				return fmt.Sprintf("components.%d.components.%d.%s", i, j, p)
			}
		}
	}
	return ""
}

func buttonProblem(c component, seen map[string]bool) string {
	switch {
	case c.Type != ComponentButton:
		return "type: Only buttons are allowed in message action rows here."
	case c.Style < 1 || c.Style > 5:
		return "style: Value is not a valid button style."
	case contentLen(c.Label) > MaxButtonLabel:
		return "label: Must be 80 or fewer in length."
	case c.Style == 5 && (c.URL == "" || c.CustomID != ""):
		return "url: Link buttons need a URL and no custom_id."
	case c.Style != 5 && (c.CustomID == "" || contentLen(c.CustomID) > MaxCustomID):
		return "custom_id: Must be between 1 and 100 in length."
	case c.CustomID != "" && seen[c.CustomID]:
		return "custom_id: Component custom id cannot be duplicated"
	}
	seen[c.CustomID] = true
	return ""
}

// Modal is a form the bot opened (callback type 9).
type Modal struct {
	CustomID string      `json:"custom_id"`
	Title    string      `json:"title"`
	Inputs   []TextInput `json:"-"`
}

// TextInput is a field of a modal as the bot sent it.
type TextInput struct {
	CustomID, Label, Value, Placeholder string
	// Paragraph is true for the multi-line style.
	Paragraph            bool
	Required             bool
	MinLength, MaxLength int
}

// parseModal reads a modal callback's data and describes what breaks
// Discord's rules, if anything.
func parseModal(data json.RawMessage) (Modal, string) {
	var raw struct {
		CustomID   string `json:"custom_id"`
		Title      string `json:"title"`
		Components []row  `json:"components"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Modal{}, "data: Invalid modal payload."
	}
	m := Modal{CustomID: raw.CustomID, Title: raw.Title}
	switch {
	case m.CustomID == "" || contentLen(m.CustomID) > MaxCustomID:
		return m, "data.custom_id: Must be between 1 and 100 in length."
	case m.Title == "" || contentLen(m.Title) > MaxModalTitle:
		return m, "data.title: Must be between 1 and 45 in length."
	case len(raw.Components) == 0 || len(raw.Components) > MaxRows:
		return m, "data.components: Must be between 1 and 5 in length."
	}
	for i, r := range raw.Components {
		if r.Type != ComponentRow || len(r.Components) != 1 || r.Components[0].Type != ComponentTextInput {
			return m, fmt.Sprintf("data.components.%d: A modal row holds one text input.", i)
		}
		in, problem := textInput(r.Components[0])
		if problem != "" {
			return m, fmt.Sprintf("data.components.%d.components.0.%s", i, problem)
		}
		m.Inputs = append(m.Inputs, in)
	}
	return m, ""
}

func textInput(c component) (TextInput, string) {
	in := TextInput{CustomID: c.CustomID, Label: c.Label, Value: c.Value, Placeholder: c.Placeholder,
		Paragraph: c.Style == 2, Required: c.Required == nil || *c.Required, MinLength: c.MinLength, MaxLength: c.MaxLength}
	switch {
	case c.Style != 1 && c.Style != 2:
		return in, "style: Value is not a valid text input style."
	case in.CustomID == "" || contentLen(in.CustomID) > MaxCustomID:
		return in, "custom_id: Must be between 1 and 100 in length."
	case in.Label == "" || contentLen(in.Label) > MaxInputLabel:
		return in, "label: Must be between 1 and 45 in length."
	case contentLen(in.Value) > MaxTextInput:
		return in, "value: Must be 4000 or fewer in length."
	case in.MaxLength < 0 || in.MaxLength > MaxTextInput || in.MinLength < 0 || in.MinLength > MaxTextInput:
		return in, "max_length: Must be between 1 and 4000."
	case in.MaxLength > 0 && contentLen(in.Value) > in.MaxLength:
		return in, "value: Longer than max_length."
	}
	return in, ""
}

// choicesProblem describes what breaks Discord's rules for autocomplete
// choices, or is "".
func choicesProblem(data json.RawMessage) string {
	var raw struct {
		Choices *[]struct {
			Name  string `json:"name"`
			Value any    `json:"value"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || raw.Choices == nil {
		return "data.choices: This field is required"
	}
	if len(*raw.Choices) > MaxChoices {
		return "data.choices: Must be 25 or fewer in length."
	}
	for i, c := range *raw.Choices {
		v, isString := c.Value.(string)
		switch {
		case c.Name == "" || contentLen(c.Name) > MaxChoiceName:
			return fmt.Sprintf("data.choices.%d.name: Must be between 1 and 100 in length.", i)
		case isString && contentLen(v) > MaxChoiceName:
			return fmt.Sprintf("data.choices.%d.value: Must be 100 or fewer in length.", i)
		}
	}
	return ""
}
