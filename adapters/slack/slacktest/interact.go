package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Slack's limits on interactivity, as the fake enforces them.
const (
	// ResponseURLUses is how many times a response_url may be used, and
	// ResponseURLLifetime for how long.
	ResponseURLUses     = 5
	ResponseURLLifetime = 30 * time.Minute
)

// trigger is a trigger_id the fake handed out with an interaction.
type trigger struct {
	user   string
	issued time.Time
	used   bool
}

// responseURL is a response_url the fake handed out.
type responseURL struct {
	channel, user string
	created       time.Time
	uses          int
}

// Response is a message an app sent to a response_url.
type Response struct {
	URL  string
	Time time.Time
	// ResponseType is "ephemeral" (the default) or "in_channel".
	ResponseType string
	// Text is the text field; Markdown what the blocks show.
	Text, Markdown                  string
	ReplaceOriginal, DeleteOriginal bool
	// Channel and User are those of the command or click the URL came with.
	Channel, User string
}

// Shown is what the reader sees: the blocks' text, else the text field.
func (r Response) Shown() string {
	if r.Markdown != "" {
		return r.Markdown
	}
	return r.Text
}

// Ack is how an app answered an HTTP delivery, as Slack saw it.
type Ack struct {
	Time   time.Time
	Status int
	Body   []byte
}

// newTriggerLocked hands out a trigger_id for an interaction by user.
func (s *Server) newTriggerLocked(user string, now time.Time) string {
	s.seq++
	id := fmt.Sprintf("%d.%d.%x", s.base, s.seq, s.seq*7919)
	s.triggers[id] = &trigger{user: user, issued: now}
	return id
}

// newResponseURLLocked hands out a response_url for a command or click.
func (s *Server) newResponseURLLocked(channel, user string, now time.Time) string {
	s.seq++
	id := "R" + strconv.FormatInt(s.seq, 10)
	s.responses[id] = &responseURL{channel: channel, user: user, created: now}
	return s.URL() + "/respond/" + id
}

// useTriggerLocked checks a trigger_id for views.open and uses it up.
func (s *Server) useTriggerLocked(id string, now time.Time) (*trigger, string) {
	t, ok := s.triggers[id]
	switch {
	case !ok:
		return nil, "invalid_trigger_id"
	case t.used:
		return nil, "exchanged_trigger_id"
	case now.Sub(t.issued) > s.opts.TriggerTimeout:
		return nil, "expired_trigger_id"
	}
	t.used = true
	return t, ""
}

// Slash returns an invocation of /kimi by user in channel, with a fresh
// trigger_id and response_url, for PushSlashCommand or PostSlashCommand.
func (s *Server) Slash(user, channel, text string) SlashCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	return SlashCommand{Command: "/kimi", Text: text, ChannelID: channel, UserID: user,
		TriggerID: s.newTriggerLocked(user, now), ResponseURL: s.newResponseURLLocked(channel, user, now)}
}

// serveResponse receives a message sent to a response_url.
func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var msg struct {
		ResponseType    string          `json:"response_type"`
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ReplaceOriginal bool            `json:"replace_original"`
		DeleteOriginal  bool            `json:"delete_original"`
	}
	if err != nil || json.Unmarshal(body, &msg) != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	s.waitHold(r.Context(), ResponseURLs)
	status, text := s.recordResponse(r.PathValue("id"), msg.ResponseType, msg.Text, string(msg.Blocks),
		msg.ReplaceOriginal, msg.DeleteOriginal)
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// recordResponse checks and records one use of a response_url.
func (s *Server) recordResponse(id, typ, text, blocks string, replace, remove bool) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	u, ok := s.responses[id]
	switch {
	case !ok:
		return http.StatusNotFound, "no_service"
	case now.Sub(u.created) > ResponseURLLifetime:
		return http.StatusNotFound, "expired_url"
	case u.uses >= ResponseURLUses:
		return http.StatusNotFound, "used_url"
	case typ != "" && typ != "ephemeral" && typ != "in_channel":
		return http.StatusBadRequest, "invalid_payload"
	}
	if blocks == "null" {
		blocks = ""
	}
	shown, code := parseBlocks(blocks)
	if code != "" || (text == "" && blocks == "" && !remove) {
		return http.StatusBadRequest, "invalid_blocks"
	}
	u.uses++
	if typ == "" {
		typ = "ephemeral"
	}
	s.answers = append(s.answers, Response{URL: s.URL() + "/respond/" + id, Time: now, ResponseType: typ,
		Text: text, Markdown: shown.markdown, ReplaceOriginal: replace, DeleteOriginal: remove,
		Channel: u.channel, User: u.user})
	s.notifyLocked()
	return http.StatusOK, "ok"
}

// Responses returns the messages sent to a response_url ("" for every
// one), in arrival order.
func (s *Server) Responses(url string) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Response
	for _, r := range s.answers {
		if url == "" || r.URL == url {
			out = append(out, r)
		}
	}
	return out
}

// WaitResponses waits until n messages arrived at url and returns them.
func (s *Server) WaitResponses(ctx context.Context, url string, n int) ([]Response, error) {
	var got []Response
	err := s.Wait(ctx, func() bool {
		got = s.Responses(url)
		return len(got) >= n
	})
	if err != nil {
		return got, fmt.Errorf("%d of %d responses at %s: %w", len(got), n, url, err)
	}
	return got, nil
}

// EphemeralsFor returns the ephemeral messages user saw.
func (s *Server) EphemeralsFor(user string) []Ephemeral {
	var out []Ephemeral
	for _, e := range s.Ephemerals() {
		if e.User == user {
			out = append(out, e)
		}
	}
	return out
}

// userFieldsLocked is the "user" object of an interaction payload.
func (s *Server) userFieldsLocked(id string) map[string]any {
	name := strings.ToLower(id)
	if u, ok := s.users[id]; ok && u.Name != "" {
		name = u.Name
	}
	return map[string]any{"id": id, "username": name, "name": name, "team_id": s.opts.TeamID}
}

// Click is a person pressing a button of a bot message: it returns the
// block_actions payload Slack sends for it, with a fresh trigger_id and
// response_url, for PushInteraction or PostInteraction.
func (s *Server) Click(user, channel, ts, actionID string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[channel+"/"+ts]
	if !ok {
		return nil, fmt.Errorf("click %s: no message %s/%s", actionID, channel, ts)
	}
	b, ok := m.Button(actionID)
	if !ok {
		return nil, fmt.Errorf("click %s: message %s/%s has no such button", actionID, channel, ts)
	}
	now := time.Now()
	msg := s.wireLocked(m)
	msg["blocks"] = m.Blocks
	action := map[string]any{"type": "button", "action_id": b.ActionID, "block_id": b.BlockID, "value": b.Value,
		"text": map[string]any{"type": "plain_text", "text": b.Text, "emoji": true}, "action_ts": s.nextTSLocked()}
	if b.Style != "" {
		action["style"] = b.Style
	}
	return json.Marshal(map[string]any{
		"type": "block_actions", "user": s.userFieldsLocked(user), "api_app_id": "AKIMIBOT", "token": "verification-token",
		"container":  map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"trigger_id": s.newTriggerLocked(user, now), "team": map[string]any{"id": s.opts.TeamID, "domain": "kimibot-test"},
		"channel": map[string]any{"id": channel, "name": "review"}, "message": msg, "state": map[string]any{"values": map[string]any{}},
		"response_url": s.newResponseURLLocked(channel, user, now), "actions": []any{action},
	})
}
