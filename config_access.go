package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"kimibot/bot"
)

var (
	slackPrincipalID = regexp.MustCompile(`^[UWS][A-Z0-9]+$`)
	slackChannelID   = regexp.MustCompile(`^[CG][A-Z0-9]+$`)
	discordID        = regexp.MustCompile(`^[0-9]{1,20}$`)
	toolName         = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// loadAccess reads admins, approvers and support routes.
func (l *loader) loadAccess() {
	l.cfg.Admins = l.principals("KIMIBOT_ADMINS", l.raw.Admins)
	l.cfg.Approvers = l.principals("KIMIBOT_APPROVERS", l.raw.Approvers)
	l.cfg.SupportRoutes = l.routes("KIMIBOT_SUPPORT_ROUTES", l.raw.SupportRoutes)
}

// principals parses a comma list of principals: users, Slack user groups
// and Discord roles, reporting each bad item.
func (l *loader) principals(name, value string) []Principal {
	var out []Principal
	seen := make(map[Principal]bool)
	for _, item := range splitList(value) {
		p, err := parsePrincipal(item)
		if err != nil {
			l.addf("%s: %q: %v", name, item, err)
			continue
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// parsePrincipal parses "slack:U…", "slack:S…", "discord:…" or "discord:role:…".
func parsePrincipal(item string) (Principal, error) {
	platform, id, _ := strings.Cut(item, ":")
	p := Principal{Platform: strings.ToLower(platform), Kind: bot.PrincipalUser, ID: id}
	switch p.Platform {
	case "slack":
		if !slackPrincipalID.MatchString(id) {
			return Principal{}, errors.New("want slack:U… (user) or slack:S… (user group)")
		}
		if id[0] == 'S' {
			p.Kind = bot.PrincipalGroup
		}
	case "discord":
		if role, ok := strings.CutPrefix(id, "role:"); ok {
			p.Kind, p.ID = bot.PrincipalRole, role
		}
		if !discordID.MatchString(p.ID) {
			return Principal{}, errors.New("want discord:<user ID> or discord:role:<role ID>, IDs in digits")
		}
	default:
		return Principal{}, errors.New("platform must be slack or discord")
	}
	return p, nil
}

// routes parses a comma list of support routes, reporting each bad item and
// any channel routed twice.
func (l *loader) routes(name, value string) []Route {
	var out []Route
	from := make(map[string]bool)
	for _, item := range splitList(value) {
		r, err := parseRoute(item)
		if err != nil {
			l.addf("%s: %q: %v", name, item, err)
			continue
		}
		key := r.Platform + ":" + r.From
		if from[key] {
			l.addf("%s: %q: channel %s is already routed", name, item, r.From)
			continue
		}
		from[key] = true
		out = append(out, r)
	}
	return out
}

// parseRoute parses "platform:FROM>TO".
func parseRoute(item string) (Route, error) {
	platform, channels, _ := strings.Cut(item, ":")
	src, dst, ok := strings.Cut(channels, ">")
	if !ok {
		return Route{}, errors.New("want platform:FROM>TO")
	}
	r := Route{Platform: strings.ToLower(platform), From: strings.TrimSpace(src), To: strings.TrimSpace(dst)}
	var id *regexp.Regexp
	switch r.Platform {
	case "slack":
		id = slackChannelID
	case "discord":
		id = discordID
	default:
		return Route{}, errors.New("platform must be slack or discord")
	}
	if !id.MatchString(r.From) || !id.MatchString(r.To) {
		return Route{}, fmt.Errorf("FROM and TO must be %s channel IDs", r.Platform)
	}
	if r.From == r.To {
		return Route{}, errors.New("FROM and TO are the same channel")
	}
	return r, nil
}

// splitList splits a comma list, trimming items and dropping empty ones.
func splitList(value string) []string {
	var out []string
	for item := range strings.SplitSeq(value, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
