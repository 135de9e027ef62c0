package discord

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
)

func TestToEvent(t *testing.T) {
	const botID = "900"
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	human := &discordgo.User{ID: "42", Username: "ada", GlobalName: "Ada"}
	other := &discordgo.User{ID: "43", Username: "bob"}
	self := &discordgo.User{ID: botID, Username: "kimibot", Bot: true}
	msg := func(edit func(m *discordgo.Message)) *discordgo.Message {
		m := &discordgo.Message{ID: "1001", ChannelID: "500", GuildID: "77", Author: human, Content: "hello", Timestamp: ts}
		edit(m)
		return m
	}
	dedupe := func(ch, id string) []string { return []string{"discord:" + ch + ":" + id} }
	tests := []struct {
		name string
		m    *discordgo.Message
		ch   channelInfo
		want bot.Event
		ok   bool
	}{
		{name: "DM", m: msg(func(m *discordgo.Message) { m.GuildID, m.ChannelID = "", "600" }), ok: true,
			want: bot.Event{DedupeKeys: dedupe("600", "1001"), Thread: bot.ThreadRef{Platform: "discord", Channel: "600", DM: true},
				User: bot.User{ID: "42", Name: "Ada"}, Text: "hello", Message: "1001", Addressed: true, Time: ts}},
		{name: "MentionStartsThread", m: msg(func(m *discordgo.Message) {
			m.Content, m.Mentions = "<@900> what is Go?", []*discordgo.User{self}
		}), ok: true,
			want: bot.Event{DedupeKeys: dedupe("500", "1001"), Thread: bot.ThreadRef{Platform: "discord", Workspace: "77", Channel: "500", Thread: "1001"},
				User: bot.User{ID: "42", Name: "Ada"}, Text: "what is Go?", Message: "1001", Addressed: true, Time: ts}},
		{name: "NicknameMentionAndOtherUser", m: msg(func(m *discordgo.Message) {
			m.Content, m.Mentions = "hey <@!900>, ask <@43> too", []*discordgo.User{self, other}
		}), ok: true,
			want: bot.Event{DedupeKeys: dedupe("500", "1001"), Thread: bot.ThreadRef{Platform: "discord", Workspace: "77", Channel: "500", Thread: "1001"},
				User: bot.User{ID: "42", Name: "Ada"}, Text: "hey , ask @bob too", Message: "1001", Addressed: true, Time: ts}},
		{name: "UnaddressedInChannel", m: msg(func(*discordgo.Message) {}), ok: true,
			want: bot.Event{DedupeKeys: dedupe("500", "1001"), Thread: bot.ThreadRef{Platform: "discord", Workspace: "77", Channel: "500", Thread: "1001"},
				User: bot.User{ID: "42", Name: "Ada"}, Text: "hello", Message: "1001", Time: ts}},
		{name: "FollowUpInThread", m: msg(func(m *discordgo.Message) { m.ChannelID = "1001" }), ch: channelInfo{thread: true, parent: "500"}, ok: true,
			want: bot.Event{DedupeKeys: dedupe("1001", "1001"), Thread: bot.ThreadRef{Platform: "discord", Workspace: "77", Channel: "500", Thread: "1001"},
				User: bot.User{ID: "42", Name: "Ada"}, Text: "hello", Message: "1001", Time: ts}},
		{name: "ReplyToBot", m: msg(func(m *discordgo.Message) {
			m.Type = discordgo.MessageTypeReply
			m.MessageReference = &discordgo.MessageReference{MessageID: "990", ChannelID: "500"}
			m.ReferencedMessage = &discordgo.Message{ID: "990", Author: self}
		}), ok: true,
			want: bot.Event{DedupeKeys: dedupe("500", "1001"), Thread: bot.ThreadRef{Platform: "discord", Workspace: "77", Channel: "500", Thread: "1001"},
				User: bot.User{ID: "42", Name: "Ada"}, Text: "hello", Message: "1001", InReplyTo: "990", Addressed: true, Time: ts}},
		{name: "ReplyToHumanInChannel", m: msg(func(m *discordgo.Message) {
			m.Type = discordgo.MessageTypeReply
			m.MessageReference = &discordgo.MessageReference{MessageID: "991"}
			m.ReferencedMessage = &discordgo.Message{ID: "991", Author: other}
		}), ok: true,
			want: bot.Event{DedupeKeys: dedupe("500", "1001"), Thread: bot.ThreadRef{Platform: "discord", Workspace: "77", Channel: "500", Thread: "1001"},
				User: bot.User{ID: "42", Name: "Ada"}, Text: "hello", Message: "1001", InReplyTo: "991", Time: ts}},
		{name: "Attachment", m: msg(func(m *discordgo.Message) {
			m.GuildID, m.ChannelID, m.Content = "", "600", ""
			m.Attachments = []*discordgo.MessageAttachment{{Filename: "cat.png", ContentType: "image/png", Size: 3, URL: "http://x/cat.png"}}
		}), ok: true,
			want: bot.Event{DedupeKeys: dedupe("600", "1001"), Thread: bot.ThreadRef{Platform: "discord", Channel: "600", DM: true},
				User: bot.User{ID: "42", Name: "Ada"}, Message: "1001", Addressed: true, Time: ts,
				Attachments: []bot.Attachment{{Name: "cat.png", MIME: "image/png", Size: 3, URL: "http://x/cat.png"}}}},
		{name: "OtherBot", m: msg(func(m *discordgo.Message) { m.GuildID, m.Author = "", &discordgo.User{ID: "44", Bot: true} })},
		{name: "Itself", m: msg(func(m *discordgo.Message) { m.GuildID, m.Author = "", &discordgo.User{ID: botID} })},
		{name: "Webhook", m: msg(func(m *discordgo.Message) { m.GuildID, m.WebhookID = "", "55" })},
		{name: "SystemMessage", m: msg(func(m *discordgo.Message) { m.GuildID, m.Type = "", discordgo.MessageTypeThreadCreated })},
		{name: "EmptyContent", m: msg(func(m *discordgo.Message) { m.ChannelID, m.Content = "1001", "" }), ch: channelInfo{thread: true, parent: "500"}},
		{name: "NoAuthor", m: msg(func(m *discordgo.Message) { m.Author = nil })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := toEvent(tt.m, botID, tt.ch)
			if ok != tt.ok {
				t.Fatalf("toEvent ok = %v, want %v (event %+v)", ok, tt.ok, got)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("toEvent =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestThreadTitle(t *testing.T) {
	tests := []struct{ in, want string }{
		{"what is   Go?", "what is Go?"},
		{"", "Kimi"},
		{"word\n\tx", "word x"},
		{strings.Repeat("é", 90), strings.Repeat("é", 79) + "…"},
		{"aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp qqqq rrrr", "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm nnnn oooo pppp"},
	}
	for _, tt := range tests {
		if got := threadTitle(tt.in); got != tt.want {
			t.Errorf("threadTitle(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRouteOf(t *testing.T) {
	tests := []struct{ method, path, route, major string }{
		{"POST", "https://discord.com/api/v9/channels/123/messages", "POST /channels/{id}/messages", "123"},
		{"PATCH", "/api/v10/channels/123/messages/456", "PATCH /channels/{id}/messages/{id}", "123"},
		{"POST", "/api/v10/channels/123/typing", "POST /channels/{id}/typing", "123"},
		{"POST", "/api/v10/interactions/77/aW50ZXJhY3Rpb246OTk5OTk5/callback", "POST /interactions/{id}/{id}/callback", "aW50ZXJhY3Rpb246OTk5OTk5"},
		{"PATCH", "/api/v10/webhooks/55/aW50ZXJhY3Rpb246OTk5OTk5/messages/@original", "PATCH /webhooks/{id}/{id}/messages/@original", "aW50ZXJhY3Rpb246OTk5OTk5"},
		{"GET", "/api/v10/gateway", "GET /gateway", ""},
	}
	for _, tt := range tests {
		route, major := routeOf(tt.method, tt.path)
		if route != tt.route || major != tt.major {
			t.Errorf("routeOf(%s %s) = %q, %q; want %q, %q", tt.method, tt.path, route, major, tt.route, tt.major)
		}
	}
}
