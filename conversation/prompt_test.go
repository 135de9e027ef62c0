package conversation_test

import (
	"strings"
	"testing"
	"time"

	"kimibot/conversation"
)

func TestRenderSystemPrompt(t *testing.T) {
	utc := time.Date(2026, 11, 22, 14, 5, 59, 0, time.UTC)
	tokyo := time.FixedZone("JST", 9*60*60)
	tests := []struct {
		name string
		tmpl string
		bot  string
		now  time.Time
		want string
	}{
		{"AllPlaceholders", "{bot_name} | {date} | {time}", "kimibot", utc, "kimibot | Sunday, 2026-11-22 | 14:05 UTC"},
		{"OwnLocation", "{date} {time}", "k", utc.In(tokyo), "Sunday, 2026-11-22 23:05 JST"},
		{"DateRollsOver", "{date} {time}", "k", utc.Add(10 * time.Hour).In(tokyo), "Monday, 2026-11-23 09:05 JST"},
		{"Repeated", "{bot_name}, {bot_name}!", "Kimi", utc, "Kimi, Kimi!"},
		{"UnknownLeftAlone", "{user} asks {bot_name}", "Kimi", utc, "{user} asks Kimi"},
		{"NoPlaceholders", "Be brief.", "Kimi", utc, "Be brief."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conversation.RenderSystemPrompt(tt.tmpl, tt.bot, tt.now); got != tt.want {
				t.Errorf("RenderSystemPrompt(%q) = %q, want %q", tt.tmpl, got, tt.want)
			}
		})
	}
}

func TestDefaultSystemPrompt(t *testing.T) {
	now := time.Date(2026, 11, 22, 14, 5, 0, 0, time.UTC)
	for _, tmpl := range []string{conversation.DefaultSystemPrompt, ""} {
		got := conversation.RenderSystemPrompt(tmpl, "kimibot", now)
		for _, want := range []string{"You are kimibot", "Sunday, 2026-11-22", "14:05 UTC", "Markdown", "concise"} {
			if !strings.Contains(got, want) {
				t.Errorf("rendered default prompt lacks %q:\n%s", want, got)
			}
		}
		if strings.ContainsAny(got, "{}") {
			t.Errorf("rendered default prompt keeps a placeholder:\n%s", got)
		}
	}
}
