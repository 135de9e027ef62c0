package discord

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// transport sends discordgo's REST requests to the configured API base and
// feeds every response's rate-limit headers to the limiter. discordgo builds
// URLs from its v9 endpoint constants; the transport rewrites that prefix so
// the package variables stay untouched.
type transport struct {
	base   http.RoundTripper
	from   string
	to     *url.URL
	limits *limiter
}

func newTransport(base http.RoundTripper, api *url.URL, limits *limiter) *transport {
	to := *api
	if !strings.HasSuffix(to.Path, "/") {
		to.Path += "/"
	}
	return &transport{base: base, from: discordgo.EndpointAPI, to: &to, limits: limits}
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	raw := req.URL.String()
	api := strings.HasPrefix(raw, t.from) || strings.HasPrefix(raw, t.to.String())
	route, major := routeOf(req.Method, req.URL.Path)
	if strings.HasPrefix(raw, t.from) {
		u, err := t.to.Parse(strings.TrimPrefix(raw, t.from))
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.URL, req.Host = u, u.Host
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil && api && route != "" {
		t.limits.observe(route, major, resp.StatusCode, resp.Header, time.Now())
	}
	return resp, err
}

var apiVersion = regexp.MustCompile(`^.*?/api/v\d+`)

// idSegment matches a snowflake or an interaction token in a path.
var idSegment = regexp.MustCompile(`^(\d+|[A-Za-z0-9_.\-]{20,})$`)

// routeOf returns the rate-limit route of a request, such as
// "PATCH /channels/{id}/messages/{id}", and its major parameter (the
// channel, or the webhook token), from a URL path or a full URL.
func routeOf(method, path string) (route, major string) {
	if i := strings.Index(path, "://"); i >= 0 {
		if u, err := url.Parse(path); err == nil {
			path = u.Path
		}
	}
	path = apiVersion.ReplaceAllString(path, "")
	if !strings.HasPrefix(path, "/") {
		return "", ""
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range seg {
		if i > 0 && idSegment.MatchString(s) {
			seg[i] = "{id}"
		}
	}
	switch {
	case len(seg) > 1 && (seg[0] == "channels" || seg[0] == "guilds"):
		major = strings.Split(strings.Trim(path, "/"), "/")[1]
	case len(seg) > 2 && (seg[0] == "webhooks" || seg[0] == "interactions"):
		major = strings.Split(strings.Trim(path, "/"), "/")[2]
	}
	return method + " /" + strings.Join(seg, "/"), major
}

// isWebhookRoute reports whether a route is an interaction or webhook
// route, which does not count against the global limit.
func isWebhookRoute(route string) bool {
	_, p, _ := strings.Cut(route, " ")
	return strings.HasPrefix(p, "/webhooks/") || strings.HasPrefix(p, "/interactions/")
}
