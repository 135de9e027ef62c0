package slack

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
)

var testSelf = identity{UserID: "UKIMIBOT", BotID: "BKIMIBOT", TeamID: "T0KIMI"}

// MustTranslate parses an event_callback body as slack-go does for both
// Socket Mode and HTTP, then translates it.
func MustTranslate(tb testing.TB, body []byte) (bot.Event, bool) {
	tb.Helper()
	outer, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		tb.Fatalf("parse event: %v", err)
	}
	cb, ok := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		tb.Fatalf("outer data is %T", outer.Data)
	}
	return translateCallback(testSelf, cb, outer.InnerEvent)
}

func TestTranslateCallback(t *testing.T) {
	fake := slacktest.New(slacktest.Options{})
	defer fake.Close()
	img := slacktest.File{ID: "F1", Name: "cat.png", Mimetype: "image/png", Size: 3, URLPrivate: "https://files.slack.com/F1/cat.png"}
	mention := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> what is 2+2?", TS: "1700000000.000100"}
	inThread := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "and 3+3?", TS: "1700000001.000200", ThreadTS: "1700000000.000100"}
	dm := slacktest.UserMessage{User: "U1", Channel: "D1", ChannelType: "im", Text: "hello", TS: "1700000002.000300"}
	channelThread := bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "C1", Thread: "1700000000.000100"}
	with := func(m slacktest.UserMessage, f func(*slacktest.UserMessage)) slacktest.UserMessage { f(&m); return m }
	tests := []struct {
		name  string
		event map[string]any
		want  *bot.Event // nil: ignored
	}{
		{"OKMentionStartsThread", mention.Mention(), &bot.Event{Thread: channelThread, Text: "what is 2+2?",
			Message: mention.TS, Addressed: true}},
		{"OKMentionMessagePairMatches", mention.Message(), &bot.Event{Thread: channelThread, Text: "what is 2+2?",
			Message: mention.TS, Addressed: true}},
		{"OKMentionInThread", with(mention, func(m *slacktest.UserMessage) { m.ThreadTS, m.TS = "1699999999.000001", "1700000000.000100" }).Mention(),
			&bot.Event{Thread: bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "C1", Thread: "1699999999.000001"},
				Text: "what is 2+2?", Message: mention.TS, Addressed: true}},
		{"OKThreadReplyUnaddressed", inThread.Message(), &bot.Event{Thread: channelThread, Text: "and 3+3?",
			Message: inThread.TS}},
		{"OKThreadBroadcast", with(inThread, func(m *slacktest.UserMessage) { m.SubType = "thread_broadcast" }).Message(),
			&bot.Event{Thread: channelThread, Text: "and 3+3?", Message: inThread.TS}},
		{"OKDM", dm.Message(), &bot.Event{Thread: bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "D1", DM: true},
			Text: "hello", Message: dm.TS, Addressed: true}},
		{"OKDMInThread", with(dm, func(m *slacktest.UserMessage) { m.ThreadTS = "1700000000.000009" }).Message(),
			&bot.Event{Thread: bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "D1", Thread: "1700000000.000009", DM: true},
				Text: "hello", Message: dm.TS, Addressed: true}},
		{"OKFileShare", with(dm, func(m *slacktest.UserMessage) { m.SubType, m.Files = "file_share", []slacktest.File{img} }).Message(),
			&bot.Event{Thread: bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "D1", DM: true},
				Text: "hello", Message: dm.TS, Addressed: true,
				Attachments: []bot.Attachment{{Name: "cat.png", MIME: "image/png", Size: 3, URL: img.URLPrivate}}}},
		{"OKChannelMessageUnaddressed", with(mention, func(m *slacktest.UserMessage) { m.Text = "lunch?" }).Message(),
			&bot.Event{Thread: channelThread, Text: "lunch?", Message: mention.TS}},
		{"IgnoreOwnMessage", with(inThread, func(m *slacktest.UserMessage) { m.User = "UKIMIBOT" }).Message(), nil},
		{"IgnoreBotIDWithoutSubtype", with(dm, func(m *slacktest.UserMessage) { m.BotID = "BOTHER" }).Message(), nil},
		{"IgnoreBotMention", with(mention, func(m *slacktest.UserMessage) { m.BotID = "BOTHER" }).Mention(), nil},
		{"IgnoreBotMessage", with(inThread, func(m *slacktest.UserMessage) { m.SubType, m.BotID = "bot_message", "B2" }).Message(), nil},
		{"IgnoreEdit", map[string]any{"type": "message", "subtype": "message_changed", "channel": "C1", "channel_type": "channel",
			"ts": "1700000003.000001", "hidden": true,
			"message": map[string]any{"type": "message", "user": "U1", "text": "<@UKIMIBOT> edited", "ts": "1700000000.000100",
				"edited": map[string]any{"user": "U1", "ts": "1700000003.000001"}}}, nil},
		{"IgnoreDeletion", map[string]any{"type": "message", "subtype": "message_deleted", "channel": "C1", "channel_type": "channel",
			"ts": "1700000003.000002", "deleted_ts": "1700000000.000100", "hidden": true}, nil},
		{"IgnoreChannelJoin", with(inThread, func(m *slacktest.UserMessage) { m.SubType = "channel_join" }).Message(), nil},
		{"OKLeaveReaction", slacktest.Reaction("U1", "hand", "C1", "1700000004.000001"), &bot.Event{Kind: bot.EventLeave,
			Thread:    bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "C1", Thread: "1700000004.000001"},
			InReplyTo: "1700000004.000001", Addressed: true}},
		{"IgnoreOtherReaction", slacktest.Reaction("U1", "thumbsup", "C1", "1700000004.000001"), nil},
		{"IgnoreOwnReaction", slacktest.Reaction("UKIMIBOT", "hand", "C1", "1700000004.000001"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := fake.Callback(tt.event)
			got, ok := MustTranslate(t, cb.Body)
			if tt.want == nil {
				if ok {
					t.Fatalf("translated an ignored event: %+v", got)
				}
				return
			}
			if !ok {
				t.Fatal("event ignored")
			}
			want := *tt.want
			want.User = bot.User{ID: "U1"}
			want.Time = got.Time
			if want.Kind == bot.EventMessage {
				want.DedupeKeys = []string{"slack:event:" + cb.EventID, "slack:" + want.Thread.Channel + ":" + want.Message}
				if wantTime := tsTime(want.Message); !got.Time.Equal(wantTime) || got.Time.IsZero() {
					t.Errorf("time = %v, want %v", got.Time, wantTime)
				}
			} else {
				want.DedupeKeys = got.DedupeKeys
				if len(got.DedupeKeys) != 2 || got.DedupeKeys[0] != "slack:event:"+cb.EventID {
					t.Errorf("dedupe keys = %v", got.DedupeKeys)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("event =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestParseCommand(t *testing.T) {
	const link = "<https://kimibot-test.slack.com/archives/C1/p1700000000000100>"
	const replyLink = "<https://kimibot-test.slack.com/archives/C1/p1700000009000900?thread_ts=1700000000.000100&cid=C1>"
	chanThread := bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "C1"}
	inThread := chanThread
	inThread.Thread = "1700000000.000100"
	dm := bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "D1", DM: true}
	tests := []struct {
		name, channel, text string
		wantName            string
		wantArgs            []string
		wantThread          bot.ThreadRef
		wantText            string
	}{
		{"OKHelp", "C1", "", "", nil, chanThread, ""},
		{"OKModel", "C1", " Model  kimi-k2.6 ", "model", []string{"kimi-k2.6"}, chanThread, ""},
		{"OKModelChannel", "C1", "model kimi-k2.6 channel", "model", []string{"kimi-k2.6", "channel"}, chanThread, ""},
		{"OKModelThreadByLink", "C1", "model kimi-k2.6 thread " + link, "model", []string{"kimi-k2.6", "thread"}, inThread, ""},
		{"OKModelThreadByReplyLink", "C1", "model kimi-k2.6 thread " + replyLink, "model", []string{"kimi-k2.6", "thread"}, inThread, ""},
		{"OKModelThreadInDM", "D1", "model kimi-k2.6 thread", "model", []string{"kimi-k2.6", "thread"}, dm, ""},
		{"ErrModelThreadWithoutLink", "C1", "model kimi-k2.6 thread", "", nil, chanThread, threadNeedsLinkText},
		{"ErrLinkToOtherChannel", "C2", "new " + link, "", nil, chanThread, otherChannelText},
		{"OKNewInDM", "D1", "new", "new", nil, dm, ""},
		{"OKNewByLink", "C1", "new " + link, "new", nil, inThread, ""},
		{"OKNewInChannelExplains", "C1", "new", "", nil, chanThread, newInChannelText},
		{"OKSupportMention", "C1", "support <#CREV42|review>", "support", []string{"CREV42"}, chanThread, ""},
		{"OKSupportID", "C1", "support CREV42", "support", []string{"CREV42"}, chanThread, ""},
		{"OKSupportOff", "C1", "support OFF", "support", []string{"off"}, chanThread, ""},
		{"ErrSupportByName", "C1", "support #review", "", nil, chanThread, supportTargetText},
		{"OKThinkingByLink", "C1", "thinking off " + link, "thinking", []string{"off"}, inThread, ""},
		{"OKThinkingInDM", "D1", "thinking on", "thinking", []string{"on"}, dm, ""},
		{"OKThinkingShowsWithoutLink", "C1", "thinking", "thinking", nil, chanThread, ""},
		{"ErrThinkingWithoutLink", "C1", "thinking on", "", nil, chanThread, thinkingNeedsLinkText},
		{"OKWebSearchForChannel", "C1", "websearch on", "websearch", []string{"on"}, chanThread, ""},
		{"OKUnknownGoesToEngine", "C1", "frobnicate now", "frobnicate", []string{"now"}, chanThread, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := slack.SlashCommand{Command: "/kimi", Text: tt.text, TeamID: "T0KIMI", ChannelID: tt.channel, UserID: "U1", UserName: "ana"}
			c, text := parseCommand(cmd)
			if text != tt.wantText {
				t.Fatalf("adapter's answer = %q, want %q", text, tt.wantText)
			}
			if text != "" {
				return
			}
			want := bot.Command{Thread: tt.wantThread, User: bot.User{ID: "U1", Name: "ana"}, Name: tt.wantName, Args: tt.wantArgs}
			if tt.channel != "C1" && tt.channel != "D1" {
				want.Thread.Channel = tt.channel
			}
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("command =\n%+v\nwant\n%+v", c, want)
			}
		})
	}
}

