package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The application command option types, as Discord numbers them.
const (
	OptionSubCommand      = 1
	OptionSubCommandGroup = 2
	OptionString          = 3
	OptionInteger         = 4
	OptionBoolean         = 5
	OptionUser            = 6
	OptionChannel         = 7
	OptionRole            = 8
	OptionNumber          = 10
)

// Discord's limits on application commands.
const (
	MaxCommands          = 100
	MaxCommandName       = 32
	MaxCommandDesc       = 100
	MaxCommandOptions    = 25
	MaxCommandCharacters = 8000
)

// Command is a registered application command.
type Command struct {
	ID            string          `json:"id"`
	ApplicationID string          `json:"application_id"`
	GuildID       string          `json:"guild_id,omitempty"`
	Version       string          `json:"version"`
	Type          int             `json:"type"`
	Name          string          `json:"name"`
	Description   string          `json:"description"`
	Options       []CommandOption `json:"options"`
	Contexts      []int           `json:"contexts,omitempty"`
}

// CommandOption is an option of a command.
type CommandOption struct {
	Type         int             `json:"type"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Required     bool            `json:"required,omitempty"`
	Autocomplete bool            `json:"autocomplete,omitempty"`
	Choices      []CommandChoice `json:"choices,omitempty"`
	ChannelTypes []int           `json:"channel_types,omitempty"`
	MaxLength    int             `json:"max_length,omitempty"`
	Options      []CommandOption `json:"options,omitempty"`
}

// CommandChoice is a fixed choice of an option.
type CommandChoice struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Commands returns the registered commands of a guild, or the global ones
// for guildID "".
func (s *Server) Commands(guildID string) []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Command(nil), s.commands[guildID]...)
}

// putCommands serves the bulk overwrite routes: the body replaces the
// command set; a command keeps its ID when its name stays.
func (s *Server) putCommands(w http.ResponseWriter, appID, guildID string, body []byte) {
	var cmds []Command
	if err := json.Unmarshal(body, &cmds); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case appID != s.opts.AppID:
		writeError(w, http.StatusForbidden, 50001, "Missing Access")
		return
	case guildID != "" && !s.knownGuildLocked(guildID):
		writeError(w, http.StatusNotFound, 10004, "Unknown Guild")
		return
	case len(cmds) > MaxCommands:
		invalid(w, "Must be 100 or fewer in length.")
		return
	}
	old := map[string]Command{}
	for _, c := range s.commands[guildID] {
		old[c.Name] = c
	}
	seen := map[string]bool{}
	for i := range cmds {
		if p := commandProblem(cmds[i], seen); p != "" {
			invalid(w, fmt.Sprintf("%d.%s", i, p))
			return
		}
		c := &cmds[i]
		if c.Type == 0 {
			c.Type = 1
		}
		c.ApplicationID, c.GuildID, c.ID, c.Version = appID, guildID, s.ids.next(), s.ids.next()
		if prev, ok := old[c.Name]; ok {
			c.ID = prev.ID
		}
	}
	s.commands[guildID] = cmds
	s.bumpLocked()
	writeJSON(w, cmds)
}

func (s *Server) knownGuildLocked(id string) bool {
	for _, g := range s.guilds {
		if g == id {
			return true
		}
	}
	return false
}

// commandName is Discord's pattern for command and option names.
var commandName = regexp.MustCompile(`^[-_\p{L}\p{N}]{1,32}$`)

func nameProblem(name string) string {
	if !commandName.MatchString(name) || strings.ToLower(name) != name {
		return "name: Command name is invalid"
	}
	return ""
}

// commandProblem describes what breaks Discord's rules for a chat input
// command, or is "".
func commandProblem(c Command, seen map[string]bool) string {
	if c.Type != 0 && c.Type != 1 {
		return "type: Only chat input commands are supported by the fake."
	}
	if p := nameProblem(c.Name); p != "" {
		return p
	}
	switch {
	case seen[c.Name]:
		return "name: Application command names must be unique"
	case c.Description == "" || contentLen(c.Description) > MaxCommandDesc:
		return "description: Must be between 1 and 100 in length."
	}
	seen[c.Name] = true
	if p := optionsProblem(c.Options); p != "" {
		return p
	}
	if n := commandChars(c.Name, c.Description, c.Options); n > MaxCommandCharacters {
		return "Command exceeds maximum size (8000)"
	}
	return ""
}

func optionsProblem(opts []CommandOption) string {
	if len(opts) > MaxCommandOptions {
		return "options: Must be 25 or fewer in length."
	}
	names, optional := map[string]bool{}, false
	for i, o := range opts {
		p := optionProblem(o)
		switch {
		case p != "":
		case names[o.Name]:
			p = "name: Option names must be unique"
		case o.Required && optional:
			p = "required: Required options must be placed before non-required options"
		}
		if p != "" {
			return fmt.Sprintf("options.%d.%s", i, p)
		}
		names[o.Name], optional = true, optional || !o.Required
	}
	return ""
}

func optionProblem(o CommandOption) string {
	if p := nameProblem(o.Name); p != "" {
		return p
	}
	switch {
	case o.Type < OptionSubCommand || o.Type > OptionNumber || o.Type == 9:
		return "type: Value is not a valid option type."
	case o.Description == "" || contentLen(o.Description) > MaxCommandDesc:
		return "description: Must be between 1 and 100 in length."
	case len(o.Choices) > MaxChoices:
		return "choices: Must be 25 or fewer in length."
	case o.Autocomplete && len(o.Choices) > 0:
		return "autocomplete: Autocomplete and choices are mutually exclusive"
	case o.Autocomplete && o.Type != OptionString && o.Type != OptionInteger && o.Type != OptionNumber:
		return "autocomplete: Autocomplete is only for string, integer and number options"
	case len(o.ChannelTypes) > 0 && o.Type != OptionChannel:
		return "channel_types: Only channel options have channel types"
	case o.MaxLength < 0 || o.MaxLength > 6000:
		return "max_length: Must be between 1 and 6000."
	}
	for j, c := range o.Choices {
		if c.Name == "" || contentLen(c.Name) > MaxChoiceName {
			return fmt.Sprintf("choices.%d.name: Must be between 1 and 100 in length.", j)
		}
	}
	if len(o.Options) > 0 {
		return optionsProblem(o.Options)
	}
	return ""
}

// commandChars counts the characters Discord counts against a command's
// size: names, descriptions and choice names and values.
func commandChars(name, desc string, opts []CommandOption) int {
	n := contentLen(name) + contentLen(desc)
	for _, o := range opts {
		n += commandChars(o.Name, o.Description, o.Options)
		for _, c := range o.Choices {
			n += contentLen(c.Name) + contentLen(fmt.Sprint(c.Value))
		}
	}
	return n
}

// commandLocked finds a registered command for a channel's guild: a guild
// command first, then a global one.
func (s *Server) commandLocked(guildID, name string) (Command, bool) {
	scopes := []string{""}
	if guildID != "" {
		scopes = []string{guildID, ""}
	}
	for _, scope := range scopes {
		for _, c := range s.commands[scope] {
			if c.Name == name {
				return c, true
			}
		}
	}
	return Command{}, false
}
