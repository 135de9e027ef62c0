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
		{"IgnoreChannelMessageWithoutMention", with(mention, func(m *slacktest.UserMessage) { m.Text = "lunch?" }).Message(), nil},
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

func TestTranslateCommand(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		channel   string
		wantEvent bool
		wantText  string
	}{
		{"OKNewInDM", " NEW ", "D1", true, "Starting a new conversation."},
		{"OKNewInChannelExplains", "new", "C1", false, newInChannelText},
		{"OKHelp", "", "C1", false, helpText},
		{"OKLater", "models", "C1", false, "`/kimi models` is coming soon.\n" + helpText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := slack.SlashCommand{Command: "/kimi", Text: tt.text, TeamID: "T0KIMI", ChannelID: tt.channel, UserID: "U1", TriggerID: "trig-1"}
			ev, ok, text := translateCommand(cmd)
			if ok != tt.wantEvent || text != tt.wantText {
				t.Fatalf("ok = %v, text = %q", ok, text)
			}
			if !ok {
				return
			}
			wantThread := bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: tt.channel, DM: true}
			if ev.Kind != bot.EventReset || ev.Thread != wantThread || ev.User.ID != "U1" || ev.DedupeKeys[0] != "slack:command:trig-1" {
				t.Fatalf("event = %+v", ev)
			}
		})
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
