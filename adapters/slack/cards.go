package slack

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/internal/chattext"
)

var _ bot.Cards = (*Adapter)(nil)

// The buttons of a review card. Each carries the draft ID as its value.
const (
	actionApprove    = "kimi_approve"
	actionEdit       = "kimi_edit"
	actionRegenerate = "kimi_regenerate"
	actionReject     = "kimi_reject"
	// reviewBlock is the block_id of the card's actions block.
	reviewBlock = "kimi_review"
)

// cardButton is how one action shows on a card.
type cardButton struct {
	actionID, label string
	style           slack.Style
}

var cardButtons = map[bot.ActionKind]cardButton{
	bot.ActionApprove:    {actionApprove, "Approve", slack.StylePrimary},
	bot.ActionEdit:       {actionEdit, "Edit", slack.StyleDefault},
	bot.ActionRegenerate: {actionRegenerate, "Regenerate", slack.StyleDefault},
	bot.ActionReject:     {actionReject, "Reject", slack.StyleDanger},
}

// buttonKinds maps a button's action_id back to its action.
var buttonKinds = map[string]bot.ActionKind{actionApprove: bot.ActionApprove, actionEdit: bot.ActionEdit,
	actionRegenerate: bot.ActionRegenerate, actionReject: bot.ActionReject}

// Card limits, in slackText.Len units: a section shows at most 3,000, and a
// card keeps well under Slack's 50 blocks.
const (
	sectionLimit  = 3_000
	questionLimit = 1_000
	maxToolBlocks = 10
)

// PostCard posts a review card in where: a channel, or a thread for a
// tool call outside support channels.
func (a *Adapter) PostCard(ctx context.Context, where bot.ThreadRef, c bot.Card) (bot.MsgRef, error) {
	opts := a.cardOptions(ctx, c)
	if where.Thread != "" {
		opts = append(opts, slack.MsgOptionTS(where.Thread))
	}
	var ts string
	err := a.call(ctx, a.pacing.channel(where.Channel).post, "chat.postMessage", func(ctx context.Context) error {
		var err error
		_, ts, err = a.api.PostMessageContext(ctx, where.Channel, opts...)
		return err
	})
	if err != nil {
		return bot.MsgRef{}, fmt.Errorf("post card of draft %s: %w", c.DraftID, err)
	}
	return bot.MsgRef{Platform: platformName, Channel: where.Channel, ID: ts}, nil
}

// UpdateCard redraws a posted card with chat.update.
func (a *Adapter) UpdateCard(ctx context.Context, ref bot.MsgRef, c bot.Card) error {
	opts := a.cardOptions(ctx, c)
	err := a.call(ctx, a.pacing.workspace(c.Thread.Workspace).update, "chat.update", func(ctx context.Context) error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, ref.Channel, ref.ID, opts...)
		return err
	})
	if err != nil {
		return fmt.Errorf("update card of draft %s: %w", c.DraftID, err)
	}
	return nil
}

// cardOptions renders c, looking up the customer's name and the link to
// their message; a failed lookup leaves them out.
func (a *Adapter) cardOptions(ctx context.Context, c bot.Card) []slack.MsgOption {
	if c.CustomerName == "" {
		c.CustomerName = a.userName(ctx, c.Customer)
	}
	link := ""
	if c.Source.ID != "" {
		var err error
		if link, err = a.Permalink(ctx, c.Source); err != nil {
			a.log.Debug("card without link to the customer's message", "draft", c.DraftID, "err", err)
		}
	}
	return []slack.MsgOption{slack.MsgOptionText(cardText(c), false), slack.MsgOptionBlocks(cardBlocks(c, link)...)}
}

// cardText is the notification text of a card.
func cardText(c bot.Card) string {
	who := c.CustomerName
	if who == "" {
		who = "<@" + c.Customer + ">"
	}
	what := "Draft reply to %s for review: “%s”"
	if c.Kind == conversation.DraftTool {
		what = "Tool call for %s waiting for approval: “%s”"
	}
	return fmt.Sprintf(what, escape(who), escape(slackText.Count.ClipLine(c.Question, 200)))
}

