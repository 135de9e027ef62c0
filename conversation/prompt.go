package conversation

import (
	"strings"
	"time"
)

// DefaultSystemPrompt is the system prompt template used when none is
// configured. It holds no date or time, so that its bytes stay the same
// from one request to the next and Moonshot's context cache can reuse the
// thread's prefix; RenderSystemPrompt appends the date at the end.
const DefaultSystemPrompt = `You are {bot_name}, an AI assistant in a team's chat workspace (Slack or Discord), running on Moonshot AI's Kimi models.

Several people may take part in one thread. Answer the latest message, using the thread so far as context.
Be concise: lead with the answer, skip filler and do not restate the question. Give detail when it is asked for.
Answer in Markdown: short paragraphs, lists, and fenced code blocks with a language tag. Avoid wide tables; chat apps show them poorly.
When a tool can answer a question, use it and rely on its result; if it fails, say so. If you do not know something, say so instead of guessing.
Reply in the language of the message you answer.`

// RenderSystemPrompt fills in a system prompt template: {date} becomes the
// weekday and date ("Sunday, 2026-11-22"), {time} the time of day with its
// zone ("14:05 UTC") and {bot_name} the bot's name. now is used in its own
// location. An empty template renders DefaultSystemPrompt.
//
// A template that uses neither {date} nor {time} gets the date as its last
// line ("Today is Sunday, 2026-11-22."), so that everything before it stays
// byte-identical for the whole day. {time} changes every minute; templates
// that use it give up most of the provider's prompt caching.
func RenderSystemPrompt(tmpl, botName string, now time.Time) string {
	if tmpl == "" {
		tmpl = DefaultSystemPrompt
	}
	dated := strings.Contains(tmpl, "{date}") || strings.Contains(tmpl, "{time}")
	out := strings.NewReplacer(
		"{date}", now.Format("Monday, 2006-01-02"),
		"{time}", now.Format("15:04 MST"),
		"{bot_name}", botName,
	).Replace(tmpl)
	if !dated {
		out += "\n\n" + DateLine(now)
	}
	return out
}

// DateLine is the line that tells the model the date, at day granularity.
func DateLine(now time.Time) string {
	return "Today is " + now.Format("Monday, 2006-01-02") + "."
}
