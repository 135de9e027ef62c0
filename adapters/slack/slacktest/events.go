package slacktest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// UserMessage describes a message a person writes, for building the events
// Slack sends about it.
type UserMessage struct {
	User, Channel, Text string
	// TS is the message's timestamp; ThreadTS its thread's, if any.
	TS, ThreadTS string
	// ChannelType is "channel" when empty; "im" for a DM.
	ChannelType string
	// SubType and BotID are set on bot messages, edits, broadcasts, file shares.
	SubType, BotID string
	Files          []File
}

func (m UserMessage) fields(typ string) map[string]any {
	ev := map[string]any{"type": typ, "user": m.User, "text": m.Text, "ts": m.TS,
		"channel": m.Channel, "event_ts": m.TS, "client_msg_id": "cm-" + m.TS}
	if m.ThreadTS != "" {
		ev["thread_ts"] = m.ThreadTS
	}
	if m.SubType != "" {
		ev["subtype"] = m.SubType
	}
	if m.BotID != "" {
		ev["bot_id"] = m.BotID
	}
	if len(m.Files) > 0 {
		ev["files"] = m.Files
		ev["upload"] = true
	}
	return ev
}

// Mention is the app_mention event of the message.
func (m UserMessage) Mention() map[string]any { return m.fields("app_mention") }

// Message is the message event of the message (message.channels or message.im).
func (m UserMessage) Message() map[string]any {
	ev := m.fields("message")
	ct := m.ChannelType
	if ct == "" {
		ct = "channel"
	}
	ev["channel_type"] = ct
	return ev
}

// Reaction is a reaction_added event on the message at channel/ts.
func Reaction(user, name, channel, ts string) map[string]any {
	return map[string]any{"type": "reaction_added", "user": user, "reaction": name,
		"item":     map[string]any{"type": "message", "channel": channel, "ts": ts},
		"event_ts": ts}
}

// Callback is an Events API event_callback body and its event_id.
type Callback struct {
	EventID string
	Body    []byte
}

// Callback wraps an inner event into an event_callback body with a fresh event_id.
func (s *Server) Callback(event map[string]any) Callback {
	s.mu.Lock()
	s.noteUserMessageLocked(event)
	s.seq++
	id := "Ev" + strconv.FormatInt(s.seq, 10)
	s.mu.Unlock()
	body, _ := json.Marshal(map[string]any{
		"token": "verification-token", "team_id": s.opts.TeamID, "api_app_id": "AKIMIBOT",
		"event": event, "type": "event_callback", "event_id": id, "event_time": time.Now().Unix(),
		"authorizations": []map[string]any{{"team_id": s.opts.TeamID, "user_id": s.opts.BotUserID, "is_bot": true}},
	})
	return Callback{EventID: id, Body: body}
}

// SlashCommand is an invocation of a slash command.
type SlashCommand struct {
	Command, Text          string
	ChannelID, UserID      string
	TriggerID, ResponseURL string
}

func (c SlashCommand) fields(team string) map[string]string {
	return map[string]string{"token": "verification-token", "team_id": team, "team_domain": "kimibot-test",
		"channel_id": c.ChannelID, "channel_name": "general", "user_id": c.UserID, "user_name": "someone",
		"command": c.Command, "text": c.Text, "response_url": c.ResponseURL, "trigger_id": c.TriggerID,
		"api_app_id": "AKIMIBOT"}
}

// Form is the slash command as Slack posts it to a Request URL.
func (s *Server) Form(c SlashCommand) []byte {
	vals := url.Values{}
	for k, v := range c.fields(s.opts.TeamID) {
		vals.Set(k, v)
	}
	return []byte(vals.Encode())
}

// Sign returns the X-Slack-Signature of body sent at the Unix time ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// SignedRequest builds a request as Slack sends it to an app's Request URL,
// signed with secret at time at. contentType is "application/json" for
// events and "application/x-www-form-urlencoded" for commands and interactions.
func SignedRequest(ctx context.Context, target, secret string, at time.Time, contentType string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("X-Slack-Signature", Sign(secret, at.Unix(), body))
	return req, nil
}

// PostEvent delivers an Events API body to an app's events URL as Slack
// does: signed with secret now, and with X-Slack-Retry-Num and
// X-Slack-Retry-Reason when retry is above zero. It returns the HTTP status.
func PostEvent(ctx context.Context, eventsURL, secret string, body []byte, retry int) (int, error) {
	req, err := SignedRequest(ctx, eventsURL, secret, time.Now(), "application/json", body)
	if err != nil {
		return 0, err
	}
	if retry > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post event: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// InteractionForm is an interactivity payload as Slack posts it: a form
// with one "payload" field holding the JSON.
func InteractionForm(payload []byte) []byte {
	return []byte("payload=" + url.QueryEscape(string(payload)))
}

// PostSlashCommand posts the command to an app's Request URL as Slack
// does, signed with secret now, and returns the app's answer.
func (s *Server) PostSlashCommand(ctx context.Context, commandsURL, secret string, c SlashCommand) (Ack, error) {
	return postForm(ctx, commandsURL, secret, s.Form(c))
}

// PostInteraction posts an interactivity payload (from Click or Submit)
// to an app's Request URL as Slack does, and returns the app's answer.
func PostInteraction(ctx context.Context, interactionsURL, secret string, payload []byte) (Ack, error) {
	return postForm(ctx, interactionsURL, secret, InteractionForm(payload))
}

func postForm(ctx context.Context, target, secret string, body []byte) (Ack, error) {
	req, err := SignedRequest(ctx, target, secret, time.Now(), "application/x-www-form-urlencoded", body)
	if err != nil {
		return Ack{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Ack{}, fmt.Errorf("post %s: %w", target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	ack := Ack{Time: time.Now(), Status: resp.StatusCode, Body: data}
	if err != nil {
		return ack, fmt.Errorf("read answer of %s: %w", target, err)
	}
	return ack, nil
}
