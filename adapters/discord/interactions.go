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

// Interaction timing. Discord voids an interaction not answered within
// 3 s and its token after 15 min.
const (
	// deferAfter is how long a handler may take before the adapter sends a
	// deferred response on its behalf.
	deferAfter = 1500 * time.Millisecond
	// handlerTimeout bounds a handler, within the token's lifetime.
	handlerTimeout = 14 * time.Minute
)

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

// Response answers an interaction.
type Response struct {
	// Content is the message; past 2,000 characters it continues in
	// follow-up messages.
	Content string
	// Ephemeral shows the answer to the user only.
	Ephemeral bool
	// Buttons are rows of buttons under the message.
	Buttons [][]Button
	// Update edits the component's message instead of answering with a new
	// one (components and modals opened from a message).
	Update bool
	// Choices answers an autocomplete.
	Choices []Choice
	// Modal opens a form. It must be the immediate answer: a handler that
	// needs the deferral cannot open one.
	Modal *Modal
}

// InteractionHandler answers an interaction. It runs in its own goroutine
// per interaction. If it has not returned within 1.5 s the adapter sends a
// deferred response (a loading state; for components, a deferred update),
// and the Response then becomes an edit of the original response or
// follow-up messages. A returned error is logged and the user gets a short
// private notice.
type InteractionHandler func(ctx context.Context, in Interaction) (Response, error)

// HandleInteractions sets the function that answers interactions.
func (a *Adapter) HandleInteractions(fn InteractionHandler) {
	a.interMu.Lock()
	defer a.interMu.Unlock()
	a.interaction = fn
}

func (a *Adapter) interactionHandler() InteractionHandler {
	a.interMu.RLock()
	defer a.interMu.RUnlock()
	return a.interaction
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

// handlerResult is what an InteractionHandler returned.
type handlerResult struct {
	r   Response
	err error
}

// onInteraction answers an interaction in the background: the desk's
// commands and card buttons through the desk, the rest through the
// interaction handler. An interaction delivered again is dropped.
func (a *Adapter) onInteraction(ctx context.Context, i *discordgo.Interaction) {
	if i == nil || i.Type == discordgo.InteractionPing {
		return
	}
	if !a.seen.add(i.ID) {
		a.log.Info("interaction delivered again, dropped", "interaction", i.ID)
		return
	}
	in := toInteraction(i)
	if d := a.deskOf(); d != nil && deskInteraction(in) {
		go a.serveDesk(ctx, d, i, in)
		return
	}
	if fn := a.interactionHandler(); fn != nil {
		go a.answer(ctx, i, in, fn)
	}
}

// answer runs the handler and answers within Discord's deadline.
func (a *Adapter) answer(ctx context.Context, i *discordgo.Interaction, in Interaction, fn InteractionHandler) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), handlerTimeout)
	defer cancel()
	done := make(chan handlerResult, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- handlerResult{err: fmt.Errorf("interaction handler panicked: %v", p)}
			}
		}()
		r, err := fn(ctx, in)
		done <- handlerResult{r, err}
	}()
	timer := time.NewTimer(a.deferAfter)
	defer timer.Stop()
	select {
	case res := <-done:
		a.finishInteraction(ctx, i, in, res, 0)
		return
	case <-timer.C:
	}
	if in.Kind == InteractionAutocomplete {
		// Choices cannot be deferred: send them late rather than never.
		a.finishInteraction(ctx, i, in, <-done, 0)
		return
	}
	deferred := deferType(in)
	ack := &discordgo.InteractionResponse{Type: deferred, Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}
	if err := a.respond(ctx, i, ack); err != nil {
		a.log.Error("defer interaction", "interaction", i.ID, "err", err)
		return
	}
	a.finishInteraction(ctx, i, in, <-done, deferred)
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

// finishInteraction sends the handler's answer: as the initial response
// when deferred is 0, else as an edit of the original or follow-ups.
func (a *Adapter) finishInteraction(ctx context.Context, i *discordgo.Interaction, in Interaction, res handlerResult, deferred discordgo.InteractionResponseType) {
	r := res.r
	if res.err != nil {
		a.log.Error("interaction handler", "interaction", i.ID, "kind", in.Kind, "err", res.err)
		r = Response{Content: "Something went wrong.", Ephemeral: true}
	}
	var err error
	switch {
	case deferred == 0:
		err = a.respondNow(ctx, i, in, r)
	case r.Modal != nil:
		a.log.Error("interaction handler opened a form too late", "interaction", i.ID)
		err = a.followups(ctx, i, Response{Content: "That took too long, please try again.", Ephemeral: true})
	case r.Update && deferred == discordgo.InteractionResponseDeferredMessageUpdate:
		err = a.editOriginal(ctx, i, r)
	case deferred == discordgo.InteractionResponseDeferredMessageUpdate:
		err = a.followups(ctx, i, r)
	case r.Ephemeral:
		err = a.editOriginal(ctx, i, r)
	default:
		// The deferred placeholder is private; a public answer replaces it.
		if err = a.deleteOriginal(ctx, i); err == nil {
			err = a.followups(ctx, i, r)
		}
	}
	if err != nil {
		a.log.Error("answer interaction", "interaction", i.ID, "err", err)
	}
}

// respondNow sends the answer as the initial response.
func (a *Adapter) respondNow(ctx context.Context, i *discordgo.Interaction, in Interaction, r Response) error {
	parts := discordText.Split(r.Content)
	data := &discordgo.InteractionResponseData{Content: first(parts), Components: components(r.Buttons), AllowedMentions: noPings(false)}
	if r.Ephemeral {
		data.Flags = discordgo.MessageFlagsEphemeral
	}
	resp := &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data}
	switch {
	case in.Kind == InteractionAutocomplete:
		resp.Data = &discordgo.InteractionResponseData{Choices: choices(r.Choices)}
		resp.Type = discordgo.InteractionApplicationCommandAutocompleteResult
	case r.Modal != nil:
		resp.Type, resp.Data = discordgo.InteractionResponseModal, modalData(r.Modal)
	case r.Update && in.MessageID != "":
		resp.Type = discordgo.InteractionResponseUpdateMessage
	}
	if err := a.respond(ctx, i, resp); err != nil {
		return err
	}
	if resp.Type == discordgo.InteractionResponseChannelMessageWithSource || resp.Type == discordgo.InteractionResponseUpdateMessage {
		return a.followups(ctx, i, Response{Content: strings.Join(rest(parts), ""), Ephemeral: r.Ephemeral})
	}
	return nil
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
	content, comps := first(parts), components(r.Buttons)
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
	if len(parts) == 0 && len(r.Buttons) > 0 {
		parts = []string{""}
	}
	endpoint := discordgo.EndpointFollowupMessage(i.AppID, i.Token)
	for n, p := range parts {
		params := &discordgo.WebhookParams{Content: p, AllowedMentions: noPings(false)}
		if n == len(parts)-1 {
			params.Components = components(r.Buttons)
		}
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
