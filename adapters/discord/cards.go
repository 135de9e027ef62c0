package discord

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/internal/chattext"
)

var _ bot.Cards = (*Adapter)(nil)

// Discord's limits on embeds and text inputs.
const (
	maxDescription = 4096
	maxFieldName   = 256
	maxFieldValue  = 1024
	maxEmbedTotal  = 6000
	maxFields      = 25
	maxTextInput   = 4000
)

// minDraft is how much of the embed's budget the draft keeps at least;
// tool calls are shown short (chattext.ToolArgsLimit, ToolResultLimit).
const minDraft = 1000

// Card colours, from Discord's palette.
const (
	colourPending  = 0x5865F2
	colourSending  = 0xFEE75C
	colourSent     = 0x57F287
	colourRejected = 0xED4245
	colourClosed   = 0x99AAB5
)

// PostCard posts a review card: an embed with the customer, a link to
// their message, the question, the draft, the tool calls and the model,
// and a row of buttons. In a conversation's thread that does not exist
// yet, the thread is started from the conversation's first message.
func (a *Adapter) PostCard(ctx context.Context, where bot.ThreadRef, c bot.Card) (bot.MsgRef, error) {
	dest := a.place(ctx, where, inThread)
	body := messageCreate{Nonce: randomNonce(), EnforceNonce: true, AllowedMentions: noPings(false),
		Embeds: []*discordgo.MessageEmbed{cardEmbed(c)}, Components: cardButtons(c)}
	m, err := a.create(ctx, dest, body)
	if err != nil {
		return bot.MsgRef{}, fmt.Errorf("post card in %s: %w", dest.channel, err)
	}
	return bot.MsgRef{Platform: a.Name(), Channel: dest.channel, ID: m.ID}, nil
}

// UpdateCard redraws a card; a decided card has no buttons.
func (a *Adapter) UpdateCard(ctx context.Context, ref bot.MsgRef, c bot.Card) error {
	embeds, comps := []*discordgo.MessageEmbed{cardEmbed(c)}, cardButtons(c)
	edit := &discordgo.MessageEdit{ID: ref.ID, Channel: ref.Channel, Embeds: &embeds, Components: &comps,
		AllowedMentions: noPings(false)}
	endpoint := discordgo.EndpointChannelMessage(ref.Channel, ref.ID)
	err := a.call(ctx, http.MethodPatch, endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		_, err := a.session.ChannelMessageEditComplex(edit, opts...)
		return err
	})
	if err != nil {
		return fmt.Errorf("update card %s: %w", ref.ID, err)
	}
	return nil
}

// cardButtons is one row with a button per action the card offers.
func cardButtons(c bot.Card) []discordgo.MessageComponent {
	var row []Button
	for _, k := range c.Actions {
		b := Button{CustomID: cardCustomID(k, c.DraftID)}
		switch k {
		case bot.ActionApprove:
			b.Label, b.Style = "Approve", ButtonSuccess
		case bot.ActionEdit:
			b.Label, b.Style = "Edit", ButtonPrimary
		case bot.ActionRegenerate:
			b.Label, b.Style = "Regenerate", ButtonSecondary
		case bot.ActionReject:
			b.Label, b.Style = "Reject", ButtonDanger
		default:
			continue
		}
		row = append(row, b)
	}
	if len(row) == 0 {
		return components(nil)
	}
	return components([][]Button{row})
}

