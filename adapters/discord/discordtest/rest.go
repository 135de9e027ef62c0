package discordtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// The route templates the fake serves.
const (
	routeGateway           = "GET /gateway"
	routeGatewayBot        = "GET /gateway/bot"
	routeMe                = "GET /users/@me"
	routeCreateDM          = "POST /users/@me/channels"
	routeGetChannel        = "GET /channels/{id}"
	routeTyping            = "POST /channels/{id}/typing"
	routeCreateMessage     = "POST /channels/{id}/messages"
	routeListMessages      = "GET /channels/{id}/messages"
	routeGetMessage        = "GET /channels/{id}/messages/{id}"
	routeEditMessage       = "PATCH /channels/{id}/messages/{id}"
	routeDeleteMessage     = "DELETE /channels/{id}/messages/{id}"
	routeThreadFromMessage = "POST /channels/{id}/messages/{id}/threads"
	routeCreateThread      = "POST /channels/{id}/threads"
	routeCallback          = "POST /interactions/{id}/{token}/callback"
	routeGetOriginal       = "GET /webhooks/{id}/{token}/messages/@original"
	routeEditOriginal      = "PATCH /webhooks/{id}/{token}/messages/@original"
	routeDeleteOriginal    = "DELETE /webhooks/{id}/{token}/messages/@original"
	routeFollowup          = "POST /webhooks/{id}/{token}"
	routeEditFollowup      = "PATCH /webhooks/{id}/{token}/messages/{id}"
	routeGlobalCommands    = "PUT /applications/{id}/commands"
	routeGuildCommands     = "PUT /applications/{id}/guilds/{id}/commands"
)

// The route names of REST calls, for matching Call.Route and Fault.Route.
const (
	RouteCreateMessage     = routeCreateMessage
	RouteEditMessage       = routeEditMessage
	RouteTyping            = routeTyping
	RouteThreadFromMessage = routeThreadFromMessage
	RouteGetChannel        = routeGetChannel
	RouteCallback          = routeCallback
	RouteEditOriginal      = routeEditOriginal
	RouteDeleteOriginal    = routeDeleteOriginal
	RouteFollowup          = routeFollowup
	RouteListMessages      = routeListMessages
	RouteGlobalCommands    = routeGlobalCommands
	RouteGuildCommands     = routeGuildCommands
)

// MaxContent is Discord's limit on message content, in characters.
const MaxContent = 2000

// route is a classified REST request.
type route struct {
	name    string
	channel string
	// ids are the path parameters in order.
	ids []string
	// webhook routes are authorised by the token in the path and are not
	// counted against the global limit.
	webhook bool
	bucket  string
}

// classify maps a method and a path below the API version to a route.
func classify(method, path string) route {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	key := method + " /" + templatePath(seg)
	rt := route{name: key, ids: params(seg)}
	switch key {
	case routeGateway, routeGatewayBot, routeMe, routeCreateDM, routeGetChannel, routeGetMessage, routeListMessages:
		rt.bucket = "other"
	case routeApplicationMe, routeMyGuilds, routeGetUser:
		rt.bucket = "other"
	case routeGlobalCommands, routeGuildCommands:
		rt.bucket = "commands"
	case routeTyping:
		rt.bucket = "typing"
	case routeCreateMessage, routeEditMessage, routeDeleteMessage:
		rt.bucket = "messages"
	case routeThreadFromMessage, routeCreateThread:
		rt.bucket = "threads"
	case routeCallback, routeGetOriginal, routeEditOriginal, routeDeleteOriginal, routeFollowup, routeEditFollowup:
		rt.bucket, rt.webhook = "webhook", true
	default:
		return route{}
	}
	if seg[0] == "channels" {
		rt.channel = seg[1]
	}
	return rt
}

// templatePath replaces IDs and tokens in a path with {id} and {token}.
func templatePath(seg []string) string {
	out := make([]string, len(seg))
	for i, p := range seg {
		switch {
		case i == 0, literalSegment(p):
			out[i] = p
		case i == 2 && (seg[0] == "interactions" || seg[0] == "webhooks"):
			out[i] = "{token}"
		default:
			out[i] = "{id}"
		}
	}
	return strings.Join(out, "/")
}

