package slacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// reply is what a method handler answers: the fields of an ok reply, or a
// Slack error code.
type reply struct {
	fields map[string]any
	err    string
}

func ok(fields map[string]any) reply { return reply{fields: fields} }

func fail(code string) reply { return reply{err: code} }

// answer is the complete HTTP answer, decided under the lock and written after.
type answer struct {
	status     int
	retryAfter string
	body       map[string]any
	// lose closes the connection instead of answering.
	lose bool
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	params, token, err := readParams(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.waitHold(r.Context(), method)
	s.mu.Lock()
	a := s.handleLocked(method, params, token, time.Now())
	s.mu.Unlock()
	if a.lose {
		loseAnswer(w)
		return
	}
	s.setScopes(w, token)
	writeAnswer(w, a)
}

// handleLocked runs one Web API call against the fake's state.
func (s *Server) handleLocked(method string, params url.Values, token string, now time.Time) answer {
	call := Call{Method: method, Time: now, Params: params, Status: http.StatusOK}
	a := s.gateLocked(method, params, token, now)
	if a.status == 0 {
		rep := s.dispatchLocked(method, params, now)
		a = answer{status: http.StatusOK, body: map[string]any{"ok": rep.err == ""}, lose: a.lose}
		if rep.err != "" {
			a.body["error"] = rep.err
		}
		for k, v := range rep.fields {
			a.body[k] = v
		}
	}
	call.Status, call.Lost = a.status, a.lose
	if e, _ := a.body["error"].(string); e != "" {
		call.Error = e
	} else if a.status == http.StatusOK {
		s.counts[method]++
	}
	s.calls = append(s.calls, call)
	s.notifyLocked()
	return a
}

// gateLocked applies injected faults, authentication and rate limits. A
// zero answer lets the call through to its method.
func (s *Server) gateLocked(method string, params url.Values, token string, now time.Time) answer {
	f, hit := s.faultLocked(method, now)
	if hit && !f.lose {
		return f
	}
	a := s.authLimitLocked(method, params, token, now)
	a.lose = hit
	return a
}

// authLimitLocked checks the token and the rate limits of a call.
func (s *Server) authLimitLocked(method string, params url.Values, token string, now time.Time) answer {
	want := s.opts.BotToken
	if method == "apps.connections.open" {
		want = s.opts.AppToken
	}
	if token == "" {
		return answer{status: http.StatusOK, body: map[string]any{"ok": false, "error": "not_authed"}}
	}
	if token != want {
		return answer{status: http.StatusOK, body: map[string]any{"ok": false, "error": "invalid_auth"}}
	}
	return s.limitLocked(method, params, now)
}

func (s *Server) dispatchLocked(method string, p url.Values, now time.Time) reply {
	switch method {
	case "auth.test":
		return ok(map[string]any{
			"url": s.URL() + "/", "team": "kimibot-test", "user": "kimibot",
			"team_id": s.opts.TeamID, "user_id": s.opts.BotUserID, "bot_id": s.opts.BotID,
		})
	case "apps.connections.open":
		return ok(map[string]any{"url": "ws" + strings.TrimPrefix(s.URL(), "http") + "/socket"})
	case "chat.postMessage":
		return s.postMessageLocked(p, now)
	case "chat.update":
		return s.updateLocked(p, now)
	case "chat.postEphemeral":
		return s.postEphemeralLocked(p, now)
	case "chat.startStream":
		return s.startStreamLocked(p, now)
	case "chat.appendStream":
		return s.appendStreamLocked(p, now)
	case "chat.stopStream":
		return s.stopStreamLocked(p, now)
	case "assistant.threads.setStatus":
		return s.setStatusLocked(p, now)
	case "views.open":
		return s.openViewLocked(p, now)
	case "users.info":
		return s.userInfoLocked(p)
	case "conversations.replies":
		return s.repliesLocked(p)
	case "conversations.history":
		return s.historyLocked(p)
	case "chat.getPermalink":
		return s.permalinkLocked(p)
	case "usergroups.users.list":
		return s.groupMembersLocked(p)
	case "conversations.info":
		return s.conversationInfoLocked(p)
	}
	return fail("unknown_method")
}

// readParams decodes a form or JSON body the way Slack accepts both, and
// returns the token from the body or the Authorization header.
func readParams(r *http.Request) (url.Values, string, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, "", fmt.Errorf("read body: %w", err)
		}
		vals, err := flattenJSON(body)
		return vals, bearer(r), err
	}
	if err := r.ParseForm(); err != nil {
		return nil, "", fmt.Errorf("parse form: %w", err)
	}
	vals := r.Form
	token := vals.Get("token")
	if token == "" {
		token = bearer(r)
	}
	vals.Del("token")
	return vals, token, nil
}

// flattenJSON turns a JSON object into parameters: strings stay strings,
// anything else keeps its JSON text (as Slack reads "blocks" either way).
func flattenJSON(body []byte) (url.Values, error) {
	vals := url.Values{}
	if len(strings.TrimSpace(string(body))) == 0 {
		return vals, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("decode json body: %w", err)
	}
	for k, raw := range obj {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			vals.Set(k, str)
			continue
		}
		vals.Set(k, string(raw))
	}
	return vals, nil
}

// loseAnswer closes the connection of a request without answering it.
func loseAnswer(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func writeAnswer(w http.ResponseWriter, a answer) {
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	if a.status != http.StatusOK && a.body == nil {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, "<html><body>slacktest: "+http.StatusText(a.status)+"</body></html>")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(a.status)
	_ = json.NewEncoder(w).Encode(a.body)
}

// retryAfterSeconds renders a pause as a whole number of seconds, rounded up.
func retryAfterSeconds(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	return strconv.Itoa(max(secs, 1))
}
