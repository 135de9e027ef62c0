package slack

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"github.com/slack-go/slack"

	"kimibot/bot"
)

// Answers the adapter gives to /kimi itself, for what Slack cannot tell
// the engine: slash commands come without the thread they were typed in.
const (
	newInChannelText = "Slack does not tell me which thread a command comes from. In channels every mention of me " +
		"starts a new thread with a fresh conversation; to start an existing thread over, add a link to one of " +
		"its messages: `/kimi new <link>`. To make me leave a thread, react with :hand: to one of its messages."
	threadNeedsLinkText = "Slack does not tell me which thread a command comes from. Add a link to a message of " +
		"the thread: `/kimi model <id> thread <link>` (use *Copy link* on the message)."
	otherChannelText      = "That link points to another channel. Use the command in that channel."
	thinkingNeedsLinkText = "Thinking is set per conversation, and Slack does not tell me which thread a command " +
		"comes from. Add a link to a message of the thread: `/kimi thinking on <link>` (use *Copy link* on the message)."
	supportTargetText = "Name the review channel with `#`, picking it from the list as you type, so that Slack " +
		"sends its ID: `/kimi support #review`. `/kimi support off` stops routing."
	slackHelpText = "*In Slack*\n" +
		"• Mention me in a channel and I answer in a thread; keep talking there without mentioning me.\n" +
		"• DM me for a private conversation. React with :hand: to a message of a thread to make me leave it.\n" +
		"• Slack does not say which thread a command comes from: add a link to a message of the thread " +
		"(*Copy link*) to `new`, `usage` or `model <id> thread`."
)

// commandTask returns the work that answers a slash command, to run once
// Slack has its acknowledgement.
func (a *Adapter) commandTask(cmd slack.SlashCommand) (func(ctx context.Context), error) {
	ref := a.host.Load()
	if ref == nil {
		return nil, errNoHandler
	}
	if ref.Commands == nil {
		return nil, errNoCommands
	}
	return func(ctx context.Context) { a.answerCommand(ctx, ref.Commands, cmd) }, nil
}

// answerCommand runs a command and delivers its answer.
func (a *Adapter) answerCommand(ctx context.Context, cmds bot.Commands, cmd slack.SlashCommand) {
	c, local := parseCommand(cmd)
	reply := bot.CommandReply{Text: local}
	if local == "" {
		if name := a.userName(ctx, cmd.UserID); name != "" {
			c.User.Name = name
		}
		reply = cmds.Command(ctx, c)
		if spec, known := bot.LookupCommand(c.Name); !known || spec.Name == "help" {
			reply.Text += "\n\n" + slackHelpText
		}
	}
	a.respond(ctx, cmd, reply)
}

// parseCommand turns "/kimi <subcommand> [args]" into an engine command.
// A link to a message anywhere in the arguments names the thread the
// command is about. It returns a text instead when the adapter answers
// the command itself.
func parseCommand(cmd slack.SlashCommand) (bot.Command, string) {
	fields := strings.Fields(cmd.Text)
	where := bot.ThreadRef{Platform: platformName, Workspace: cmd.TeamID, Channel: cmd.ChannelID,
		DM: isDM(cmd.ChannelID, "")}
	c := bot.Command{User: bot.User{ID: cmd.UserID, Name: cmd.UserName}}
	if len(fields) > 0 {
		c.Name, fields = strings.ToLower(fields[0]), fields[1:]
	}
	for _, f := range fields {
		channel, thread, ok := parseMessageLink(f)
		switch {
		case !ok:
			c.Args = append(c.Args, f)
		case channel != cmd.ChannelID:
			return c, otherChannelText
		default:
			where.Thread = thread
		}
	}
	c.Thread = where
	spec, _ := bot.LookupCommand(c.Name)
	switch spec.Name {
	case "new":
		if !where.DM && where.Thread == "" {
			return c, newInChannelText
		}
	case "model":
		if len(c.Args) > 1 && isThreadScope(c.Args[1]) && !where.DM && where.Thread == "" {
			return c, threadNeedsLinkText
		}
	case "thinking":
		if len(c.Args) > 0 && !where.DM && where.Thread == "" {
			return c, thinkingNeedsLinkText
		}
	}
	return c, channelArgs(spec, c.Args)
}

