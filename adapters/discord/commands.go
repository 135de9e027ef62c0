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

// appCommands are the slash commands the adapter registers. They are
// global: one registration serves every server and DMs with the bot.
func appCommands() []*discordgo.ApplicationCommand {
	anywhere := &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild, discordgo.InteractionContextBotDM}
	inServers := &[]discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	cmd := func(name, desc string, where *[]discordgo.InteractionContextType, opts ...*discordgo.ApplicationCommandOption) *discordgo.ApplicationCommand {
		return &discordgo.ApplicationCommand{Type: discordgo.ChatApplicationCommand, Name: name, Description: desc,
			Contexts: where, Options: opts}
	}
	scopes := []*discordgo.ApplicationCommandOptionChoice{{Name: "me", Value: "me"}, {Name: "thread", Value: "thread"},
		{Name: "channel", Value: "channel"}}
	return []*discordgo.ApplicationCommand{
		cmd("model", "Show or choose the Kimi model", anywhere,
			&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "id",
				Description: "A model from /models, or default to remove the choice", Autocomplete: true, MaxLength: 100},
			&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "scope",
				Description: "Whom the choice is for: me (default), this thread, or the channel (admins)", Choices: scopes}),
		cmd("models", "List the models the provider offers", anywhere),
		cmd("new", "Start a fresh conversation here", anywhere),
		cmd("usage", "Tokens and estimated cost for you, this channel and this conversation", anywhere),
		cmd("pending", "Drafts waiting for review", inServers),
		cmd("support", "Route this channel's customer messages to reviewers (admins)", inServers,
			&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionChannel, Name: "review",
				Description:  "The channel where drafts wait for review",
				ChannelTypes: []discordgo.ChannelType{discordgo.ChannelTypeGuildText}},
			&discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: "off",
				Description: "Stop routing: the bot answers here directly again"}),
		cmd("help", "What kimibot can do", anywhere),
	}
}

// isDeskCommand reports whether name is one of the adapter's commands.
func isDeskCommand(name string) bool {
	for _, c := range appCommands() {
		if c.Name == name {
			return true
		}
	}
	return false
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
func (a *Adapter) runCommand(ctx context.Context, d Desk, i *discordgo.Interaction, in Interaction) {
	c := bot.Command{User: in.User, Name: in.Command, Args: commandArgs(in)}
	public := likelyPublic(c)
	data := &discordgo.InteractionResponseData{}
	if !public {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	if !a.ack(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredChannelMessageWithSource, Data: data}) {
		return
	}
	c.Thread = a.commandThread(ctx, in)
	reply := d.Command(ctx, c)
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

// commandArgs turns a command's options into the engine's arguments.
func commandArgs(in Interaction) []string {
	switch in.Command {
	case "model":
		id := strings.TrimSpace(in.Options["id"])
		if id == "" {
			return nil
		}
		if scope := in.Options["scope"]; scope != "" {
			return []string{id, scope}
		}
		return []string{id}
	case "support":
		if in.Options["off"] == "true" {
			return []string{"off"}
		}
		if review := channelID(in.Options["review"]); review != "" {
			return []string{review}
		}
	}
	return nil
}

// channelID normalises a channel given as a mention ("<#123>") to its ID.
func channelID(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<#") && strings.HasSuffix(s, ">") {
		return s[2 : len(s)-1]
	}
	return s
}

// likelyPublic predicts whether the engine answers c for everyone: a
// change of a thread's or channel's settings.
func likelyPublic(c bot.Command) bool {
	switch c.Name {
	case "model":
		return len(c.Args) > 1 && (c.Args[1] == "thread" || c.Args[1] == "channel")
	case "support":
		return len(c.Args) > 0
	}
	return false
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
func (a *Adapter) autocomplete(ctx context.Context, d Desk, i *discordgo.Interaction, in Interaction) {
	var cs []Choice
	if in.Command == "model" && in.Focused == "id" {
		for _, id := range a.modelChoices(ctx, d, in.Options["id"]) {
			if id != "" && len(id) <= 100 {
				cs = append(cs, Choice{Name: id, Value: id})
			}
		}
	}
	a.ack(ctx, i, &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices(cs)}})
}

// modelChoices asks the desk for choices, giving up after choicesWithin:
// an empty list in time beats a full one too late.
func (a *Adapter) modelChoices(ctx context.Context, d Desk, typed string) []string {
	ctx, cancel := context.WithTimeout(ctx, a.choicesWithin)
	defer cancel()
	got := make(chan []string, 1)
	go func() { got <- d.ModelChoices(ctx, typed, maxChoices) }()
	select {
	case ids := <-got:
		return ids
	case <-ctx.Done():
		a.log.Warn("model choices too slow, answering none", "typed", typed)
		return nil
	}
}
