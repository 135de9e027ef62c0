// Package discord connects kimibot to Discord through discordgo: the
// gateway brings DMs, mentions, thread follow-ups and interactions in;
// answers go out as messages edited while the model writes, paced per
// channel from Discord's rate-limit headers and split at 2,000 characters.
// The adapter also registers the slash commands and answers them, and
// shows support drafts as review cards whose buttons and forms reach the
// engine's desk.
//
// Files follow the flow: gateway.go connects and receives, inbound.go
// translates messages into bot.Events (pure functions); stream.go,
// outbound.go and post.go write answers, paced by ratelimit.go from the
// rate-limit headers that transport.go reads; commands.go registers the
// engine's command table as application commands and answers them;
// cards.go and review.go draw review cards and take their buttons and
// forms. The engine's commands and desk come explicitly in the bot.Host
// given to Run, and Run waits for the interactions being answered.
package discord