// literalSegment reports whether a path segment is part of a route's
// name rather than a parameter.
func literalSegment(p string) bool {
	switch p {
	case "@me", "@original", "messages", "threads", "typing", "callback", "channels", "bot", "commands", "guilds":
		return true
	}
	return false
}

func params(seg []string) []string {
	var ids []string
	for i, p := range seg {
		if i > 0 && !strings.HasPrefix(p, "@") && !literalSegment(p) {
			ids = append(ids, p)
		}
	}
	return ids
}

// bucketFor returns the limits of a route's bucket.
func (s *Server) bucketFor(rt route) bucketLimit {
	switch rt.bucket {
	case "messages":
		return bucketLimit{hash: "80c17d2f203122d936070c88c8d10f33", limit: s.opts.MessageLimit, window: s.opts.MessageWindow}
	case "typing":
		return bucketLimit{hash: "3e1a4b8c0d9f27a6e5b4c3d2f1a09b8c", limit: s.opts.MessageLimit, window: s.opts.MessageWindow}
	case "threads":
		return bucketLimit{hash: "c6f1e7d8a9b0c1d2e3f4a5b6c7d8e9f0", limit: s.opts.MessageLimit, window: s.opts.MessageWindow}
	case "webhook":
		return bucketLimit{hash: "5a7d1f3b9c2e4a6d8f0b1c3e5a7d9f1b", limit: 50, window: s.opts.MessageWindow}
	}
	return bucketLimit{hash: "41f9cd5d28af77da04563bcb1d67fdfd", limit: 50, window: s.opts.MessageWindow}
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status and writes it.
func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

var versionPrefix = regexp.MustCompile(`^/api/v\d+`)

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	path := versionPrefix.ReplaceAllString(r.URL.Path, "")
	body := readBody(r)
	rt := classify(r.Method, path)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	var adm admission
	defer func() {
		if !adm.at.IsZero() {
			now = adm.at
		}
		s.record(Call{Time: now, Method: r.Method, Path: path, Route: rt.name, Channel: rt.channel, Status: rec.status,
			Counted: adm.counted, Body: string(body[:min(len(body), 64<<10)])})
	}()
	switch {
	case rt.name == "":
		writeError(rec, http.StatusNotFound, 0, "404: Not Found")
	case !rt.webhook && r.Header.Get("Authorization") != "Bot "+s.opts.Token:
		writeError(rec, http.StatusUnauthorized, 0, "401: Unauthorized")
	default:
		adm = s.admit(rec, rt)
		switch {
		case adm.lost != nil:
			s.handle(httptest.NewRecorder(), r, rt, body)
			writeFault(rec, adm.lost, s.bucketFor(rt), adm.at)
		case adm.ok:
			s.handle(rec, r, rt, body)
		}
	}
}

// writeFault answers with an injected error.
func writeFault(w http.ResponseWriter, f *Fault, lim bucketLimit, now time.Time) {
	if f.Status == http.StatusTooManyRequests {
		setRateHeaders(w.Header(), lim, 0, f.RetryAfter, now)
		writeTooMany(w, f.RetryAfter, false, "user")
		return
	}
	writeError(w, f.Status, 0, http.StatusText(f.Status))
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	s.stats.Requests++
	if c.Status == http.StatusTooManyRequests {
		s.stats.RateLimited++
	}
	s.bumpLocked()
}

// admission is the outcome of admit.
type admission struct {
	// ok means the request may proceed.
	ok bool
	// counted means the request took a slot of its bucket.
	counted bool
	// lost is a lost-response fault: carry the request out, then answer
	// with the fault.
	lost *Fault
	// at is when the limits were checked, in the order requests were admitted.
	at time.Time
}

