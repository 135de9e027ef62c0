package discordtest

import (
	"fmt"
	"strings"
)

// Member is a user acting in a channel, with their role IDs in the
// channel's guild.
type Member struct {
	Channel string
	User    User
	Roles   []string
}

// Option is a command option as a user fills it in; its type comes from
// the registered command. Values are strings (string and channel options,
// a channel by ID), bools or numbers.
type Option struct {
	Name  string
	Value any
	// Focused marks the option being typed, for autocomplete.
	Focused bool
}

// SendCommand runs a registered slash command as m, as the Discord client
// would: the command and its options must exist, required options must be
// given and values must fit their types and choices.
func (s *Server) SendCommand(m Member, name string, opts ...Option) (Interaction, error) {
	return s.sendCommand(m, InteractionCommand, name, opts)
}

// SendAutocomplete asks for choices while m types the focused option of a
// registered command; that option must have autocomplete.
func (s *Server) SendAutocomplete(m Member, name string, opts ...Option) (Interaction, error) {
	return s.sendCommand(m, InteractionAutocomplete, name, opts)
}

func (s *Server) sendCommand(m Member, typ int, name string, opts []Option) (Interaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[m.Channel]
	if !ok {
		return Interaction{}, fmt.Errorf("discordtest: unknown channel %s", m.Channel)
	}
	cmd, ok := s.commandLocked(ch.GuildID, name)
	if !ok {
		return Interaction{}, fmt.Errorf("discordtest: no command /%s is registered", name)
	}
	data, err := s.commandDataLocked(cmd, typ, opts)
	if err != nil {
		return Interaction{}, err
	}
	return s.sendInteractionLocked(InteractionIn{Type: typ, Channel: m.Channel, User: m.User, Roles: m.Roles, Data: data}), nil
}

// commandDataLocked builds the data of a command or autocomplete
// interaction, checking the options against the command's definition.
func (s *Server) commandDataLocked(cmd Command, typ int, opts []Option) (map[string]any, error) {
	defs := map[string]CommandOption{}
	for _, o := range cmd.Options {
		defs[o.Name] = o
	}
	given, focused := map[string]bool{}, 0
	out, resolved := []map[string]any{}, map[string]any{}
	for _, o := range opts {
		def, ok := defs[o.Name]
		switch {
		case !ok:
			return nil, fmt.Errorf("discordtest: /%s has no option %q", cmd.Name, o.Name)
		case given[o.Name]:
			return nil, fmt.Errorf("discordtest: option %q given twice", o.Name)
		case o.Focused && (typ != InteractionAutocomplete || !def.Autocomplete):
			return nil, fmt.Errorf("discordtest: option %q of /%s has no autocomplete", o.Name, cmd.Name)
		}
		if err := s.checkValueLocked(def, o, resolved); err != nil {
			return nil, err
		}
		given[o.Name] = true
		entry := map[string]any{"name": o.Name, "type": def.Type, "value": o.Value}
		if o.Focused {
			entry["focused"], focused = true, focused+1
		}
		out = append(out, entry)
	}
	for _, d := range cmd.Options {
		if typ == InteractionCommand && d.Required && !given[d.Name] {
			return nil, fmt.Errorf("discordtest: /%s needs option %q", cmd.Name, d.Name)
		}
	}
	if typ == InteractionAutocomplete && focused != 1 {
		return nil, fmt.Errorf("discordtest: autocomplete needs exactly one focused option, got %d", focused)
	}
	data := map[string]any{"id": cmd.ID, "name": cmd.Name, "type": 1, "options": out}
	if len(resolved) > 0 {
		data["resolved"] = map[string]any{"channels": resolved}
	}
	return data, nil
}

