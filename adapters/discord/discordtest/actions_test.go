package discordtest

import (
	"encoding/json"
	"strings"
	"testing"
)

// modelCommand is a valid command with an autocomplete option and choices.
var modelCommand = map[string]any{"name": "model", "description": "Choose a model", "options": []map[string]any{
	{"type": OptionString, "name": "id", "description": "Model", "autocomplete": true},
	{"type": OptionString, "name": "scope", "description": "Scope", "choices": []map[string]any{{"name": "me", "value": "me"}}},
	{"type": OptionChannel, "name": "review", "description": "Channel", "channel_types": []int{ChannelText}},
}}

func putCommands(tb testing.TB, s *Server, app string, cmds ...any) (int, []Command) {
	tb.Helper()
	resp, body := post(tb, s, "PUT", "/applications/"+app+"/commands", s.Token(), cmds)
	var out []Command
	_ = json.Unmarshal(body, &out)
	return resp.StatusCode, out
}

func TestCommandRegistration(t *testing.T) {
	s := NewServer(t, Options{})
	with := func(edit func(c map[string]any)) map[string]any {
		c := map[string]any{"name": "x", "description": "d"}
		edit(c)
		return c
	}
	bad := []struct {
		name string
		cmd  map[string]any
	}{
		{"UpperCaseName", with(func(c map[string]any) { c["name"] = "Model" })},
		{"LongName", with(func(c map[string]any) { c["name"] = strings.Repeat("a", 33) })},
		{"NoDescription", with(func(c map[string]any) { c["description"] = "" })},
		{"ChoicesAndAutocomplete", with(func(c map[string]any) {
			c["options"] = []map[string]any{{"type": OptionString, "name": "o", "description": "d", "autocomplete": true,
				"choices": []map[string]any{{"name": "a", "value": "a"}}}}
		})},
		{"RequiredAfterOptional", with(func(c map[string]any) {
			c["options"] = []map[string]any{{"type": OptionString, "name": "a", "description": "d"},
				{"type": OptionString, "name": "b", "description": "d", "required": true}}
		})},
		{"AutocompleteOnBoolean", with(func(c map[string]any) {
			c["options"] = []map[string]any{{"type": OptionBoolean, "name": "a", "description": "d", "autocomplete": true}}
		})},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if status, _ := putCommands(t, s, s.AppID(), tt.cmd); status != 400 {
				t.Fatalf("status %d, want 400", status)
			}
		})
	}
	if status, _ := putCommands(t, s, "1", modelCommand); status != 403 {
		t.Fatalf("another application's commands: status %d", status)
	}
	status, first := putCommands(t, s, s.AppID(), modelCommand, with(func(map[string]any) {}))
	if status != 200 || len(first) != 2 || first[0].ID == "" {
		t.Fatalf("status %d, commands %+v", status, first)
	}
	// Overwriting keeps the IDs of commands whose names stay and drops the rest.
	_, second := putCommands(t, s, s.AppID(), modelCommand)
	if got := s.Commands(""); len(second) != 1 || second[0].ID != first[0].ID || len(got) != 1 {
		t.Fatalf("after overwrite: %+v (stored %+v)", second, got)
	}
}

func TestUserActionsFollowTheRegisteredCommands(t *testing.T) {
	s := NewServer(t, Options{})
	g := s.AddGuild()
	ch := s.AddTextChannel(g, "general")
	m := Member{Channel: ch, User: s.AddUser("ada", false), Roles: []string{"9"}}
	if _, err := s.SendCommand(m, "model"); err == nil {
		t.Fatal("an unregistered command was sent")
	}
	putCommands(t, s, s.AppID(), modelCommand)
	bad := []struct {
		name string
		opts []Option
		auto bool
	}{
		{"UnknownOption", []Option{{Name: "size", Value: "x"}}, false},
		{"NotAChoice", []Option{{Name: "scope", Value: "everyone"}}, false},
		{"WrongType", []Option{{Name: "id", Value: true}}, false},
		{"UnknownChannel", []Option{{Name: "review", Value: "1"}}, false},
		{"FocusedWithoutAutocomplete", []Option{{Name: "scope", Value: "m", Focused: true}}, true},
		{"NothingFocused", []Option{{Name: "id", Value: "k"}}, true},
	}
	for _, tt := range bad {
		send := s.SendCommand
		if tt.auto {
			send = s.SendAutocomplete
		}
		if _, err := send(m, "model", tt.opts...); err == nil {
			t.Errorf("%s: sent", tt.name)
		}
	}
	it, err := s.SendCommand(m, "model", Option{Name: "id", Value: "kimi"}, Option{Name: "review", Value: ch})
	if err != nil {
		t.Fatal(err)
	}
	if it.Type != InteractionCommand || len(it.Roles) != 1 || it.User.ID != m.User.ID {
		t.Fatalf("interaction %+v", it)
	}
	if _, err := s.SendAutocomplete(m, "model", Option{Name: "id", Value: "ki", Focused: true}); err != nil {
		t.Fatal(err)
	}
}

