package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"kimibot/adapters/discord"
)

// The application flags that show the message content intent is on: for
// a verified app, and the developer portal toggle of an unverified one.
const (
	flagGatewayMessageContent        = 1 << 18
	flagGatewayMessageContentLimited = 1 << 19
)

// discordGet calls the Discord REST API with the bot token.
func (c *checker) discordGet(ctx context.Context, path string, v any) (int, error) {
	token := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c.cfg.DiscordBotToken), "Bot "))
	base := strings.TrimSuffix(c.cfg.DiscordAPIURL, "/")
	status, _, err := c.getJSON(ctx, http.MethodGet, base+path, "Bot "+token, v)
	return status, err
}

// checkDiscord checks the bot token, the message content intent and the
// servers the bot is in.
func (c *checker) checkDiscord(ctx context.Context) {
	var me struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	}
	status, err := c.discordGet(ctx, "/users/@me", &me)
	switch {
	case err != nil:
		c.fail("Discord bot token", err.Error(), "check DISCORD_API_URL and that this host can reach Discord")
		return
	case status == http.StatusUnauthorized:
		c.fail("Discord bot token", "Discord refused the token (HTTP 401)",
			"set DISCORD_BOT_TOKEN to the token from Bot → Reset Token in the developer portal")
		return
	case status != http.StatusOK:
		c.fail("Discord bot token", fmt.Sprintf("GET /users/@me answered HTTP %d", status), "try again later")
		return
	}
	c.ok("Discord bot token", fmt.Sprintf("bot %s (%s)", me.Username, me.ID))
	appID := c.checkIntent(ctx)
	c.checkGuilds(ctx, appID)
}

// checkIntent checks the message content intent and returns the application ID.
func (c *checker) checkIntent(ctx context.Context) string {
	var app struct {
		ID    string `json:"id"`
		Flags int    `json:"flags"`
	}
	status, err := c.discordGet(ctx, "/applications/@me", &app)
	switch {
	case err != nil || status != http.StatusOK:
		c.warn("Discord message content", fmt.Sprintf("could not read the application (HTTP %d, %v)", status, err),
			"check Bot → Message Content Intent in the developer portal by hand")
	case app.Flags&(flagGatewayMessageContent|flagGatewayMessageContentLimited) == 0:
		c.fail("Discord message content", "the Message Content intent is off; the bot cannot read messages",
			"switch on Bot → Privileged Gateway Intents → Message Content Intent in the developer portal")
	default:
		c.ok("Discord message content", "Message Content intent on")
	}
	return app.ID
}

// checkGuilds checks that the bot is in at least one server.
func (c *checker) checkGuilds(ctx context.Context, appID string) {
	var guilds []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	status, err := c.discordGet(ctx, "/users/@me/guilds", &guilds)
	switch {
	case err != nil || status != http.StatusOK:
		c.warn("Discord servers", fmt.Sprintf("could not list servers (HTTP %d, %v)", status, err), "try again later")
	case len(guilds) == 0:
		fix := "invite the bot to a server"
		if appID != "" {
			fix += ": " + discord.InviteURL(appID)
		}
		c.warn("Discord servers", "the bot is in no server; only DMs reach it", fix)
	default:
		c.ok("Discord servers", fmt.Sprintf("in %d server(s)", len(guilds)))
	}
}
