package discordtest

import (
	"encoding/json"
	"net/http"
	"time"
)

// The interaction types, as Discord numbers them.
const (
	InteractionCommand      = 2
	InteractionComponent    = 3
	InteractionAutocomplete = 4
	InteractionModalSubmit  = 5
)

// The interaction callback types, as Discord numbers them.
const (
	CallbackMessage         = 4
	CallbackDeferredMessage = 5
	CallbackDeferredUpdate  = 6
	CallbackUpdateMessage   = 7
	CallbackAutocomplete    = 8
	CallbackModal           = 9
)

// Discord's interaction deadlines.
const (
	// InteractionAckDeadline is the time to send the initial response.
	InteractionAckDeadline = 3 * time.Second
	// InteractionTokenLifetime is how long edits and follow-ups may use the token.
	InteractionTokenLifetime = 15 * time.Minute
)

// InteractionIn is an interaction a user makes, for SendInteraction.
type InteractionIn struct {
	// Type is InteractionCommand, InteractionComponent, ...
	Type    int
	Channel string
	User    User
	// Data is the interaction's "data" object as Discord sends it, for
	// example {"name":"model","type":1,"options":[...]} for a command.
	Data any
	// Message is, for components and forms opened from them, the ID of
	// the message the component is on.
	Message string
	// Roles are the user's role IDs in the channel's guild.
	Roles []string
}

// Interaction is an interaction the fake dispatched and how the bot answered.
type Interaction struct {
	ID, Token  string
	Type       int
	ChannelID  string
	GuildID    string
	User       User
	Roles      []string
	Dispatched time.Time
	// CallbackType is the initial response's type (0 while unanswered).
	CallbackType int
	CallbackAt   time.Time
	// Callback is the initial response's "data" object, verbatim.
	Callback json.RawMessage
	// Original is the ID of the original response message, if any.
	Original string
	// OriginalDeleted is set when the bot deleted the original response.
	OriginalDeleted bool
	// Edits are the edits of the original response, in order.
	Edits []Edit
	// Followups are the IDs of follow-up messages.
	Followups []string
	// message is the component's message.
	message string
	// event is the INTERACTION_CREATE payload, for replays.
	event map[string]any
	// submitted is set once the modal shown in answer was submitted.
	submitted bool
}

// Edit is an edit of an interaction's original response.
type Edit struct {
	At      time.Time
	Content string
}

// callback is the body of POST /interactions/{id}/{token}/callback.
type callback struct {
	Type int `json:"type"`
	Data struct {
		Content    string          `json:"content"`
		Flags      int             `json:"flags"`
		Components json.RawMessage `json:"components"`
		Embeds     []Embed         `json:"embeds"`
	} `json:"data"`
}

// SendInteraction dispatches INTERACTION_CREATE and returns the interaction.
func (s *Server) SendInteraction(in InteractionIn) Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendInteractionLocked(in)
}

func (s *Server) sendInteractionLocked(in InteractionIn) Interaction {
	ch := s.channels[in.Channel]
	roles := in.Roles
	if roles == nil {
		roles = []string{}
	}
	it := &Interaction{ID: s.ids.next(), Token: "itoken-" + randomHex(24), Type: in.Type, ChannelID: in.Channel,
		GuildID: ch.GuildID, User: in.User, Roles: roles, Dispatched: time.Now(), message: in.Message}
	s.inter[it.ID] = it
	ev := map[string]any{"id": it.ID, "application_id": s.opts.AppID, "type": in.Type, "token": it.Token, "version": 1,
		"channel_id": in.Channel, "channel": ch.Channel, "data": in.Data, "locale": "en-US", "app_permissions": "0"}
	if ch.GuildID != "" {
		ev["guild_id"] = ch.GuildID
		ev["member"] = map[string]any{"user": in.User, "roles": roles, "permissions": "0"}
	} else {
		ev["user"] = in.User
	}
	if m, ok := s.messages[in.Message]; ok {
		ev["message"] = s.fetchedLocked(m)
	}
	it.event = ev
	s.dispatchLocked("INTERACTION_CREATE", ch.GuildID, 0, ev)
	s.bumpLocked()
	return it.snapshot()
}