func TestParseMessageLink(t *testing.T) {
	tests := []struct {
		in              string
		channel, thread string
		ok              bool
	}{
		{"https://team.slack.com/archives/C123/p1700000000000100", "C123", "1700000000.000100", true},
		{"<https://team.slack.com/archives/C123/p1700000001000200?thread_ts=1700000000.000100&cid=C123|link>", "C123", "1700000000.000100", true},
		{"https://example.com/archives/C123/p1700000000000100", "", "", false},
		{"https://team.slack.com/files/U1/F1/x.png", "", "", false},
		{"kimi-k2.6", "", "", false},
	}
	for _, tt := range tests {
		ch, th, ok := parseMessageLink(tt.in)
		if ch != tt.channel || th != tt.thread || ok != tt.ok {
			t.Errorf("parseMessageLink(%q) = %q, %q, %v", tt.in, ch, th, ok)
		}
	}
}

func TestStripMention(t *testing.T) {
	tests := map[string]string{
		"<@UKIMIBOT> hi":           "hi",
		"<@UKIMIBOT|kimibot>  hi ": "hi",
		"hi <@UKIMIBOT>":           "hi <@UKIMIBOT>",
		"<@UKIMIBOTX> hi":          "<@UKIMIBOTX> hi",
		"  plain  ":                "plain",
	}
	for in, want := range tests {
		if got := stripMention(in, "UKIMIBOT"); got != want {
			t.Errorf("stripMention(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTSTime(t *testing.T) {
	got := tsTime("1700000000.000100")
	if want := time.Unix(1_700_000_000, 100_000); !got.Equal(want) {
		t.Fatalf("tsTime = %v, want %v", got, want)
	}
	if !tsTime("garbage").IsZero() {
		t.Fatal("bad ts parsed")
	}
}
