package bot

import (
	"context"
	"strings"
)

// ArgKind is the kind of value a command argument takes.
type ArgKind int

// The kinds of command arguments.
const (
	// ArgText is free text, or one of the argument's Choices.
	ArgText ArgKind = iota
	// ArgModel is a model ID from the provider's live list (autocompleted).
	ArgModel
	// ArgChannel names a channel.
	ArgChannel
	// ArgFlag is a switch: when on, its name is the argument.
	ArgFlag
)

// Arg is one argument of a command.
type Arg struct {
	Name        string
	Description string
	Kind        ArgKind
	// Choices are the values an ArgText argument allows; empty for any.
	Choices []string
}

// CommandScope tells where a command may be used.
type CommandScope int

// The command scopes.
const (
	// Anywhere is channels, threads and direct messages.
	Anywhere CommandScope = iota
	// InChannels is workspace or server channels only, not direct messages.
	InChannels
)

// HelpLine is one line of the help list: a usage in Markdown and what it does.
type HelpLine struct {
	Usage, Text string
}

// CommandSpec describes one command: the table that Slack's /kimi parser,
// Discord's command registration and the engine read.
type CommandSpec struct {
	Name    string
	Aliases []string
	// Summary is the one-line description platforms show in command pickers.
	Summary string
	Args    []Arg
	Scope   CommandScope
	Help    []HelpLine
	// public reports whether the answer to args is shown to the channel.
	public func(args []string) bool
	run    func(e *Engine, ctx context.Context, c Command) CommandReply
}

// CommandTable lists every command in the order of the help list.
func CommandTable() []CommandSpec {
	return []CommandSpec{
		{Name: "model", Summary: "Show or choose the Kimi model", Args: []Arg{
			{Name: "id", Description: "A model from /models, or default to remove the choice", Kind: ArgModel},
			{Name: "scope", Description: "Whom the choice is for: me (default), this thread, or the channel (admins)",
				Choices: []string{"me", "thread", "channel"}},
		}, Help: []HelpLine{
			{"`model`", "the model in effect here and where the choice comes from"},
			{"`model <id>`", "use that model for your messages; add `thread` for this conversation only, or " +
				"`channel` to set the channel default (admins)"},
			{"`model default [thread|channel]`", "remove a choice"},
		}, public: func(args []string) bool {
			return len(args) > 1 && (args[1] == "thread" || args[1] == "channel")
		}, run: (*Engine).cmdModel},
		{Name: "models", Summary: "List the models the provider offers",
			Help: []HelpLine{{"`models`", "the models the provider offers, with context length, images and thinking"}},
			run:  (*Engine).cmdModels},
		{Name: "new", Aliases: []string{"reset"}, Summary: "Start a fresh conversation here",
			Help: []HelpLine{{"`new`", "start a fresh conversation here"}}, run: (*Engine).cmdNew},
		{Name: "thinking", Summary: "Turn the model's thinking on or off in this conversation", Args: []Arg{
			{Name: "mode", Description: "on, off, or default", Choices: []string{"on", "off", "default"}},
		}, Help: []HelpLine{{"`thinking on|off`", "let the model think before answering in this conversation, or not"}},
			public: func(args []string) bool { return len(args) > 0 }, run: (*Engine).cmdThinking},
		{Name: "websearch", Summary: "Let Kimi search the web in this channel (admins)", Scope: InChannels, Args: []Arg{
			{Name: "mode", Description: "on, off, or default", Choices: []string{"on", "off", "default"}},
		}, Help: []HelpLine{{"`websearch on|off`", "let Kimi search the web in this channel (admins; Moonshot)"}},
			public: func(args []string) bool { return len(args) > 0 }, run: (*Engine).cmdWebSearch},
		{Name: "usage", Summary: "Tokens and estimated cost for you, this channel and this conversation",
			Help: []HelpLine{{"`usage`", "tokens and estimated cost for you, this channel and this thread"}},
			run:  (*Engine).cmdUsage},
		{Name: "pending", Summary: "Drafts waiting for review", Scope: InChannels,
			Help: []HelpLine{{"`pending`", "drafts waiting for review"}},
			run: func(e *Engine, ctx context.Context, c Command) CommandReply {
				return e.desk.cmdPending(ctx, c)
			}},
		{Name: "support", Summary: "Route this channel's customer messages to reviewers (admins)", Scope: InChannels,
			Args: []Arg{
				{Name: "review", Description: "The channel where drafts wait for review", Kind: ArgChannel},
				{Name: "off", Description: "Stop routing: the bot answers here directly again", Kind: ArgFlag},
			}, Help: []HelpLine{{"`support <review channel>` / `support off`",
				"route this channel's customer messages to reviewers (admins)"}},
			public: func(args []string) bool { return len(args) > 0 },
			run: func(e *Engine, ctx context.Context, c Command) CommandReply {
				return e.desk.cmdSupport(ctx, c)
			}},
		{Name: "help", Summary: "What kimibot can do", Help: []HelpLine{{"`help`", "this list"}},
			run: func(*Engine, context.Context, Command) CommandReply { return CommandReply{Text: HelpText()} }},
	}
}

// LookupCommand returns the command called name (or one of its aliases).
func LookupCommand(name string) (CommandSpec, bool) {
	name = strings.ToLower(name)
	for _, c := range CommandTable() {
		if c.Name == name {
			return c, true
		}
		for _, a := range c.Aliases {
			if a == name {
				return c, true
			}
		}
	}
	return CommandSpec{}, false
}

// Public reports whether the engine answers the command with args for the
// whole channel (a change of a thread's or channel's settings).
func (s CommandSpec) Public(args []string) bool { return s.public != nil && s.public(args) }

// ArgsFrom turns named options (as Discord sends them) into the engine's
// positional arguments: the values in order up to the first empty one,
// then the name of every flag that is on.
func (s CommandSpec) ArgsFrom(opts map[string]string) []string {
	var args []string
	for _, a := range s.Args {
		v := strings.TrimSpace(opts[a.Name])
		if a.Kind == ArgFlag {
			continue
		}
		if v == "" {
			break
		}
		args = append(args, v)
	}
	for _, a := range s.Args {
		if a.Kind == ArgFlag && opts[a.Name] == "true" {
			args = append(args, a.Name)
		}
	}
	return args
}

// HelpText is the command list in Markdown, as the help command shows it.
func HelpText() string {
	var b strings.Builder
	b.WriteString("*kimibot commands*")
	for _, c := range CommandTable() {
		for _, h := range c.Help {
			b.WriteString("\n• " + h.Usage + " — " + h.Text)
		}
	}
	return b.String()
}
