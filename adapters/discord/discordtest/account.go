package discordtest

import (
	"net/http"
	"strconv"
)

// The routes about the bot's own application and account.
const (
	routeApplicationMe = "GET /applications/@me"
	routeMyGuilds      = "GET /users/@me/guilds"
	routeGetUser       = "GET /users/{id}"
)

// The application flags of the message content intent: the intent of a
// verified app, and the toggle of an unverified one in the developer portal.
const (
	FlagGatewayMessageContent        = 1 << 18
	FlagGatewayMessageContentLimited = 1 << 19
)

// application is the application object of GET /applications/@me.
type application struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	BotPublic   bool   `json:"bot_public"`
	Bot         User   `json:"bot"`
	Flags       int    `json:"flags"`
}

// partialGuild is a guild as GET /users/@me/guilds lists it.
type partialGuild struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Icon        *string  `json:"icon"`
	Owner       bool     `json:"owner"`
	Permissions string   `json:"permissions"`
	Features    []string `json:"features"`
}

// accountRoute reports whether key is one of the account routes.
func accountRoute(key string) bool {
	return key == routeApplicationMe || key == routeMyGuilds || key == routeGetUser
}

// handleAccount serves the account routes.
func (s *Server) handleAccount(w http.ResponseWriter, rt route) {
	switch rt.name {
	case routeApplicationMe:
		flags := FlagGatewayMessageContentLimited
		if s.opts.DenyMessageContent {
			flags = 0
		}
		writeJSON(w, application{ID: s.opts.AppID, Name: s.opts.BotName, Bot: s.botUser(), Flags: flags})
	case routeMyGuilds:
		s.mu.Lock()
		guilds := make([]partialGuild, 0, len(s.guilds))
		for i, id := range s.guilds {
			guilds = append(guilds, partialGuild{ID: id, Name: "Guild " + strconv.Itoa(i+1), Permissions: "0",
				Features: []string{}})
		}
		s.mu.Unlock()
		writeJSON(w, guilds)
	case routeGetUser:
		s.mu.Lock()
		u, ok := s.users[rt.ids[0]]
		if rt.ids[0] == s.opts.BotID {
			u, ok = s.botUser(), true
		}
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, 10013, "Unknown User")
			return
		}
		writeJSON(w, u)
	}
}
