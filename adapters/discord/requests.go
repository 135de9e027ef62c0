package discord

import "net/http"

// RequestObserver counts REST requests; the metrics package implements it.
type RequestObserver interface {
	// Request counts one request of a rate-limit route ("PATCH
	// /channels/{id}/messages/{id}"), whether it writes, and its HTTP
	// status (0 when no answer came).
	Request(route string, write bool, status int)
}

// countingTransport reports every REST request to the API host by route;
// other hosts (attachment downloads) are not counted.
type countingTransport struct {
	base    http.RoundTripper
	apiHost string
	obs     RequestObserver
}

// countRequests wraps base so that obs sees each API request; a nil obs
// leaves base as is.
func countRequests(base http.RoundTripper, apiHost string, obs RequestObserver) http.RoundTripper {
	if obs == nil {
		return base
	}
	return &countingTransport{base: base, apiHost: apiHost, obs: obs}
}

// RoundTrip implements http.RoundTripper.
func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	route, _ := routeOf(req.Method, req.URL.Path)
	if req.URL.Host != t.apiHost || route == "" {
		return resp, err
	}
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.obs.Request(route, req.Method != http.MethodGet && req.Method != http.MethodHead, status)
	return resp, err
}