// checkValueLocked checks an option value against its definition and
// adds resolved channels.
func (s *Server) checkValueLocked(def CommandOption, o Option, resolved map[string]any) error {
	bad := fmt.Errorf("discordtest: option %q: %v does not fit type %d", o.Name, o.Value, def.Type)
	switch def.Type {
	case OptionString:
		v, ok := o.Value.(string)
		if !ok || (def.MaxLength > 0 && contentLen(v) > def.MaxLength) {
			return bad
		}
		if len(def.Choices) > 0 && !o.Focused && !hasChoice(def.Choices, v) {
			return fmt.Errorf("discordtest: option %q: %q is not one of its choices", o.Name, v)
		}
	case OptionBoolean:
		if _, ok := o.Value.(bool); !ok {
			return bad
		}
	case OptionInteger, OptionNumber:
		switch o.Value.(type) {
		case int, int64, float64:
		default:
			return bad
		}
	case OptionChannel:
		id, _ := o.Value.(string)
		ch, ok := s.channels[id]
		if !ok || (len(def.ChannelTypes) > 0 && !hasType(def.ChannelTypes, ch.Type)) {
			return bad
		}
		resolved[id] = map[string]any{"id": id, "type": ch.Type, "name": ch.Name, "parent_id": ch.ParentID, "permissions": "0"}
	default:
		return bad
	}
	return nil
}

func hasChoice(cs []CommandChoice, v string) bool {
	for _, c := range cs {
		if fmt.Sprint(c.Value) == v {
			return true
		}
	}
	return false
}

func hasType(types []int, t int) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// ClickButton clicks a button of a message as m. The message must be in
// m's channel and show an enabled button with that custom ID.
func (s *Server) ClickButton(m Member, message, customID string) (Interaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, ok := s.messages[message]
	if !ok || msg.ChannelID != m.Channel {
		return Interaction{}, fmt.Errorf("discordtest: no message %s in channel %s", message, m.Channel)
	}
	found := false
	for _, b := range msg.Buttons() {
		if b.CustomID == customID && !b.Disabled {
			found = true
		}
	}
	if !found {
		return Interaction{}, fmt.Errorf("discordtest: message %s shows no enabled button %q", message, customID)
	}
	data := map[string]any{"custom_id": customID, "component_type": ComponentButton}
	return s.sendInteractionLocked(InteractionIn{Type: InteractionComponent, Channel: m.Channel, User: m.User,
		Roles: m.Roles, Message: message, Data: data}), nil
}

// SubmitModal submits the modal the bot opened in answer to interaction
// opened, as its user. fields set text inputs by custom ID; the others
// keep the value the bot prefilled. Required inputs must not be empty and
// lengths must fit; a modal is submitted once.
func (s *Server) SubmitModal(opened string, fields map[string]string) (Interaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.inter[opened]
	if !ok || it.CallbackType != CallbackModal || it.submitted {
		return Interaction{}, fmt.Errorf("discordtest: interaction %s shows no open modal", opened)
	}
	modal, _ := parseModal(it.Callback)
	rows, used := []map[string]any{}, 0
	for _, in := range modal.Inputs {
		v, ok := fields[in.CustomID]
		if ok {
			used++
		} else {
			v = in.Value
		}
		n := contentLen(v)
		switch {
		case in.Required && strings.TrimSpace(v) == "":
			return Interaction{}, fmt.Errorf("discordtest: modal field %q is required", in.CustomID)
		case n > MaxTextInput || (in.MaxLength > 0 && n > in.MaxLength) || (v != "" && n < in.MinLength):
			return Interaction{}, fmt.Errorf("discordtest: modal field %q has a length of %d", in.CustomID, n)
		}
		rows = append(rows, map[string]any{"type": ComponentRow, "components": []map[string]any{
			{"type": ComponentTextInput, "custom_id": in.CustomID, "value": v}}})
	}
	if used != len(fields) {
		return Interaction{}, fmt.Errorf("discordtest: modal %q lacks some of the fields %v", modal.CustomID, fields)
	}
	it.submitted = true
	data := map[string]any{"custom_id": modal.CustomID, "components": rows}
	return s.sendInteractionLocked(InteractionIn{Type: InteractionModalSubmit, Channel: it.ChannelID, User: it.User,
		Roles: it.Roles, Message: it.message, Data: data}), nil
}