// answer posts an interaction's initial response.
func answer(tb testing.TB, s *Server, it Interaction, body any) int {
	tb.Helper()
	resp, _ := post(tb, s, "POST", "/interactions/"+it.ID+"/"+it.Token+"/callback", "", body)
	return resp.StatusCode
}

func TestButtonsAndModals(t *testing.T) {
	s := NewServer(t, Options{})
	ch := s.AddTextChannel(s.AddGuild(), "reviews")
	m := Member{Channel: ch, User: s.AddUser("rita", false)}
	_, body := post(t, s, "POST", "/channels/"+ch+"/messages", s.Token(), map[string]any{"content": "card",
		"components": []map[string]any{{"type": ComponentRow, "components": []map[string]any{
			{"type": ComponentButton, "style": 1, "label": "Edit", "custom_id": "edit:1"},
			{"type": ComponentButton, "style": 2, "label": "Off", "custom_id": "off:1", "disabled": true}}}}})
	var card Message
	_ = json.Unmarshal(body, &card)
	for _, id := range []string{"approve:1", "off:1"} {
		if _, err := s.ClickButton(m, card.ID, id); err == nil {
			t.Fatalf("clicked %s, which the card does not offer", id)
		}
	}
	click, err := s.ClickButton(m, card.ID, "edit:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SubmitModal(click.ID, nil); err == nil {
		t.Fatal("submitted a modal that was never shown")
	}
	input := func(title string, value string) map[string]any {
		return map[string]any{"type": CallbackModal, "data": map[string]any{"custom_id": "edit:1", "title": title,
			"components": []map[string]any{{"type": ComponentRow, "components": []map[string]any{
				{"type": ComponentTextInput, "custom_id": "text", "label": "Reply", "style": 2, "value": value, "required": true, "max_length": 4000}}}}}}
	}
	if status := answer(t, s, click, input(strings.Repeat("t", 46), "draft")); status != 400 {
		t.Fatalf("a 46-character title: status %d", status)
	}
	if status := answer(t, s, click, input("Edit", "draft")); status != 204 {
		t.Fatalf("modal: status %d", status)
	}
	if modal, ok := s.ModalShown(click.ID); !ok || modal.Inputs[0].Value != "draft" || !modal.Inputs[0].Paragraph {
		t.Fatalf("modal shown = %+v", modal)
	}
	for _, fields := range []map[string]string{{"text": ""}, {"text": strings.Repeat("x", 4001)}, {"other": "x"}} {
		if _, err := s.SubmitModal(click.ID, fields); err == nil {
			t.Fatalf("submitted %v", fields)
		}
	}
	submit, err := s.SubmitModal(click.ID, map[string]string{"text": "edited"})
	if err != nil || submit.Type != InteractionModalSubmit || submit.User.ID != m.User.ID {
		t.Fatalf("submit %+v, %v", submit, err)
	}
	if _, err := s.SubmitModal(click.ID, nil); err == nil {
		t.Fatal("a modal was submitted twice")
	}
}