// admit applies faults, the global limit and the route's bucket. Unless
// the request may proceed or its response is to be lost, it has answered.
func (s *Server) admit(w http.ResponseWriter, rt route) admission {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	f := s.takeFaultLocked(rt)
	if f != nil {
		s.stats.Injected++
		if !f.Lost {
			writeFault(w, f, s.bucketFor(rt), now)
			return admission{at: now}
		}
	}
	if !rt.webhook && s.opts.GlobalLimit > 0 {
		lim := bucketLimit{hash: "global", limit: s.opts.GlobalLimit, window: time.Second}
		if ok, _, retry := s.global.take(lim, now); !ok {
			writeTooMany(w, retry, true, "global")
			return admission{at: now}
		}
	}
	lim := s.bucketFor(rt)
	key := lim.hash + ":" + rt.channel
	if rt.webhook && len(rt.ids) > 1 {
		key = lim.hash + ":" + rt.ids[1]
	}
	log := s.buckets[key]
	if log == nil {
		log = &slidingLog{}
		s.buckets[key] = log
	}
	ok, remaining, resetAfter := log.take(lim, now)
	setRateHeaders(w.Header(), lim, remaining, resetAfter, now)
	if !ok {
		writeTooMany(w, resetAfter, false, "user")
		return admission{at: now}
	}
	return admission{ok: f == nil, counted: true, lost: f, at: now}
}

