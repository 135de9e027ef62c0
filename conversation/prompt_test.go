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
		{"Repeated", "{bot_name}, {bot_name}! {date}", "Kimi", utc, "Kimi, Kimi! Sunday, 2026-11-22"},
		{"UnknownLeftAlone", "{user} asks {bot_name} on {date}", "Kimi", utc, "{user} asks Kimi on Sunday, 2026-11-22"},
		{"NoPlaceholdersGetsDate", "Be brief.", "Kimi", utc, "Be brief.\n\nToday is Sunday, 2026-11-22."},
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
		for _, want := range []string{"You are kimibot", "Today is Sunday, 2026-11-22.", "Markdown", "concise"} {
			if !strings.Contains(got, want) {
				t.Errorf("rendered default prompt lacks %q:\n%s", want, got)
			}
		}
		if strings.ContainsAny(got, "{}") {
			t.Errorf("rendered default prompt keeps a placeholder:\n%s", got)
		}
	}
}

// TestPromptPrefixStableAcrossMinutes checks that the rendered default
// prompt is byte-identical all day, so Moonshot's automatic context cache
// hits, and that only its last line changes at midnight.
func TestPromptPrefixStableAcrossMinutes(t *testing.T) {
	base := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	first := conversation.RenderSystemPrompt("", "kimibot", base)
	for _, d := range []time.Duration{time.Minute, 59 * time.Minute, 13*time.Hour + 7*time.Minute, 24*time.Hour - time.Second} {
		if got := conversation.RenderSystemPrompt("", "kimibot", base.Add(d)); got != first {
			t.Fatalf("prompt at +%s differs from the prompt at midnight:\n%q\n%q", d, got, first)
		}
	}
	next := conversation.RenderSystemPrompt("", "kimibot", base.Add(24*time.Hour))
	stable := strings.TrimSuffix(first, conversation.DateLine(base))
	if !strings.HasPrefix(next, stable) || next == first {
		t.Fatalf("the next day's prompt must keep the stable prefix and change only the date line:\n%q", next)
	}
}
