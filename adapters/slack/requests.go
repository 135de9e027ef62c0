package slack

import (
	"net/http"
	"path"
	"regexp"
	"strings"
)

// RequestObserver counts Web API requests; the metrics package implements it.
type RequestObserver interface {
	// Request counts one call of a Web API method, whether it writes, and
	// its HTTP status (0 when no answer came).
	Request(method string, write bool, status int)
}

// countingTransport reports every Web API request slack-go sends, by the
// method named in the URL path.
type countingTransport struct {
	base http.RoundTripper
	obs  RequestObserver
}

// countRequests wraps base so that obs sees each request; a nil obs leaves base as is.
func countRequests(base http.RoundTripper, obs RequestObserver) http.RoundTripper {
	if obs == nil {
		return base
	}
	return &countingTransport{base: base, obs: obs}
}

// RoundTrip implements http.RoundTripper.
func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	method := webMethod(req.URL.Path)
	resp, err := t.base.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.obs.Request(method, writes(method), status)
	return resp, err
}

// methodName is the shape of a Web API method name ("chat.postMessage").
var methodName = regexp.MustCompile(`^[a-zA-Z]+(\.[a-zA-Z]+)+$`)

// webMethod is the Web API method of a request path, or "other", so that
// the label stays bounded whatever the path.
func webMethod(p string) string {
	m := path.Base(p)
	if !methodName.MatchString(m) || len(m) > 64 {
		return "other"
	}
	return m
}

// writes reports whether a method changes what users see.
func writes(method string) bool {
	for _, p := range []string{"chat.", "views.", "assistant.threads.set", "reactions.add", "files.upload",
		"files.completeUpload"} {
		if strings.HasPrefix(method, p) {
			return !strings.HasPrefix(method, "chat.getPermalink")
		}
	}
	return false
}