func TestAutocompleteChoicesAreChecked(t *testing.T) {
	s := NewServer(t, Options{})
	ch := s.AddTextChannel(s.AddGuild(), "general")
	putCommands(t, s, s.AppID(), modelCommand)
	m := Member{Channel: ch, User: s.AddUser("ada", false)}
	choices := func(n int) map[string]any {
		cs := []map[string]any{}
		for range n {
			cs = append(cs, map[string]any{"name": "kimi", "value": "kimi"})
		}
		return map[string]any{"type": CallbackAutocomplete, "data": map[string]any{"choices": cs}}
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"TooMany", choices(26), 400},
		{"NoChoiceList", map[string]any{"type": CallbackAutocomplete, "data": map[string]any{}}, 400},
		{"Empty", choices(0), 204},
		{"TwentyFive", choices(25), 204},
	}
	for _, tt := range tests {
		it, err := s.SendAutocomplete(m, "model", Option{Name: "id", Value: "k", Focused: true})
		if err != nil {
			t.Fatal(err)
		}
		if status := answer(t, s, it, tt.body); status != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, status, tt.status)
		}
	}
}

func TestEmbedAndComponentLimits(t *testing.T) {
	s := NewServer(t, Options{MessageLimit: 100})
	ch := s.AddTextChannel(s.AddGuild(), "reviews")
	embed := func(edit func(e map[string]any)) map[string]any {
		e := map[string]any{"title": "Draft reply", "description": "draft", "fields": []map[string]any{{"name": "Question", "value": "why?"}}}
		edit(e)
		return map[string]any{"embeds": []any{e}}
	}
	buttons := func(n int, id string) map[string]any {
		var bs []map[string]any
		for i := range n {
			bs = append(bs, map[string]any{"type": ComponentButton, "style": 1, "label": "b", "custom_id": id + string(rune('a'+i))})
		}
		return map[string]any{"content": "x", "components": []map[string]any{{"type": ComponentRow, "components": bs}}}
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"Valid", embed(func(map[string]any) {}), 200},
		{"LongDescription", embed(func(e map[string]any) { e["description"] = strings.Repeat("d", 4097) }), 400},
		{"LongFieldValue", embed(func(e map[string]any) {
			e["fields"] = []map[string]any{{"name": "n", "value": strings.Repeat("v", 1025)}}
		}), 400},
		{"EmptyFieldValue", embed(func(e map[string]any) { e["fields"] = []map[string]any{{"name": "n", "value": ""}} }), 400},
		{"OverSixThousand", embed(func(e map[string]any) {
			e["description"] = strings.Repeat("d", 4000)
			e["fields"] = []map[string]any{{"name": "a", "value": strings.Repeat("v", 1000)}, {"name": "b", "value": strings.Repeat("v", 1000)}}
		}), 400},
		{"FiveButtons", buttons(5, "id"), 200},
		{"SixButtons", buttons(6, "id"), 400},
		{"LongCustomID", buttons(1, strings.Repeat("c", 100)), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, s, "POST", "/channels/"+ch+"/messages", s.Token(), tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.status)
			}
		})
	}
}

func TestListMessagesWithNonces(t *testing.T) {
	for _, omit := range []bool{false, true} {
		s := NewServer(t, Options{FetchOmitsNonce: omit})
		ch := s.DMChannel(s.AddUser("ada", false).ID)
		for _, n := range []string{"n-1", "n-2", "n-3"} {
			_, body := post(t, s, "POST", "/channels/"+ch+"/messages", s.Token(), map[string]any{"content": n, "nonce": n})
			var created Message
			if _ = json.Unmarshal(body, &created); created.Nonce != n {
				t.Fatalf("create answered nonce %q, want %q", created.Nonce, n)
			}
		}
		resp, body := post(t, s, "GET", "/channels/"+ch+"/messages?limit=2", s.Token(), nil)
		var got []Message
		_ = json.Unmarshal(body, &got)
		wantNonce := map[bool]string{false: "n-3", true: ""}[omit]
		if resp.StatusCode != 200 || len(got) != 2 || got[0].Content != "n-3" || got[1].Content != "n-2" || got[0].Nonce != wantNonce {
			t.Fatalf("omit %v: list = %d %+v", omit, resp.StatusCode, got)
		}
	}
}