// cardBlocks lays out a card: what it is, who asked what, the draft, the
// tool calls, the model, the outcome and the buttons.
func cardBlocks(c bot.Card, link string) []slack.Block {
	title := "Draft reply for review"
	if c.Kind == conversation.DraftTool {
		title = "Tool call waiting for approval"
	}
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, title, false, false)),
		section(customerLine(c, link)),
		section("*Question*\n" + quote(slackText.Count.Clip(c.Question, questionLimit))),
	}
	if c.Kind != conversation.DraftTool {
		blocks = append(blocks, section(draftSection(c.Draft)))
	}
	blocks = append(blocks, toolBlocks(c.ToolCalls)...)
	if c.Model != "" {
		blocks = append(blocks, contextLine("Model: `"+escape(c.Model)+"`"))
	}
	if c.Outcome != "" {
		blocks = append(blocks, contextLine(outcomeIcon(c.State)+" "+escape(c.Outcome)))
	}
	if b := actionsBlock(c); b != nil {
		blocks = append(blocks, b)
	}
	return blocks
}

func section(mrkdwnText string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, mrkdwnText, false, false), nil, nil)
}

func contextLine(mrkdwnText string) slack.Block {
	return slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, mrkdwnText, false, false))
}

// customerLine names the customer and links to their message.
func customerLine(c bot.Card, link string) string {
	who := "<@" + c.Customer + ">"
	if c.CustomerName != "" {
		who = "*" + escape(c.CustomerName) + "* (" + who + ")"
	}
	line := "*Customer:* " + who
	if ch := c.Source.Channel; ch != "" {
		line += " in <#" + ch + ">"
	}
	if link != "" {
		line += " · <" + link + "|their message>"
	}
	return line
}

// draftSection shows the draft as mrkdwn within a section, clipped with a
// note when too long: the full draft is what gets posted.
func draftSection(draft string) string {
	const label = "*Draft*\n"
	text := mrkdwn(draft)
	if text == "" {
		text = noAnswer
	}
	if slackText.Len(label+text) <= sectionLimit {
		return label + text
	}
	note := fmt.Sprintf("\n…\n_Clipped here: the draft has %s characters; all of it is sent._", chattext.Thousands(slackText.Len(draft)))
	cut := slackText.Count.Within(text, sectionLimit-slackText.Len(label+note)-4)
	shown := text[:cut]
	if strings.Count(shown, "```")%2 == 1 {
		shown += "\n```"
	}
	return label + shown + note
}

// toolBlocks shows each tool call with its arguments and a short result.
func toolBlocks(calls []conversation.ToolRecord) []slack.Block {
	var out []slack.Block
	for i, tc := range calls {
		if i == maxToolBlocks-1 && len(calls) > maxToolBlocks {
			out = append(out, contextLine(fmt.Sprintf("…and %d more tool calls.", len(calls)-i)))
			break
		}
		line := ":wrench: `" + codeText(tc.Name, 100) + "` `" + codeText(tc.Arguments, chattext.ToolArgsLimit) + "`"
		switch {
		case tc.Result == "":
			line += " → _waiting for approval_"
		case tc.IsError:
			line += " → error `" + codeText(tc.Result, chattext.ToolResultLimit) + "`"
		default:
			line += " → `" + codeText(tc.Result, chattext.ToolResultLimit) + "`"
		}
		out = append(out, contextLine(line))
	}
	return out
}

// codeText prepares text for a code span: one line, no backticks, clipped.
func codeText(s string, limit int) string {
	s = strings.ReplaceAll(slackText.Count.ClipLine(s, limit), "`", "'")
	if s == "" {
		return " "
	}
	return escape(s)
}

// outcomeIcon marks the outcome line by state.
func outcomeIcon(s conversation.DraftState) string {
	switch s {
	case conversation.DraftSent, conversation.DraftSending:
		return ":white_check_mark:"
	case conversation.DraftRejected:
		return ":no_entry_sign:"
	}
	return ":arrows_counterclockwise:"
}

// actionsBlock holds the card's buttons; nil once decided.
func actionsBlock(c bot.Card) slack.Block {
	var buttons []slack.BlockElement
	for _, k := range c.Actions {
		b, ok := cardButtons[k]
		if !ok {
			continue
		}
		btn := slack.NewButtonBlockElement(b.actionID, c.DraftID,
			slack.NewTextBlockObject(slack.PlainTextType, b.label, false, false))
		buttons = append(buttons, btn.WithStyle(b.style))
	}
	if len(buttons) == 0 {
		return nil
	}
	return slack.NewActionBlock(reviewBlock, buttons...)
}

// quote shows text as a mrkdwn quote.
func quote(text string) string {
	lines := strings.Split(escape(text), "\n")
	for i, l := range lines {
		lines[i] = ">" + l
	}
	return strings.Join(lines, "\n")
}