// ReplayInteraction dispatches an interaction again with the same ID and
// token, as a redelivery would.
func (s *Server) ReplayInteraction(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.inter[id]
	s.dispatchLocked("INTERACTION_CREATE", it.GuildID, 0, it.event)
	s.bumpLocked()
}

// InteractionState returns an interaction with the answers received so far.
func (s *Server) InteractionState(id string) Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inter[id].snapshot()
}

// snapshot copies an interaction for callers outside the lock.
func (it *Interaction) snapshot() Interaction {
	c := *it
	c.Followups = append([]string(nil), it.Followups...)
	c.Edits = append([]Edit(nil), it.Edits...)
	c.Roles = append([]string(nil), it.Roles...)
	c.event = nil
	return c
}

// ModalShown returns the modal an interaction was answered with.
func (s *Server) ModalShown(id string) (Modal, bool) {
	it := s.InteractionState(id)
	if it.CallbackType != CallbackModal {
		return Modal{}, false
	}
	m, _ := parseModal(it.Callback)
	return m, true
}

func (s *Server) interactionByToken(token string) *Interaction {
	for _, it := range s.inter {
		if it.Token == token {
			return it
		}
	}
	return nil
}

// handleWebhook serves the interaction callback and webhook routes.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request, rt route, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.bumpLocked()
	it := s.interactionByToken(rt.ids[1])
	switch {
	case it == nil:
		writeError(w, http.StatusNotFound, 10015, "Unknown Webhook")
	case rt.name == routeCallback:
		s.callbackLocked(w, it, rt.ids[0], body)
	case time.Since(it.Dispatched) > InteractionTokenLifetime:
		writeError(w, http.StatusUnauthorized, 50027, "Invalid Webhook Token")
	case it.CallbackType == 0 || rt.ids[0] != s.opts.AppID:
		writeError(w, http.StatusNotFound, 10015, "Unknown Webhook")
	case rt.name == routeFollowup:
		s.followupLocked(w, r, it, body)
	case rt.name == routeDeleteOriginal:
		s.deleteOriginalLocked(w, it)
	case rt.name == routeGetOriginal, rt.name == routeEditOriginal:
		s.originalLocked(w, rt, it, it.Original, body)
	default:
		s.originalLocked(w, rt, it, rt.ids[2], body)
	}
}

func (s *Server) callbackLocked(w http.ResponseWriter, it *Interaction, id string, body []byte) {
	var cb callback
	var raw struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &cb) != nil || json.Unmarshal(body, &raw) != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	switch {
	case id != it.ID || time.Since(it.Dispatched) > InteractionAckDeadline:
		writeError(w, http.StatusNotFound, 10062, "Unknown interaction")
		return
	case it.CallbackType != 0:
		writeError(w, http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
		return
	case !callbackAllowed(it.Type, cb.Type):
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: type: Invalid interaction response type")
		return
	case cb.Type == CallbackAutocomplete && choicesProblem(raw.Data) != "":
		invalid(w, choicesProblem(raw.Data))
		return
	case cb.Type == CallbackModal:
		if _, p := parseModal(raw.Data); p != "" {
			invalid(w, p)
			return
		}
	}
	if !s.applyCallbackLocked(w, it, cb) {
		return
	}
	it.CallbackType, it.CallbackAt, it.Callback = cb.Type, time.Now(), raw.Data
	w.WriteHeader(http.StatusNoContent)
}

