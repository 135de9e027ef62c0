package discordtest

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestAccountRoutes(t *testing.T) {
	for _, deny := range []bool{false, true} {
		s := NewServer(t, Options{DenyMessageContent: deny})
		resp, body := post(t, s, http.MethodGet, "/applications/@me", s.Token(), nil)
		var app struct {
			ID    string `json:"id"`
			Flags int    `json:"flags"`
		}
		if err := json.Unmarshal(body, &app); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /applications/@me: %d %s", resp.StatusCode, body)
		}
		if on := app.Flags&(FlagGatewayMessageContent|FlagGatewayMessageContentLimited) != 0; on == deny {
			t.Errorf("deny %v: flags %b", deny, app.Flags)
		}
	}
	s := NewServer(t, Options{})
	s.AddGuild()
	s.AddGuild()
	resp, body := post(t, s, http.MethodGet, "/users/@me/guilds", s.Token(), nil)
	var guilds []partialGuild
	if err := json.Unmarshal(body, &guilds); err != nil || resp.StatusCode != http.StatusOK || len(guilds) != 2 {
		t.Fatalf("GET /users/@me/guilds: %d %s", resp.StatusCode, body)
	}
	u := s.AddUser("ada", false)
	if resp, body := post(t, s, http.MethodGet, "/users/"+u.ID, s.Token(), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /users/{id}: %d %s", resp.StatusCode, body)
	}
	if resp, _ := post(t, s, http.MethodGet, "/users/999999999999999999", s.Token(), nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET unknown user: %d, want 404", resp.StatusCode)
	}
	if resp, _ := post(t, s, http.MethodGet, "/applications/@me", "wrong", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d, want 401", resp.StatusCode)
	}
}