func (s *Server) takeFaultLocked(rt route) *Fault {
	for i, f := range s.faults {
		if (f.Route == "" || f.Route == rt.name) && (f.Channel == "" || f.Channel == rt.channel) {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

// handle serves an admitted request.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, rt route, body []byte) {
	if accountRoute(rt.name) {
		s.handleAccount(w, rt)
		return
	}
	switch rt.name {
	case routeGateway:
		writeJSON(w, map[string]string{"url": "ws://" + r.Host + "/gw"})
	case routeGatewayBot:
		writeJSON(w, map[string]any{"url": "ws://" + r.Host + "/gw", "shards": 1, "session_start_limit": map[string]int{
			"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1}})
	case routeMe:
		writeJSON(w, s.botUser())
	case routeCreateDM:
		s.createDM(w, body)
	case routeGetChannel:
		s.getChannel(w, rt.channel)
	case routeTyping:
		s.typing(w, rt.channel)
	case routeCreateMessage:
		s.createMessage(w, rt.channel, body)
	case routeListMessages:
		s.listMessages(w, r, rt.channel)
	case routeGetMessage:
		s.getMessage(w, rt.channel, rt.ids[1])
	case routeGlobalCommands:
		s.putCommands(w, rt.ids[0], "", body)
	case routeGuildCommands:
		s.putCommands(w, rt.ids[0], rt.ids[1], body)
	case routeEditMessage:
		s.editMessage(w, rt.channel, rt.ids[1], body)
	case routeDeleteMessage:
		s.deleteMessage(w, rt.channel, rt.ids[1])
	case routeThreadFromMessage:
		s.threadFromMessage(w, rt.channel, rt.ids[1], body)
	case routeCreateThread:
		s.createThread(w, rt.channel, body)
	default:
		s.handleWebhook(w, r, rt, body)
	}
}

func (s *Server) createDM(w http.ResponseWriter, body []byte) {
	var req struct {
		RecipientID string `json:"recipient_id"`
	}
	_ = json.Unmarshal(body, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[req.RecipientID]; !ok {
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	writeJSON(w, s.channels[s.dmChannelLocked(req.RecipientID)].Channel)
}

func (s *Server) getChannel(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[id]
	if !ok {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	writeJSON(w, ch.Channel)
}

func (s *Server) typing(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[id]; !ok {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// contentLen counts characters as Discord's limit does (UTF-16 units,
// which is never fewer than code points).
func contentLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func hasComponents(c json.RawMessage) bool {
	var list []json.RawMessage
	return json.Unmarshal(c, &list) == nil && len(list) > 0
}

// messageCreate is the body of POST /channels/{id}/messages.
type messageCreate struct {
	Content          string            `json:"content"`
	Nonce            string            `json:"nonce"`
	EnforceNonce     bool              `json:"enforce_nonce"`
	MessageReference *MessageReference `json:"message_reference"`
	Flags            int               `json:"flags"`
	Components       json.RawMessage   `json:"components"`
	Embeds           []Embed           `json:"embeds"`
}

func (s *Server) createMessage(w http.ResponseWriter, channelID string, body []byte) {
	var req messageCreate
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channelID]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	case !checkMessage(w, req.Content, req.Components, req.Embeds):
		return
	}
	if m := s.nonceMessageLocked(ch, req); m != nil {
		writeJSON(w, m)
		return
	}
	m := &Message{ID: s.ids.next(), ChannelID: channelID, GuildID: ch.GuildID, Author: s.botUser(), Content: req.Content,
		Timestamp: time.Now().UTC(), Nonce: req.Nonce, Flags: req.Flags, Components: req.Components, Embeds: req.Embeds}
	if ref := req.MessageReference; ref != nil {
		target, ok := s.messages[ref.MessageID]
		if !ok && (ref.FailIfNotExists == nil || *ref.FailIfNotExists) {
			writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: message_reference: Unknown message")
			return
		}
		m.Type = 19
		m.MessageReference = &MessageReference{MessageID: ref.MessageID, ChannelID: channelID, GuildID: ch.GuildID}
		if ok {
			copied := *target
			m.ReferencedMessage = &copied
		}
	}
	s.storeMessageLocked(m)
	writeJSON(w, m)
}

// nonceMessageLocked returns the bot's message created with the same
// nonce, when the request enforces it.
func (s *Server) nonceMessageLocked(ch *channelState, req messageCreate) *Message {
	if !req.EnforceNonce || req.Nonce == "" {
		return nil
	}
	for _, id := range ch.messages {
		if m := s.messages[id]; m != nil && m.Nonce == req.Nonce && m.Author.ID == s.opts.BotID {
			return m
		}
	}
	return nil
}

var mentionPattern = regexp.MustCompile(`<@!?(\d+)>`)

// storeMessageLocked resolves mentions, stores m and dispatches MESSAGE_CREATE.
func (s *Server) storeMessageLocked(m *Message) {
	m.Mentions = []User{}
	for _, match := range mentionPattern.FindAllStringSubmatch(m.Content, -1) {
		if u, ok := s.users[match[1]]; ok {
			m.Mentions = append(m.Mentions, u)
		}
	}
	if m.Attachments == nil {
		m.Attachments = []Attachment{}
	}
	if m.Embeds == nil {
		m.Embeds = []Embed{}
	}
	m.MentionRoles = []string{}
	s.messages[m.ID] = m
	ch := s.channels[m.ChannelID]
	ch.messages = append(ch.messages, m.ID)
	s.dispatchLocked("MESSAGE_CREATE", m.GuildID, messageIntent(m.GuildID), s.messageEventLocked(m))
	s.bumpLocked()
}

func (s *Server) getMessage(w http.ResponseWriter, channelID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok || m.ChannelID != channelID {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	writeJSON(w, s.fetchedLocked(m))
}

// fetchedLocked is a stored message as a fetch returns it: Discord keeps a
// message's nonce only for the create response and MESSAGE_CREATE.
func (s *Server) fetchedLocked(m *Message) Message {
	out := *m
	if s.opts.FetchOmitsNonce {
		out.Nonce = ""
	}
	return out
}

// listMessages serves GET /channels/{id}/messages: newest first, at most
// limit (1 to 100, default 50), before or after a message ID.
func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, channelID string) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			invalid(w, "limit: Must be between 1 and 100.")
			return
		}
		limit = n
	}
	before, after := q.Get("before"), q.Get("after")
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channelID]
	if !ok {
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	out := []Message{}
	for i := len(ch.messages) - 1; i >= 0 && len(out) < limit; i-- {
		m, ok := s.messages[ch.messages[i]]
		if !ok || (before != "" && !snowflakeLess(m.ID, before)) || (after != "" && !snowflakeLess(after, m.ID)) {
			continue
		}
		out = append(out, s.fetchedLocked(m))
	}
	writeJSON(w, out)
}

// snowflakeLess reports whether snowflake a is older than b.
func snowflakeLess(a, b string) bool {
	x, _ := strconv.ParseUint(a, 10, 64)
	y, _ := strconv.ParseUint(b, 10, 64)
	return x < y
}

func (s *Server) editMessage(w http.ResponseWriter, channelID, id string, body []byte) {
	var req struct {
		Content    *string         `json:"content"`
		Components json.RawMessage `json:"components"`
		Embeds     *[]Embed        `json:"embeds"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	switch {
	case !ok || m.ChannelID != channelID:
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	case m.Author.ID != s.opts.BotID:
		writeError(w, http.StatusForbidden, 50005, "Cannot edit a message authored by another user")
		return
	}
	next := *m
	if req.Content != nil {
		next.Content = *req.Content
	}
	if req.Components != nil {
		next.Components = req.Components
	}
	if req.Embeds != nil {
		next.Embeds = *req.Embeds
	}
	if !checkMessage(w, next.Content, next.Components, next.Embeds) {
		return
	}
	m.Content, m.Components, m.Embeds = next.Content, next.Components, next.Embeds
	now := time.Now().UTC()
	m.EditedTimestamp = &now
	m.Edits++
	s.bumpLocked()
	writeJSON(w, m)
}

func (s *Server) deleteMessage(w http.ResponseWriter, channelID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok || m.ChannelID != channelID {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	delete(s.messages, id)
	s.bumpLocked()
	w.WriteHeader(http.StatusNoContent)
}

// threadCreate is the body of the thread creation routes.
type threadCreate struct {
	Name string `json:"name"`
	Type int    `json:"type"`
}

func (s *Server) threadFromMessage(w http.ResponseWriter, channelID, messageID string, body []byte) {
	var req threadCreate
	_ = json.Unmarshal(body, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.canThreadLocked(w, channelID, req.Name) {
		return
	}
	if m, ok := s.messages[messageID]; !ok || m.ChannelID != channelID {
		writeError(w, http.StatusNotFound, 10008, "Unknown Message")
		return
	}
	if _, ok := s.channels[messageID]; ok {
		writeError(w, http.StatusBadRequest, 160004, "A thread has already been created for this message")
		return
	}
	writeJSON(w, s.newThreadLocked(messageID, channelID, req.Name))
}

func (s *Server) createThread(w http.ResponseWriter, channelID string, body []byte) {
	var req threadCreate
	_ = json.Unmarshal(body, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.canThreadLocked(w, channelID, req.Name) {
		return
	}
	writeJSON(w, s.newThreadLocked(s.ids.next(), channelID, req.Name))
}

// canThreadLocked answers an error and reports false when a thread named
// name cannot be created under channelID.
func (s *Server) canThreadLocked(w http.ResponseWriter, channelID, name string) bool {
	ch, ok := s.channels[channelID]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, 10003, "Unknown Channel")
	case ch.Type != ChannelText:
		writeError(w, http.StatusBadRequest, 50024, "Cannot execute action on this channel type")
	case ch.noThreads:
		writeError(w, http.StatusForbidden, 50013, "Missing Permissions")
	case name == "" || len([]rune(name)) > 100:
		writeError(w, http.StatusBadRequest, 50035, "Invalid Form Body: name: Must be between 1 and 100 in length.")
	default:
		return true
	}
	return false
}

func (s *Server) newThreadLocked(id, parentID, name string) Channel {
	parent := s.channels[parentID]
	th := &channelState{Channel: Channel{ID: id, Type: ChannelThread, GuildID: parent.GuildID, ParentID: parentID, Name: name, OwnerID: s.opts.BotID}}
	s.channels[id] = th
	s.dispatchLocked("THREAD_CREATE", th.GuildID, IntentGuilds, map[string]any{
		"id": id, "type": ChannelThread, "guild_id": th.GuildID, "parent_id": parentID, "name": name, "owner_id": s.opts.BotID, "newly_created": true})
	s.bumpLocked()
	return th.Channel
}
