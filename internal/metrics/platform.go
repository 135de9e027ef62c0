package metrics

import "net/http"

// Requests counts one platform's API requests; the Slack and Discord
// adapters call it from their HTTP transports.
type Requests struct {
	m        *Metrics
	platform string
}

// Requests returns the request counter of platform ("slack", "discord").
func (m *Metrics) Requests(platform string) *Requests {
	return &Requests{m: m, platform: platform}
}

// Request counts one API request by method (a Slack Web API method or a
// Discord route), whether it writes, and its HTTP status (0 when no
// answer came).
func (r *Requests) Request(method string, write bool, status int) {
	r.m.platformCalls.WithLabelValues(r.platform, method).Inc()
	if write {
		r.m.writes.WithLabelValues(r.platform, method).Inc()
	}
	if status == http.StatusTooManyRequests {
		r.m.rateLimited.WithLabelValues(r.platform, method).Inc()
	}
}
