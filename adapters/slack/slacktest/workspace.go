package slacktest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// DefaultScopes are the bot scopes the fake grants unless Options.Scopes
// says otherwise: the ones deploy/slack-app-manifest.yaml asks for.
var DefaultScopes = []string{"app_mentions:read", "assistant:write", "channels:history", "groups:history",
	"im:history", "mpim:history", "chat:write", "commands", "files:read", "reactions:read", "users:read",
	"usergroups:read"}

// setScopes sends the granted scopes in X-OAuth-Scopes, as Slack does on
// every answer to a call made with a bot token.
func (s *Server) setScopes(w http.ResponseWriter, token string) {
	if token == s.opts.BotToken {
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.opts.Scopes, ","))
	}
}

// AddChannel registers a conversation that conversations.info knows.
func (s *Server) AddChannel(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels == nil {
		s.channels = map[string]string{}
	}
	s.channels[id] = name
}

// conversationInfoLocked serves conversations.info for registered
// channels; like Slack it needs channels:read or groups:read.
func (s *Server) conversationInfoLocked(p url.Values) reply {
	id := p.Get("channel")
	if !slices.Contains(s.opts.Scopes, "channels:read") && !slices.Contains(s.opts.Scopes, "groups:read") {
		return fail("missing_scope")
	}
	name, known := s.channels[id]
	if !known {
		return fail("channel_not_found")
	}
	return ok(map[string]any{"channel": map[string]any{"id": id, "name": name, "is_channel": true,
		"is_member": true, "is_archived": false}})
}
