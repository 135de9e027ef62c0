package slack

import (
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"kimibot/bot"
)

// platformName is the adapter's name in thread references.
const platformName = "slack"

// identity is who the bot is, from auth.test.
type identity struct {
	UserID, BotID, TeamID string
}

// leaveReactions are the reactions that make the bot leave a thread.
var leaveReactions = map[string]bool{"hand": true, "raised_hand": true, "octagonal_sign": true}

// ignoredSubtypes are message subtypes that are not a person writing to
// the bot: edits, deletions, bot posts and channel housekeeping. Other
// subtypes, such as thread_broadcast and file_share, are handled.
var ignoredSubtypes = map[string]bool{
	"message_changed": true, "message_deleted": true, "message_replied": true,
	"bot_message": true, "bot_add": true, "bot_remove": true,
	"channel_join": true, "channel_leave": true, "channel_topic": true, "channel_purpose": true,
	"channel_name": true, "channel_archive": true, "channel_unarchive": true,
	"channel_convert_to_private": true, "channel_convert_to_public": true, "channel_posting_permissions": true,
	"group_join": true, "group_leave": true, "group_topic": true, "group_purpose": true,
	"group_name": true, "group_archive": true, "group_unarchive": true,
	"pinned_item": true, "unpinned_item": true, "reminder_add": true,
	"ekm_access_denied": true, "assistant_app_thread": true, "huddle_thread": true, "tombstone": true,
}

// translateCallback turns an Events API callback into a bot event. It
// reports false for events the bot does not act on.
func translateCallback(self identity, cb *slackevents.EventsAPICallbackEvent, inner slackevents.EventsAPIInnerEvent) (bot.Event, bool) {
	team := cb.TeamID
	switch ev := inner.Data.(type) {
	case *slackevents.AppMentionEvent:
		return translateMention(self, team, cb.EventID, ev)
	case *slackevents.MessageEvent:
		return translateMessage(self, team, cb.EventID, ev)
	case *slackevents.ReactionAddedEvent:
		return translateReaction(self, team, cb.EventID, ev)
	}
	return bot.Event{}, false
}

// translateMention handles app_mention: a mention in a channel starts or
// continues the thread of the message.
func translateMention(self identity, team, eventID string, ev *slackevents.AppMentionEvent) (bot.Event, bool) {
	if fromBot(self, ev.User, ev.BotID) || ev.Edited != nil {
		return bot.Event{}, false
	}
	dm := isDM(ev.Channel, "")
	thread := ev.ThreadTimeStamp
	if thread == "" && !dm {
		thread = ev.TimeStamp
	}
	return userEvent(self, team, eventID, msgFields{
		channel: ev.Channel, thread: thread, dm: dm, user: ev.User,
		text: ev.Text, ts: ev.TimeStamp, files: ev.Files,
	}), true
}

// translateMessage handles message events: every DM, and every person's
// message in a channel, which starts or continues the thread of the
// message. Only mentions and DMs are addressed to the bot; the engine
// answers the others in threads it follows, and drafts replies to them in
// support channels. A mention also comes as app_mention.
func translateMessage(self identity, team, eventID string, ev *slackevents.MessageEvent) (bot.Event, bool) {
	msg := ev.Message
	if msg == nil || ignoredSubtypes[ev.SubType] || msg.Hidden || msg.Edited != nil {
		return bot.Event{}, false
	}
	if fromBot(self, ev.User, ev.BotID) || fromBot(self, msg.User, msg.BotID) {
		return bot.Event{}, false
	}
	f := msgFields{channel: ev.Channel, thread: ev.ThreadTimeStamp, dm: isDM(ev.Channel, ev.ChannelType),
		user: ev.User, text: ev.Text, ts: ev.TimeStamp, files: msg.Files}
	mentioned := strings.Contains(ev.Text, "<@"+self.UserID+">") || strings.Contains(ev.Text, "<@"+self.UserID+"|")
	if !f.dm && f.thread == "" {
		f.thread = f.ts
	}
	out := userEvent(self, team, eventID, f)
	out.Addressed = f.dm || mentioned
	return out, true
}

// translateReaction turns a stop reaction on a message into leaving that
// message's thread. The engine finds the thread from the message it indexed.
func translateReaction(self identity, team, eventID string, ev *slackevents.ReactionAddedEvent) (bot.Event, bool) {
	if !leaveReactions[ev.Reaction] || ev.Item.Type != "message" || ev.User == "" || ev.User == self.UserID {
		return bot.Event{}, false
	}
	ch, ts := ev.Item.Channel, ev.Item.Timestamp
	return bot.Event{
		Kind: bot.EventLeave,
		DedupeKeys: []string{eventKey(eventID),
			"slack:reaction:" + ch + ":" + ts + ":" + ev.User + ":" + ev.Reaction},
		Thread:    bot.ThreadRef{Platform: platformName, Workspace: team, Channel: ch, Thread: ts, DM: isDM(ch, "")},
		User:      bot.User{ID: ev.User},
		InReplyTo: ts,
		Addressed: true,
		Time:      tsTime(ev.EventTimestamp),
	}, true
}

// msgFields are the parts of a user message the bot event is built from.
type msgFields struct {
	channel, thread string
	dm              bool
	user, text, ts  string
	files           []slack.File
}

// userEvent builds the event of a user message. The same message may come
// as app_mention and as message, so everything but the event_id key is
// derived from the message alone.
func userEvent(self identity, team, eventID string, f msgFields) bot.Event {
	return bot.Event{
		Kind:        bot.EventMessage,
		DedupeKeys:  []string{eventKey(eventID), messageKey(f.channel, f.ts)},
		Thread:      bot.ThreadRef{Platform: platformName, Workspace: team, Channel: f.channel, Thread: f.thread, DM: f.dm},
		User:        bot.User{ID: f.user},
		Text:        stripMention(f.text, self.UserID),
		Message:     f.ts,
		Addressed:   true,
		Attachments: attachments(f.files),
		Time:        tsTime(f.ts),
	}
}

func fromBot(self identity, user, botID string) bool {
	return botID != "" || user == "" || user == self.UserID
}

// isDM reports whether a channel is a direct message with the bot.
func isDM(channel, channelType string) bool {
	if channelType != "" {
		return channelType == slackevents.ChannelTypeIM
	}
	return strings.HasPrefix(channel, "D")
}

// stripMention removes the bot's mention from the start of a message.
func stripMention(text, userID string) string {
	text = strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(text, "<@"+userID); ok {
		if end := strings.IndexByte(rest, '>'); end >= 0 && (end == 0 || rest[0] == '|') {
			return strings.TrimSpace(rest[end+1:])
		}
	}
	return text
}

func attachments(files []slack.File) []bot.Attachment {
	var out []bot.Attachment
	for _, f := range files {
		if f.URLPrivate == "" {
			continue
		}
		out = append(out, bot.Attachment{Name: f.Name, MIME: f.Mimetype, Size: int64(f.Size), URL: f.URLPrivate})
	}
	return out
}

func eventKey(eventID string) string { return "slack:event:" + eventID }

// messageKey identifies a message whichever event announced it.
func messageKey(channel, ts string) string { return "slack:" + channel + ":" + ts }

// tsTime reads a Slack timestamp ("1700000000.000100").
func tsTime(ts string) time.Time {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}
	}
	us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return time.Unix(s, us*1000)
}
