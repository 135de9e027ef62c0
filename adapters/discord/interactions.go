package discord

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
)

// handlerTimeout bounds the work that answers an interaction, within the
// lifetime of its token (15 min).
const handlerTimeout = 14 * time.Minute

// InteractionKind tells what the user did.
type InteractionKind int

// The interaction kinds.
const (
	// InteractionCommand is a slash command.
	InteractionCommand InteractionKind = iota + 1
	// InteractionComponent is a click on a button or a choice in a select menu.
	InteractionComponent
	// InteractionAutocomplete asks for choices while the user types an option.
	InteractionAutocomplete
	// InteractionModalSubmit is a submitted form.
	InteractionModalSubmit
)

// Interaction is an INTERACTION_CREATE as plain data.
type Interaction struct {
	Kind      InteractionKind
	ID        string
	GuildID   string
	ChannelID string
	User      bot.User
	// Roles are the user's role IDs in the guild.
	Roles []string
	// Command is the slash command's name, Subcommand its subcommand path
	// ("group sub") and Options its options as text.
	Command    string
	Subcommand string
	Options    map[string]string
	// Focused is the option being typed, for autocomplete.
	Focused string
	// CustomID identifies the component or the modal.
	CustomID string
	// Values are a select menu's chosen values.
	Values []string
	// Fields are a modal's text inputs by custom ID.
	Fields map[string]string
	// MessageID is the message the component is on.
	MessageID string
	Locale    string
}

// ButtonStyle is a button's look.
type ButtonStyle int

// The button styles.
const (
	ButtonPrimary ButtonStyle = iota + 1
	ButtonSecondary
	ButtonSuccess
	ButtonDanger
	ButtonLink
)

// Button is a message button; a link button has a URL instead of a custom ID.
type Button struct {
	CustomID, Label, URL string
	Style                ButtonStyle
	Disabled             bool
}

// TextInput is a field of a modal.
type TextInput struct {
	CustomID, Label, Value, Placeholder string
	// Paragraph makes a multi-line field.
	Paragraph, Required  bool
	MinLength, MaxLength int
}

// Modal is a form shown to the user.
type Modal struct {
	CustomID, Title string
	Inputs          []TextInput
}

// Choice is an autocomplete choice.
type Choice struct{ Name, Value string }

// Response is a text answer to an interaction.
type Response struct {
	// Content is the message; past 2,000 characters it continues in
	// follow-up messages.
	Content string
	// Ephemeral shows the answer to the user only.
	Ephemeral bool
}

// toInteraction translates an interaction into plain data.
func toInteraction(i *discordgo.Interaction) Interaction {
	in := Interaction{ID: i.ID, GuildID: i.GuildID, ChannelID: i.ChannelID, Locale: string(i.Locale)}
	switch {
	case i.Member != nil && i.Member.User != nil:
		in.User = bot.User{ID: i.Member.User.ID, Name: i.Member.User.DisplayName(), Bot: i.Member.User.Bot, Roles: i.Member.Roles}
		in.Roles = i.Member.Roles
	case i.User != nil:
		in.User = bot.User{ID: i.User.ID, Name: i.User.DisplayName(), Bot: i.User.Bot}
	}
	if i.Message != nil {
		in.MessageID = i.Message.ID
	}
	switch d := i.Data.(type) {
	case discordgo.ApplicationCommandInteractionData:
		in.Kind, in.Command, in.Options = InteractionCommand, d.Name, map[string]string{}
		if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
			in.Kind = InteractionAutocomplete
		}
		flattenOptions(&in, d.Options)
	case discordgo.MessageComponentInteractionData:
		in.Kind, in.CustomID, in.Values = InteractionComponent, d.CustomID, d.Values
	case discordgo.ModalSubmitInteractionData:
		in.Kind, in.CustomID, in.Fields = InteractionModalSubmit, d.CustomID, modalFields(d.Components)
	}
	return in
}

func flattenOptions(in *Interaction, opts []*discordgo.ApplicationCommandInteractionDataOption) {
	for _, o := range opts {
		switch o.Type {
		case discordgo.ApplicationCommandOptionSubCommand, discordgo.ApplicationCommandOptionSubCommandGroup:
			in.Subcommand = strings.TrimSpace(in.Subcommand + " " + o.Name)
			flattenOptions(in, o.Options)
			continue
		}
		switch v := o.Value.(type) {
		case string:
			in.Options[o.Name] = v
		case float64:
			in.Options[o.Name] = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			in.Options[o.Name] = fmt.Sprint(v)
		}
		if o.Focused {
			in.Focused = o.Name
		}
	}
}

func modalFields(rows []discordgo.MessageComponent) map[string]string {
	out := map[string]string{}
	for _, c := range rows {
		row, ok := c.(*discordgo.ActionsRow)
		if !ok {
			continue
		}
		for _, f := range row.Components {
			if ti, ok := f.(*discordgo.TextInput); ok {
				out[ti.CustomID] = ti.Value
			}
		}
	}
	return out
}

// onInteraction answers one of the adapter's commands or a button or form
// of a review card in the background, tracked so that Run waits for it. An
// interaction delivered again is dropped.
func (a *Adapter) onInteraction(ctx context.Context, i *discordgo.Interaction) {
	if i == nil || i.Type == discordgo.InteractionPing {
		return
	}
	if !a.seen.add(i.ID) {
		a.log.Info("interaction delivered again, dropped", "interaction", i.ID)
		return
	}
	in := toInteraction(i)
	h := a.host.Load()
	if h == nil || !served(*h, in) {
		a.log.Debug("interaction ignored", "interaction", i.ID, "kind", in.Kind)
		return
	}
	a.tasks.Go(func() { a.serve(ctx, *h, i, in) })
}

