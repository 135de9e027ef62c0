package discordtest

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
)

// bucketLimit is the size of one rate-limit bucket.
type bucketLimit struct {
	hash   string
	limit  int
	window time.Duration
}

// slidingLog holds the accepted request times of one bucket. The fake
// allows a request when fewer than limit requests were accepted in the
// last window, which is stricter than Discord's fixed windows: a client
// that never gets a 429 here never exceeds limit in any window.
type slidingLog struct {
	times []time.Time
}

// take tries to record a request at now. It reports whether the request is
// allowed, the remaining capacity and the time until capacity next grows.
func (l *slidingLog) take(lim bucketLimit, now time.Time) (ok bool, remaining int, resetAfter time.Duration) {
	l.expire(lim.window, now)
	if len(l.times) >= lim.limit {
		return false, 0, l.times[0].Add(lim.window).Sub(now)
	}
	l.times = append(l.times, now)
	return true, lim.limit - len(l.times), l.times[0].Add(lim.window).Sub(now)
}

func (l *slidingLog) expire(window time.Duration, now time.Time) {
	i := 0
	for i < len(l.times) && !l.times[i].Add(window).After(now) {
		i++
	}
	l.times = l.times[i:]
}

// seconds formats d as Discord does (seconds with millisecond decimals),
// rounded up so that a client waiting that long is never early.
func seconds(d time.Duration) string {
	ms := math.Ceil(float64(d) / float64(time.Millisecond))
	return strconv.FormatFloat(ms/1000, 'f', 3, 64)
}

// setRateHeaders writes the X-RateLimit headers of a bucket.
func setRateHeaders(h http.Header, lim bucketLimit, remaining int, resetAfter time.Duration, now time.Time) {
	reset := now.Add(resetAfter)
	h.Set("X-RateLimit-Limit", strconv.Itoa(lim.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(reset.UnixMilli())/1000, 'f', 3, 64))
	h.Set("X-RateLimit-Reset-After", seconds(resetAfter))
	h.Set("X-RateLimit-Bucket", lim.hash)
}

// rateLimitBody is Discord's 429 body.
type rateLimitBody struct {
	Message    string  `json:"message"`
	RetryAfter float64 `json:"retry_after"`
	Global     bool    `json:"global"`
}

// writeTooMany answers 429 with Discord's headers and body.
func writeTooMany(w http.ResponseWriter, retryAfter time.Duration, global bool, scope string) {
	h := w.Header()
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	h.Set("X-RateLimit-Scope", scope)
	if global {
		h.Set("X-RateLimit-Global", "true")
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	ms := math.Ceil(float64(retryAfter) / float64(time.Millisecond))
	body := rateLimitBody{Message: "You are being rate limited.", RetryAfter: ms / 1000, Global: global}
	_ = json.NewEncoder(w).Encode(body)
}

// apiError is Discord's JSON error body.
type apiError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// writeError answers with a Discord error body.
func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(apiError{Message: msg, Code: code})
}

// writeJSON answers 200 with v.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
