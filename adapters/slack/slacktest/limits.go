package slacktest

import (
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Fault is an injected failure for the next calls of one method.
type Fault struct {
	// Method is the Web API method, such as "chat.update".
	Method string
	// Status is the HTTP status to answer with: 429 or a 5xx. Leave it 0
	// and set Error for an ok:false answer with HTTP 200.
	Status int
	// RetryAfter is the Retry-After header of a 429: "" sends none, and a
	// value such as "1.5" or "soon" is sent as is, unparseable for slack-go.
	RetryAfter string
	// Penalty is how long after a 429 further calls of the method count as
	// violations. It defaults to RetryAfter when that is whole seconds, else one second.
	Penalty time.Duration
	// Error is the Slack error code of an ok:false answer.
	Error string
	// Lose lets the call take effect and then closes the connection
	// without an answer, as when a response is lost on the way back.
	Lose bool
	// Times is how many calls fail (1 when 0).
	Times int
	// After lets this many matching calls through first.
	After int
}

// Inject queues a fault. Faults of the same method apply in order.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, &f)
}

// PendingFaults reports how many injected failures have not happened yet.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.Times
	}
	return n
}

// faultLocked returns the answer of the first fault that hits this call.
func (s *Server) faultLocked(method string, now time.Time) (answer, bool) {
	for i, f := range s.faults {
		if f.Method != method {
			continue
		}
		if f.After > 0 {
			f.After--
			return answer{}, false
		}
		f.Times--
		if f.Times == 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return s.faultAnswerLocked(f, now), true
	}
	return answer{}, false
}

func (s *Server) faultAnswerLocked(f *Fault, now time.Time) answer {
	switch {
	case f.Lose:
		return answer{lose: true}
	case f.Status == http.StatusTooManyRequests:
		penalty := f.Penalty
		if penalty == 0 {
			penalty = time.Second
			if secs, err := strconv.Atoi(f.RetryAfter); err == nil {
				penalty = time.Duration(secs) * time.Second
			}
		}
		s.blocked[f.Method] = now.Add(penalty)
		return answer{status: f.Status, retryAfter: f.RetryAfter,
			body: map[string]any{"ok": false, "error": "ratelimited"}}
	case f.Status >= 500:
		return answer{status: f.Status}
	default:
		return answer{status: http.StatusOK, body: map[string]any{"ok": false, "error": f.Error}}
	}
}

// limitLocked enforces Slack's limits: a call inside a Retry-After pause or
// beyond a method's budget is counted as a violation and answered with 429.
func (s *Server) limitLocked(method string, p url.Values, now time.Time) answer {
	channel := p.Get("channel")
	if until, ok := s.blocked[method]; ok && now.Before(until) {
		return s.violateLocked(method, channel, "call before Retry-After ended", until.Sub(now), now)
	}
	switch method {
	case "chat.update":
		return s.windowLocked(method, channel, s.opts.UpdatesPerWindow, now)
	case "chat.appendStream":
		return s.windowLocked(method, channel, s.opts.AppendsPerWindow, now)
	case "chat.startStream", "chat.stopStream":
		return s.windowLocked(method, channel, s.opts.StreamCallsPerWindow, now)
	case "chat.postMessage":
		return s.postPaceLocked(channel, now)
	}
	return answer{}
}

// windowLocked allows at most limit calls of method per rolling window in
// the workspace.
func (s *Server) windowLocked(method, channel string, limit int, now time.Time) answer {
	log := s.windows[method]
	cut := 0
	for cut < len(log) && now.Sub(log[cut]) >= s.opts.Window {
		cut++
	}
	log = log[cut:]
	if len(log) >= limit {
		s.windows[method] = log
		wait := s.opts.Window - now.Sub(log[0])
		return s.violateLocked(method, channel, "over "+strconv.Itoa(limit)+" per window", wait, now)
	}
	s.windows[method] = append(log, now)
	return answer{}
}

// bucket is a leaky bucket: its level drains by one every PostInterval.
type bucket struct {
	level float64
	at    time.Time
}

// postPaceLocked allows chat.postMessage at one per PostInterval per
// channel, with bursts of up to PostBurst.
func (s *Server) postPaceLocked(channel string, now time.Time) answer {
	b := s.buckets[channel]
	if b == nil {
		b = &bucket{at: now}
		s.buckets[channel] = b
	}
	level := max(0, b.level-float64(now.Sub(b.at))/float64(s.opts.PostInterval))
	if level+1 > float64(s.opts.PostBurst) {
		wait := time.Duration((level + 1 - float64(s.opts.PostBurst)) * float64(s.opts.PostInterval))
		return s.violateLocked("chat.postMessage", channel, "over one message per interval per channel", wait, now)
	}
	b.level, b.at = level+1, now
	return answer{}
}

func (s *Server) violateLocked(method, channel, reason string, wait time.Duration, now time.Time) answer {
	s.violations = append(s.violations, Violation{Time: now, Method: method, Channel: channel, Reason: reason})
	return answer{status: http.StatusTooManyRequests, retryAfter: retryAfterSeconds(wait),
		body: map[string]any{"ok": false, "error": "ratelimited"}}
}
