package slacktest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Modal limits, as the fake enforces them.
const (
	// MaxViewTitle caps a modal's title, submit and close texts.
	MaxViewTitle = 24
	// MaxViewBlocks is the number of blocks a modal may have.
	MaxViewBlocks = 100
	// MaxInputLength caps a plain_text_input's max_length and initial value.
	MaxInputLength = 3000
	// MaxPrivateMetadata caps a view's private_metadata.
	MaxPrivateMetadata = 3000
)

// View is a modal opened with views.open.
type View struct {
	ID, Hash, TriggerID string
	// User is the person whose interaction gave the trigger_id.
	User                               string
	Opened                             time.Time
	CallbackID, PrivateMetadata, Title string
	Inputs                             []Input
	// Texts are the texts of its section and context blocks.
	Texts []string
	// Raw is the view as the app sent it.
	Raw       json.RawMessage
	Submitted bool
}

// Input is a plain_text_input block of a view.
type Input struct {
	BlockID, ActionID, Label, InitialValue string
	Multiline, Optional                    bool
	MaxLength                              int
}

// viewIn is the part of a views.open view the fake reads.
type viewIn struct {
	Type            string            `json:"type"`
	Title           *textObject       `json:"title"`
	Submit          *textObject       `json:"submit"`
	Close           *textObject       `json:"close"`
	CallbackID      string            `json:"callback_id"`
	PrivateMetadata string            `json:"private_metadata"`
	Blocks          []json.RawMessage `json:"blocks"`
}

// inputIn is an input block.
type inputIn struct {
	BlockID  string      `json:"block_id"`
	Label    *textObject `json:"label"`
	Optional bool        `json:"optional"`
	Element  struct {
		Type         string `json:"type"`
		ActionID     string `json:"action_id"`
		InitialValue string `json:"initial_value"`
		Multiline    bool   `json:"multiline"`
		MaxLength    int    `json:"max_length"`
	} `json:"element"`
}

func (s *Server) openViewLocked(p url.Values, now time.Time) reply {
	t, code := s.useTriggerLocked(p.Get("trigger_id"), now)
	if code != "" {
		return fail(code)
	}
	v, code := parseView(json.RawMessage(p.Get("view")))
	if code != "" {
		return fail(code)
	}
	s.seq++
	v.ID, v.Hash = fmt.Sprintf("V%06d", s.seq), fmt.Sprintf("%d.%x", now.Unix(), s.seq*104729)
	v.TriggerID, v.User, v.Opened = p.Get("trigger_id"), t.user, now
	s.views = append(s.views, v)
	return ok(map[string]any{"view": map[string]any{"id": v.ID, "hash": v.Hash, "type": "modal",
		"callback_id": v.CallbackID, "private_metadata": v.PrivateMetadata, "team_id": s.opts.TeamID}})
}

// parseView reads and checks a modal view.
func parseView(raw json.RawMessage) (*View, string) {
	var in viewIn
	if err := json.Unmarshal(raw, &in); err != nil || in.Type != "modal" || !titleOK(in.Title, true) ||
		!titleOK(in.Submit, false) || !titleOK(in.Close, false) || len(in.Blocks) > MaxViewBlocks ||
		Len(in.PrivateMetadata) > MaxPrivateMetadata || Len(in.CallbackID) > MaxActionID {
		return nil, "invalid_arguments"
	}
	v := &View{CallbackID: in.CallbackID, PrivateMetadata: in.PrivateMetadata, Title: in.Title.Text, Raw: raw}
	seen := map[string]bool{}
	for _, rb := range in.Blocks {
		var b block
		if json.Unmarshal(rb, &b) != nil {
			return nil, "invalid_arguments"
		}
		if b.Type != "input" {
			var shown shownBlocks
			var md []string
			if !knownBlocks[b.Type] || !shown.add(b, &md) {
				return nil, "invalid_arguments"
			}
			v.Texts = append(append(v.Texts, md...), shown.contexts...)
			continue
		}
		in, ok := parseInput(rb)
		if !ok || (in.BlockID != "" && seen[in.BlockID]) {
			return nil, "invalid_arguments"
		}
		seen[in.BlockID] = true
		v.Inputs = append(v.Inputs, in)
	}
	if len(v.Inputs) > 0 && in.Submit == nil {
		return nil, "invalid_arguments"
	}
	return v, ""
}