// deferType is the deferred response for an interaction: a deferred
// update for components (and forms opened from a message), else a
// deferred message, which is private until the answer decides.
func deferType(in Interaction) discordgo.InteractionResponseType {
	if in.Kind == InteractionComponent || (in.Kind == InteractionModalSubmit && in.MessageID != "") {
		return discordgo.InteractionResponseDeferredMessageUpdate
	}
	return discordgo.InteractionResponseDeferredChannelMessageWithSource
}

func (a *Adapter) respond(ctx context.Context, i *discordgo.Interaction, resp *discordgo.InteractionResponse) error {
	endpoint := discordgo.EndpointInteractionResponse(i.ID, i.Token)
	return a.call(ctx, http.MethodPost, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		if resp.Type == discordgo.InteractionApplicationCommandAutocompleteResult {
			_, err := a.session.RequestWithBucketID(http.MethodPost, endpoint, autocompleteBody(resp), endpoint, opts...)
			return err
		}
		return a.session.InteractionRespond(i, resp, opts...)
	})
}

// autocompleteResult is the body of an autocomplete answer. discordgo
// leaves out an empty choice list, which Discord requires.
type autocompleteResult struct {
	Type discordgo.InteractionResponseType `json:"type"`
	Data struct {
		Choices []*discordgo.ApplicationCommandOptionChoice `json:"choices"`
	} `json:"data"`
}

func autocompleteBody(resp *discordgo.InteractionResponse) autocompleteResult {
	body := autocompleteResult{Type: resp.Type}
	body.Data.Choices = []*discordgo.ApplicationCommandOptionChoice{}
	if resp.Data != nil && resp.Data.Choices != nil {
		body.Data.Choices = resp.Data.Choices
	}
	return body
}

// editOriginal replaces the original response with the answer's first
// part; the rest follows.
func (a *Adapter) editOriginal(ctx context.Context, i *discordgo.Interaction, r Response) error {
	parts := discordText.Split(r.Content)
	content, comps := first(parts), components(nil)
	endpoint := discordgo.EndpointInteractionResponseActions(i.AppID, i.Token)
	err := a.call(ctx, http.MethodPatch, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		_, err := a.session.InteractionResponseEdit(i, &discordgo.WebhookEdit{Content: &content, Components: &comps, AllowedMentions: noPings(false)}, opts...)
		return err
	})
	if err != nil {
		return err
	}
	return a.followups(ctx, i, Response{Content: strings.Join(rest(parts), ""), Ephemeral: r.Ephemeral})
}

func (a *Adapter) deleteOriginal(ctx context.Context, i *discordgo.Interaction) error {
	endpoint := discordgo.EndpointInteractionResponseActions(i.AppID, i.Token)
	return a.call(ctx, http.MethodDelete, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		return a.session.InteractionResponseDelete(i, opts...)
	})
}

// followups posts the answer as follow-up messages.
func (a *Adapter) followups(ctx context.Context, i *discordgo.Interaction, r Response) error {
	parts := discordText.Split(r.Content)
	endpoint := discordgo.EndpointFollowupMessage(i.AppID, i.Token)
	for _, p := range parts {
		params := &discordgo.WebhookParams{Content: p, AllowedMentions: noPings(false)}
		if r.Ephemeral {
			params.Flags = discordgo.MessageFlagsEphemeral
		}
		err := a.call(ctx, http.MethodPost, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
			_, err := a.session.FollowupMessageCreate(i, true, params, opts...)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func first(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return parts[0]
}

func rest(parts []string) []string {
	if len(parts) < 2 {
		return nil
	}
	return parts[1:]
}

func components(rows [][]Button) []discordgo.MessageComponent {
	out := []discordgo.MessageComponent{}
	for _, row := range rows {
		ar := discordgo.ActionsRow{}
		for _, b := range row {
			ar.Components = append(ar.Components, discordgo.Button{CustomID: b.CustomID, Label: b.Label, URL: b.URL,
				Style: discordgo.ButtonStyle(b.Style), Disabled: b.Disabled})
		}
		out = append(out, ar)
	}
	return out
}

func choices(in []Choice) []*discordgo.ApplicationCommandOptionChoice {
	out := []*discordgo.ApplicationCommandOptionChoice{}
	for _, c := range in[:min(len(in), 25)] {
		out = append(out, &discordgo.ApplicationCommandOptionChoice{Name: c.Name, Value: c.Value})
	}
	return out
}

func modalData(m *Modal) *discordgo.InteractionResponseData {
	rows := []discordgo.MessageComponent{}
	for _, f := range m.Inputs {
		style := discordgo.TextInputShort
		if f.Paragraph {
			style = discordgo.TextInputParagraph
		}
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.TextInput{
			CustomID: f.CustomID, Label: f.Label, Style: style, Placeholder: f.Placeholder, Value: f.Value,
			Required: f.Required, MinLength: f.MinLength, MaxLength: f.MaxLength}}})
	}
	return &discordgo.InteractionResponseData{CustomID: m.CustomID, Title: m.Title, Components: rows}
}