// channelArgs reads the channel arguments of spec in args in place, as
// IDs, or returns the text that explains how to name a channel.
func channelArgs(spec bot.CommandSpec, args []string) string {
	for i, arg := range spec.Args {
		if arg.Kind != bot.ArgChannel || i >= len(args) {
			continue
		}
		id, ok := channelArg(args[i])
		if !ok {
			return supportTargetText
		}
		args[i] = id
	}
	return ""
}

func isThreadScope(s string) bool {
	switch strings.ToLower(s) {
	case "thread", "here", "conversation":
		return true
	}
	return false
}

var (
	reChannelMention = regexp.MustCompile(`^<#([CG][A-Z0-9]+)(\|[^>]*)?>$`)
	reChannelID      = regexp.MustCompile(`^[CG][A-Z0-9]{2,}$`)
	rePermalinkPath  = regexp.MustCompile(`^/archives/([CDG][A-Z0-9]+)/p(\d{7,})$`)
)

// channelArg reads a channel argument: a channel mention as Slack sends it
// ("<#C123|review>"), a bare channel ID, or "off".
func channelArg(s string) (string, bool) {
	if strings.EqualFold(s, "off") {
		return "off", true
	}
	if m := reChannelMention.FindStringSubmatch(s); m != nil {
		return m[1], true
	}
	return s, reChannelID.MatchString(s)
}

// parseMessageLink reads a Slack message link ("Copy link"), with or
// without the angle brackets Slack adds, and returns its channel and the
// thread the message belongs to: its own ts, or the thread_ts of a reply.
func parseMessageLink(s string) (channel, thread string, ok bool) {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">")
	s, _, _ = strings.Cut(s, "|")
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || !strings.HasSuffix(u.Hostname(), "slack.com") {
		return "", "", false
	}
	m := rePermalinkPath.FindStringSubmatch(u.Path)
	if m == nil {
		return "", "", false
	}
	digits := m[2]
	thread = digits[:len(digits)-6] + "." + digits[len(digits)-6:]
	if t := u.Query().Get("thread_ts"); t != "" {
		thread = t
	}
	return m[1], thread, true
}

// respond delivers a command's answer through its response_url: only to
// the user, or to the channel when public. If that fails the user gets it
// as an ephemeral message.
func (a *Adapter) respond(ctx context.Context, cmd slack.SlashCommand, reply bot.CommandReply) {
	md := slackText.Count.Clip(reply.Text, slackText.Limit)
	if a.responseURLAllowed(cmd.ResponseURL) {
		typ := slack.ResponseTypeEphemeral
		if reply.Public {
			typ = slack.ResponseTypeInChannel
		}
		msg := &slack.WebhookMessage{ResponseType: typ, Text: fallbackText(md),
			Blocks: &slack.Blocks{BlockSet: contentBlocks(md, "")}}
		err := slack.PostWebhookCustomHTTPContext(ctx, cmd.ResponseURL, a.hooks, msg)
		if err == nil {
			return
		}
		a.log.Warn("answer command through response_url", "command", cmd.Command, "err", err)
	}
	a.notify(ctx, cmd.ChannelID, cmd.UserID, md)
}

// responseURLAllowed reports whether a response_url points at Slack (or
// at the configured API host, such as a fake Slack).
func (a *Adapter) responseURLAllowed(raw string) bool {
	u, err := url.Parse(raw)
	if raw == "" || err != nil {
		return false
	}
	host := u.Hostname()
	if u.Scheme == "https" && (host == "slack.com" || strings.HasSuffix(host, ".slack.com")) {
		return true
	}
	api, err := url.Parse(a.cfg.APIURL)
	return a.cfg.APIURL != "" && err == nil && u.Host == api.Host
}