// cardEmbed renders a card within Discord's embed limits: long texts are
// clipped, and tool calls that do not fit are counted instead of shown.
func cardEmbed(c bot.Card) *discordgo.MessageEmbed {
	link := messageLink(c)
	e := &discordgo.MessageEmbed{Title: "Draft reply", URL: link, Color: cardColour(c.State),
		Footer: &discordgo.MessageEmbedFooter{Text: "Draft " + c.DraftID}}
	if c.Kind == conversation.DraftTool {
		e.Title = "Tool call waiting"
	}
	head := []*discordgo.MessageEmbedField{field("Customer", customerText(c), true)}
	if link != "" {
		head = append(head, field("Message", "[Open the message]("+link+")", true))
	}
	if c.Model != "" {
		head = append(head, field("Model", "`"+c.Model+"`", true))
	}
	if strings.TrimSpace(c.Question) != "" {
		head = append(head, field("Question", c.Question, false))
	}
	var tail []*discordgo.MessageEmbedField
	if c.Outcome != "" {
		tail = append(tail, field("Outcome", c.Outcome, false))
	}
	used := discordText.Len(e.Title) + discordText.Len(e.Footer.Text) + fieldsLen(head) + fieldsLen(tail)
	tools := toolFields(c.ToolCalls, maxEmbedTotal-minDraft-used, maxFields-len(head)-len(tail))
	used += fieldsLen(tools)
	e.Fields = append(append(head, tools...), tail...)
	e.Description = discordText.Count.Clip(c.Draft, min(maxDescription, maxEmbedTotal-used))
	return e
}

// toolFields shows tool calls within budget characters and n fields. While
// calls remain after the current one, room is kept for a last field that
// counts the calls left out.
func toolFields(calls []conversation.ToolRecord, budget, n int) []*discordgo.MessageEmbedField {
	var out []*discordgo.MessageEmbedField
	for i, r := range calls {
		f, more := field("Tool: "+r.Name, toolText(r), false), moreTools(len(calls)-i)
		room, slots := budget, n
		if i < len(calls)-1 {
			room, slots = room-fieldLen(more), slots-1
		}
		if fieldLen(f) > room || len(out) >= slots {
			if fieldLen(more) <= budget && len(out) < n {
				out = append(out, more)
			}
			return out
		}
		budget -= fieldLen(f)
		out = append(out, f)
	}
	return out
}

func moreTools(n int) *discordgo.MessageEmbedField {
	return field("More tool calls", fmt.Sprintf("%d more not shown", n), false)
}

// toolText is a tool call's arguments and a short result.
func toolText(r conversation.ToolRecord) string {
	args := strings.ReplaceAll(discordText.Count.Clip(r.Arguments, chattext.ToolArgsLimit), "```", "'''")
	result := "not run yet"
	if r.Result != "" {
		result = discordText.Count.ClipLine(r.Result, chattext.ToolResultLimit)
	}
	return "```json\n" + args + "\n```→ " + result
}

func field(name, value string, inline bool) *discordgo.MessageEmbedField {
	return &discordgo.MessageEmbedField{Name: discordText.Count.Clip(name, maxFieldName), Value: discordText.Count.Clip(value, maxFieldValue), Inline: inline}
}

func fieldLen(f *discordgo.MessageEmbedField) int {
	return discordText.Len(f.Name) + discordText.Len(f.Value)
}

func fieldsLen(fs []*discordgo.MessageEmbedField) int {
	n := 0
	for _, f := range fs {
		n += fieldLen(f)
	}
	return n
}

func customerText(c bot.Card) string {
	switch {
	case c.Customer != "" && c.CustomerName != "":
		return fmt.Sprintf("<@%s> (%s)", c.Customer, c.CustomerName)
	case c.Customer != "":
		return "<@" + c.Customer + ">"
	case c.CustomerName != "":
		return c.CustomerName
	}
	return "unknown"
}

func cardColour(s conversation.DraftState) int {
	switch s {
	case conversation.DraftPending:
		return colourPending
	case conversation.DraftSending:
		return colourSending
	case conversation.DraftSent:
		return colourSent
	case conversation.DraftRejected:
		return colourRejected
	}
	return colourClosed
}

// messageLink links to the customer's message. A message in a thread
// lives in the thread's channel; a message that starts a thread (the
// thread has its ID) lives in the parent channel.
func messageLink(c bot.Card) string {
	if c.Source.ID == "" {
		return ""
	}
	channel := c.Source.Channel
	if c.Thread.Thread != "" && c.Thread.Thread != c.Source.ID {
		channel = c.Thread.Thread
	}
	return permalink(c.Thread.Workspace, channel, c.Source.ID)
}

// permalink is the discord.com link of a message; guild "" is a DM.
func permalink(guild, channel, id string) string {
	if guild == "" {
		guild = "@me"
	}
	return "https://discord.com/channels/" + guild + "/" + channel + "/" + id
}
