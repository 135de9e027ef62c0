package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"kimibot/bot"
)

// resolution is what a platform said about a user, group or channel.
type resolution int

const (
	resolved resolution = iota
	// unverifiable means the platform cannot tell (missing scope, a Discord role).
	unverifiable
	unresolved
)

// checkAccess checks that the admins, approvers and support routes name
// users, groups and channels the platforms know.
func (c *checker) checkAccess(ctx context.Context) {
	people := append(append([]Principal(nil), c.cfg.Admins...), c.cfg.Approvers...)
	if len(people) > 0 {
		var r accessTally
		for _, p := range people {
			res, why := c.resolvePrincipal(ctx, p)
			r.note(p.String(), res, why)
		}
		r.report(c, "admins and approvers", len(people), "fix the IDs in KIMIBOT_ADMINS and KIMIBOT_APPROVERS")
	}
	if len(c.cfg.SupportRoutes) > 0 {
		var r accessTally
		for _, rt := range c.cfg.SupportRoutes {
			for _, ch := range []string{rt.From, rt.To} {
				res, why := c.resolveChannel(ctx, rt.Platform, ch)
				r.note(rt.Platform+":"+ch, res, why)
			}
		}
		r.report(c, "support routes", 2*len(c.cfg.SupportRoutes),
			"fix the channel IDs in KIMIBOT_SUPPORT_ROUTES and add the bot to both channels")
	}
}

// accessTally collects the names that did not resolve.
type accessTally struct {
	failed, unknown []string
}

func (t *accessTally) note(name string, res resolution, why string) {
	switch res {
	case unresolved:
		t.failed = append(t.failed, name+" ("+why+")")
	case unverifiable:
		t.unknown = append(t.unknown, name+" ("+why+")")
	}
}

func (t *accessTally) report(c *checker, check string, n int, fix string) {
	switch {
	case len(t.failed) > 0:
		c.fail(check, "not found: "+strings.Join(t.failed, ", "), fix)
	case len(t.unknown) > 0:
		c.warn(check, "could not verify: "+strings.Join(t.unknown, ", "),
			"check by hand that they exist and that the bot is a member of the channels")
	default:
		c.ok(check, fmt.Sprintf("all %d resolve", n))
	}
}

// resolvePrincipal looks up a user or Slack user group.
func (c *checker) resolvePrincipal(ctx context.Context, p Principal) (resolution, string) {
	switch {
	case p.Platform == "slack" && p.Kind == bot.PrincipalUser:
		return c.slackResolve(ctx, "users.info", url.Values{"user": {p.ID}})
	case p.Platform == "slack" && p.Kind == bot.PrincipalGroup:
		return c.slackResolve(ctx, "usergroups.users.list", url.Values{"usergroup": {p.ID}})
	case p.Platform == "discord" && p.Kind == bot.PrincipalUser:
		return c.discordResolve(ctx, "/users/"+url.PathEscape(p.ID))
	}
	return unverifiable, "a role can only be checked in its server"
}

// resolveChannel looks up a channel.
func (c *checker) resolveChannel(ctx context.Context, platform, id string) (resolution, string) {
	if platform == "slack" {
		return c.slackResolve(ctx, "conversations.info", url.Values{"channel": {id}})
	}
	return c.discordResolve(ctx, "/channels/"+url.PathEscape(id))
}

func (c *checker) slackResolve(ctx context.Context, method string, params url.Values) (resolution, string) {
	if c.cfg.SlackBotToken == "" {
		return unresolved, "Slack is not configured"
	}
	a, _, err := c.slackCall(ctx, method, c.cfg.SlackBotToken, params)
	switch {
	case err != nil:
		return unverifiable, err.Error()
	case a.OK:
		return resolved, ""
	case a.Error == "missing_scope":
		return unverifiable, method + " needs a scope the app does not ask for"
	case strings.HasSuffix(a.Error, "_not_found") || a.Error == "no_such_subteam":
		return unresolved, a.Error
	}
	return unverifiable, a.Error
}

func (c *checker) discordResolve(ctx context.Context, path string) (resolution, string) {
	if c.cfg.DiscordBotToken == "" {
		return unresolved, "Discord is not configured"
	}
	status, err := c.discordGet(ctx, path, nil)
	switch {
	case err != nil:
		return unverifiable, err.Error()
	case status == http.StatusOK:
		return resolved, ""
	case status == http.StatusNotFound:
		return unresolved, "unknown"
	case status == http.StatusForbidden:
		return unresolved, "the bot has no access"
	}
	return unverifiable, fmt.Sprintf("HTTP %d", status)
}
