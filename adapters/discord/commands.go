package discord

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
)

// The states of the command registration.
const (
	commandsNone int32 = iota
	commandsRegistering
	commandsDone
)

// Autocomplete limits: Discord shows at most 25 choices and voids an
// autocomplete not answered within 3 s, so choices that take longer than
// choicesWithin are answered with an empty list.
const (
	maxChoices    = 25
	choicesWithin = 2 * time.Second
)

// appCommands are the slash commands the adapter registers, one per
// entry of the engine's command table. They are global: one registration
// serves every server and DMs with the bot.
func appCommands() []*discordgo.ApplicationCommand {
	var out []*discordgo.ApplicationCommand
	for _, spec := range bot.CommandTable() {
		where := &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM}
		if spec.Scope == bot.InChannels {
			where = &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild}
		}
		c := &discordgo.ApplicationCommand{Type: discordgo.ChatApplicationCommand, Name: spec.Name,
			Description: spec.Summary, Contexts: where}
		for _, arg := range spec.Args {
			c.Options = append(c.Options, commandOption(arg))
		}
		out = append(out, c)
	}
	return out
}

// commandOption is the application command option of an argument.
func commandOption(arg bot.Arg) *discordgo.ApplicationCommandOption {
	o := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: arg.Name,
		Description: arg.Description}
	switch arg.Kind {
	case bot.ArgModel:
		o.Autocomplete, o.MaxLength = true, 100
	case bot.ArgChannel:
		o.Type, o.ChannelTypes = discordgo.ApplicationCommandOptionChannel, []discordgo.ChannelType{discordgo.ChannelTypeGuildText}
	case bot.ArgFlag:
		o.Type = discordgo.ApplicationCommandOptionBoolean
	}
	for _, c := range arg.Choices {
		o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: c, Value: c})
	}
	return o
}

// registerCommands overwrites the application's global commands with
// appCommands. Overwriting is idempotent, so every start may do it; it
// runs once per adapter unless it fails.
func (a *Adapter) registerCommands(ctx context.Context, appID string) {
	if !a.commands.CompareAndSwap(commandsNone, commandsRegistering) {
		return
	}
	endpoint := discordgo.EndpointApplicationGlobalCommands(appID)
	err := a.call(ctx, http.MethodPut, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		_, err := a.session.ApplicationCommandBulkOverwrite(appID, "", appCommands(), opts...)
		return err
	})
	if err != nil {
		a.commands.Store(commandsNone)
		a.log.Error("register slash commands", "err", err)
		return
	}
	a.commands.Store(commandsDone)
	a.log.Info("slash commands registered", "commands", len(appCommands()))
}

// runCommand acknowledges a slash command at once with a deferred
// response, runs it, and replaces the placeholder with the answer. The
// placeholder is public when the answer is expected to be; when the
// answer turns out otherwise, the placeholder is deleted and the answer
// follows with the right visibility.
func (a *Adapter) runCommand(ctx context.Context, cmds bot.Commands, i *discordgo.Interaction, in Interaction) {
	spec, _ := bot.LookupCommand(in.Command)
	c := bot.Command{User: in.User, Name: in.Command, Args: commandArgs(spec, in)}
	public := spec.Public(c.Args)
	data := &discordgo.InteractionResponseData{}
	if !public {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	if !a.ack(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource, Data: data}) {
		return
	}
	c.Thread = a.commandThread(ctx, in)
	reply := cmds.Command(ctx, c)
	if err := a.sendCommandReply(ctx, i, public, reply); err != nil {
		a.log.Error("answer slash command", "interaction", i.ID, "command", c.Name, "err", err)
	}
}

func (a *Adapter) sendCommandReply(ctx context.Context, i *discordgo.Interaction, deferredPublic bool, r bot.CommandReply) error {
	text := r.Text
	if strings.TrimSpace(text) == "" {
		text = "Done."
	}
	resp := Response{Content: text, Ephemeral: !r.Public}
	if r.Public == deferredPublic {
		return a.editOriginal(ctx, i, resp)
	}
	if err := a.deleteOriginal(ctx, i); err != nil {
		return err
	}
	return a.followups(ctx, i, resp)
}

// commandArgs turns a command's options into the engine's arguments,
// channel options given as mentions ("<#123>") as their IDs.
func commandArgs(spec bot.CommandSpec, in Interaction) []string {
	opts := make(map[string]string, len(in.Options))
	for k, v := range in.Options {
		opts[k] = v
	}
	for _, arg := range spec.Args {
		if arg.Kind == bot.ArgChannel {
			opts[arg.Name] = channelID(opts[arg.Name])
		}
	}
	return spec.ArgsFrom(opts)
}

// channelID normalises a channel given as a mention ("<#123>") to its ID.
func channelID(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<#") && strings.HasSuffix(s, ">") {
		return s[2 : len(s)-1]
	}
	return s
}

// commandThread is where a command was issued, as inbound messages
// name it: a thread is its parent channel plus the thread's ID.
func (a *Adapter) commandThread(ctx context.Context, in Interaction) bot.ThreadRef {
	if in.GuildID == "" {
		return bot.ThreadRef{Platform: "discord", Channel: in.ChannelID, DM: true}
	}
	t := bot.ThreadRef{Platform: "discord", Workspace: in.GuildID, Channel: in.ChannelID}
	if info := a.channelInfo(ctx, in.ChannelID); info.thread && info.parent != "" {
		t.Channel, t.Thread = info.parent, in.ChannelID
	}
	return t
}

// autocomplete answers with the live model IDs matching what was typed.
func (a *Adapter) autocomplete(ctx context.Context, cmds bot.Commands, i *discordgo.Interaction, in Interaction) {
	var cs []Choice
	if focusedModel(in) {
		for _, id := range a.modelChoices(ctx, cmds, in.Options[in.Focused]) {
			if id != "" && len(id) <= 100 {
				cs = append(cs, Choice{Name: id, Value: id})
			}
		}
	}
	a.ack(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices(cs)}})
}

// focusedModel reports whether the option being typed is a model ID.
func focusedModel(in Interaction) bool {
	spec, _ := bot.LookupCommand(in.Command)
	for _, arg := range spec.Args {
		if arg.Name == in.Focused {
			return arg.Kind == bot.ArgModel
		}
	}
	return false
}

// modelChoices asks for choices, giving up after choicesWithin: an empty
// list in time beats a full one too late.
func (a *Adapter) modelChoices(ctx context.Context, cmds bot.Commands, typed string) []string {
	ctx, cancel := context.WithTimeout(ctx, a.choicesWithin)
	defer cancel()
	got := make(chan []string, 1)
	a.tasks.Go(func() { got <- cmds.ModelChoices(ctx, typed, maxChoices) })
	select {
	case ids := <-got:
		return ids
	case <-ctx.Done():
		a.log.Warn("model choices too slow, answering none", "typed", typed)
		return nil
	}
}
