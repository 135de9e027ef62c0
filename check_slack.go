package main

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// slackManifest is the app manifest the README tells operators to use;
// the check compares the granted scopes with the ones it asks for.
//
//go:embed deploy/slack-app-manifest.yaml
var slackManifest string

// slackAnswer is the common part of a Web API answer.
type slackAnswer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Team  string `json:"team"`
	// User is the bot's name in auth.test, an object in users.info.
	User   any    `json:"user"`
	UserID string `json:"user_id"`
	URL    string `json:"url"`
}

// slackCall calls a Web API method with token and returns the answer and headers.
func (c *checker) slackCall(ctx context.Context, method, token string, params url.Values) (slackAnswer, http.Header, error) {
	var a slackAnswer
	target := c.cfg.SlackAPIURL + method
	if len(params) > 0 {
		target += "?" + params.Encode()
	}
	status, h, err := c.getJSON(ctx, http.MethodPost, target, "Bearer "+token, &a)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("%s answered HTTP %d", method, status)
	}
	return a, h, err
}

// checkSlack checks the bot token, its scopes, how events arrive, and
// lists the event subscriptions to check by hand.
func (c *checker) checkSlack(ctx context.Context) {
	a, h, err := c.slackCall(ctx, "auth.test", c.cfg.SlackBotToken, nil)
	switch {
	case err != nil:
		c.fail("Slack bot token", err.Error(), "check SLACK_API_URL and that this host can reach Slack")
		return
	case !a.OK:
		c.fail("Slack bot token", "auth.test: "+a.Error,
			"set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…) under OAuth & Permissions; reinstall the app if it was revoked")
		return
	}
	c.ok("Slack bot token", fmt.Sprintf("%v in workspace %s", a.User, a.Team))
	c.checkSlackScopes(h.Get("X-OAuth-Scopes"))
	c.checkSlackEvents(ctx)
	c.info("Slack event subscriptions", "the Web API cannot show them",
		"check under Event Subscriptions that the bot events are: "+strings.Join(manifestList("event_subscriptions:", "bot_events"), ", "))
}

// checkSlackScopes compares the granted scopes with the manifest's.
func (c *checker) checkSlackScopes(header string) {
	if header == "" {
		c.warn("Slack scopes", "Slack reported no scopes for the token", "compare OAuth & Permissions with deploy/slack-app-manifest.yaml")
		return
	}
	granted := strings.Split(strings.ReplaceAll(header, " ", ""), ",")
	var missing []string
	wanted := manifestList("oauth_config:", "bot")
	for _, s := range wanted {
		if !slices.Contains(granted, s) {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		c.fail("Slack scopes", "missing "+strings.Join(missing, ", "),
			"add them under OAuth & Permissions → Bot Token Scopes (or re-create the app from deploy/slack-app-manifest.yaml) and reinstall the app")
		return
	}
	c.ok("Slack scopes", fmt.Sprintf("all %d scopes of the manifest granted", len(wanted)))
}

// checkSlackEvents checks Socket Mode with the app token, or the signing
// secret of the HTTP Events API.
func (c *checker) checkSlackEvents(ctx context.Context) {
	if c.cfg.SlackAppToken == "" {
		c.ok("Slack events", "HTTP Events API; signing secret set")
		c.info("Slack request URLs", "the Web API cannot show them",
			"point Event Subscriptions, Interactivity and /kimi at https://<your host>/slack/events, /slack/interactions and /slack/commands")
		return
	}
	a, _, err := c.slackCall(ctx, "apps.connections.open", c.cfg.SlackAppToken, nil)
	switch {
	case err != nil:
		c.fail("Slack Socket Mode", err.Error(), "check that this host can reach Slack")
	case !a.OK:
		c.fail("Slack Socket Mode", "apps.connections.open: "+a.Error,
			"enable Socket Mode and set SLACK_APP_TOKEN to an app-level token (xapp-…) with connections:write")
	default:
		c.ok("Slack Socket Mode", "app token accepted; Slack offered a connection")
	}
}

// manifestList returns the items of the YAML list key that follows the
// line section in the embedded manifest.
func manifestList(section, key string) []string {
	lines := strings.Split(slackManifest, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == section })
	if start < 0 {
		return nil
	}
	var out []string
	in := false
	for _, l := range lines[start+1:] {
		t := strings.TrimSpace(l)
		switch {
		case !in:
			in = t == key+":"
		case strings.HasPrefix(t, "- "):
			out = append(out, strings.TrimSpace(strings.TrimPrefix(t, "- ")))
		case t == "" || strings.HasPrefix(t, "#"):
		default:
			return out
		}
	}
	return out
}
