// Package slack connects kimibot to Slack: events arrive over Socket Mode
// or the HTTP Events API, and answers stream back with Slack's native
// streaming methods or, where those are not allowed, a posted message that
// is edited as the model writes, all paced to Slack's rate limits.
//
// Files follow the flow: inbound.go translates events into bot.Events
// (pure functions), socketmode.go and http.go receive them, dispatch.go
// hands them to the engine; stream.go, native.go, fallback.go, post.go
// and outbound.go write answers, paced by pacing.go; commands.go parses
// /kimi from the engine's command table; cards.go, interactions.go and
// modals.go draw review cards and take their clicks. The engine's
// commands and desk come explicitly in the bot.Host given to Run, and
// Run waits for the work it started after acknowledging Slack.
package slack