// titleOK checks a view's title, submit or close text.
func titleOK(t *textObject, required bool) bool {
	if t == nil {
		return !required
	}
	return t.Type == "plain_text" && t.Text != "" && Len(t.Text) <= MaxViewTitle
}

// parseInput reads and checks an input block holding a plain_text_input.
func parseInput(raw json.RawMessage) (Input, bool) {
	var in inputIn
	if json.Unmarshal(raw, &in) != nil || in.Label == nil || in.Label.Type != "plain_text" || in.Label.Text == "" ||
		Len(in.Label.Text) > 2000 || in.Element.Type != "plain_text_input" || in.Element.ActionID == "" ||
		in.Element.MaxLength > MaxInputLength || Len(in.Element.InitialValue) > MaxInputLength ||
		(in.Element.MaxLength > 0 && Len(in.Element.InitialValue) > in.Element.MaxLength) {
		return Input{}, false
	}
	return Input{BlockID: in.BlockID, ActionID: in.Element.ActionID, Label: in.Label.Text,
		InitialValue: in.Element.InitialValue, Multiline: in.Element.Multiline, Optional: in.Optional,
		MaxLength: in.Element.MaxLength}, true
}

// Views returns the views opened so far.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]View, 0, len(s.views))
	for _, v := range s.views {
		c := *v
		c.Inputs, c.Texts = append([]Input(nil), v.Inputs...), append([]string(nil), v.Texts...)
		out = append(out, c)
	}
	return out
}

// Submit is the person who opened a view submitting it: it returns the
// view_submission payload Slack sends, for PushInteraction or
// PostInteraction. values sets inputs by block_id; the others keep their
// initial value. A required input left empty, or a value over an input's
// max_length, is refused as Slack's client would.
func (s *Server) Submit(viewID string, values map[string]string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v *View
	for _, x := range s.views {
		if x.ID == viewID {
			v = x
		}
	}
	if v == nil || v.Submitted {
		return nil, fmt.Errorf("submit view %s: no such open view", viewID)
	}
	state, err := viewState(v, values)
	if err != nil {
		return nil, fmt.Errorf("submit view %s: %w", viewID, err)
	}
	v.Submitted = true
	var blocks any
	_ = json.Unmarshal(v.Raw, &struct {
		Blocks *any `json:"blocks"`
	}{&blocks})
	view := map[string]any{"id": v.ID, "team_id": s.opts.TeamID, "type": "modal", "blocks": blocks,
		"private_metadata": v.PrivateMetadata, "callback_id": v.CallbackID, "hash": v.Hash,
		"title": map[string]any{"type": "plain_text", "text": v.Title}, "root_view_id": v.ID,
		"app_id": "AKIMIBOT", "bot_id": s.opts.BotID, "state": map[string]any{"values": state}}
	return json.Marshal(map[string]any{"type": "view_submission", "team": map[string]any{"id": s.opts.TeamID,
		"domain": "kimibot-test"}, "user": s.userFieldsLocked(v.User), "api_app_id": "AKIMIBOT",
		"token": "verification-token", "trigger_id": s.newTriggerLocked(v.User, time.Now()), "view": view,
		"response_urls": []any{}, "is_enterprise_install": false})
}

// viewState is the state.values of a submitted view.
func viewState(v *View, values map[string]string) (map[string]any, error) {
	state := map[string]any{}
	for _, in := range v.Inputs {
		val, set := values[in.BlockID]
		if !set {
			val = in.InitialValue
		}
		if !in.Multiline {
			val = strings.ReplaceAll(val, "\n", " ")
		}
		var value any = val
		switch {
		case strings.TrimSpace(val) == "" && !in.Optional:
			return nil, fmt.Errorf("required input %s is empty", in.BlockID)
		case in.MaxLength > 0 && Len(val) > in.MaxLength:
			return nil, fmt.Errorf("input %s is over its max_length", in.BlockID)
		case val == "":
			value = nil
		}
		state[in.BlockID] = map[string]any{in.ActionID: map[string]any{"type": "plain_text_input", "value": value}}
	}
	return state, nil
}