// callbackAllowed reports whether a callback type answers an interaction type.
func callbackAllowed(interaction, cb int) bool {
	switch cb {
	case CallbackMessage, CallbackDeferredMessage:
		return interaction != InteractionAutocomplete
	case CallbackDeferredUpdate, CallbackUpdateMessage:
		return interaction == InteractionComponent || interaction == InteractionModalSubmit
	case CallbackAutocomplete:
		return interaction == InteractionAutocomplete
	case CallbackModal:
		return interaction == InteractionCommand || interaction == InteractionComponent
	}
	return false
}

// applyCallbackLocked creates or updates the original response message.
func (s *Server) applyCallbackLocked(w http.ResponseWriter, it *Interaction, cb callback) bool {
	switch cb.Type {
	case CallbackMessage, CallbackDeferredMessage:
		if cb.Type == CallbackMessage && !checkMessage(w, cb.Data.Content, cb.Data.Components, cb.Data.Embeds) {
			return false
		}
		m := &Message{ID: s.ids.next(), ChannelID: it.ChannelID, GuildID: it.GuildID, Author: s.botUser(),
			Content: cb.Data.Content, Timestamp: time.Now().UTC(), Flags: cb.Data.Flags, Components: cb.Data.Components}
		s.storeMessageLocked(m)
		it.Original = m.ID
	case CallbackDeferredUpdate, CallbackUpdateMessage:
		m, ok := s.messages[it.message]
		if !ok {
			writeError(w, http.StatusNotFound, 10008, "Unknown Message")
			return false
		}
		if cb.Type == CallbackUpdateMessage {
			if componentProblem(cb.Data.Components) != "" {
				invalid(w, componentProblem(cb.Data.Components))
				return false
			}
			m.Content, m.Edits = cb.Data.Content, m.Edits+1
			if cb.Data.Components != nil {
				m.Components = cb.Data.Components
			}
		}
		it.Original = m.ID
	}
	return true
}

// webhookMessage is the body of webhook executes and edits.
type webhookMessage struct {
	Content    *string         `json:"content"`
	Flags      int             `json:"flags"`
	Components json.RawMessage `json:"components"`
}

func (s *Server) followupLocked(w http.ResponseWriter, r *http.Request, it *Interaction, body []byte) {
	var req webhookMessage
	_ = json.Unmarshal(body, &req)
	content := ""
	if req.Content != nil {
		content = *req.Content
	}
	if !checkMessage(w, content, req.Components, nil) {
		return
	}
	m := &Message{ID: s.ids.next(), ChannelID: it.ChannelID, GuildID: it.GuildID, Author: s.botUser(),
		Content: content, Timestamp: time.Now().UTC(), Flags: req.Flags, Components: req.Components}
	s.storeMessageLocked(m)
	it.Followups = append(it.Followups, m.ID)
	if r.URL.Query().Get("wait") != "true" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, m)
}

func (s *Server) originalLocked(w http.ResponseWriter, rt route, it *Interaction, id string, body []byte) {
	m, ok := s.messages[id]
	if !ok || m.ChannelID != it.ChannelID {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	if rt.name == routeGetOriginal {
		writeJSON(w, m)
		return
	}
	var req webhookMessage
	_ = json.Unmarshal(body, &req)
	next := *m
	if req.Content != nil {
		next.Content = *req.Content
	}
	if req.Components != nil {
		next.Components = req.Components
	}
	if !checkMessage(w, next.Content, next.Components, next.Embeds) {
		return
	}
	m.Content, m.Components = next.Content, next.Components
	now := time.Now().UTC()
	m.EditedTimestamp, m.Edits = &now, m.Edits+1
	if rt.name == routeEditOriginal {
		it.Edits = append(it.Edits, Edit{At: now, Content: m.Content})
	}
	writeJSON(w, m)
}

func (s *Server) deleteOriginalLocked(w http.ResponseWriter, it *Interaction) {
	if _, ok := s.messages[it.Original]; !ok {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	delete(s.messages, it.Original)
	it.OriginalDeleted = true
	w.WriteHeader(http.StatusNoContent)
}
