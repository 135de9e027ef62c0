package discordtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// gatewayState is the fake's gateway: sessions with their dispatch logs
// and the live connections.
type gatewayState struct {
	sessions   map[string]*session
	order      []*session
	conns      []*gwConn
	identifies []Identify
	resumes    []Resume
	heartbeats int
	drops      int
}

// session is a gateway session: it outlives connections so that a client
// can resume it and get the dispatches it missed.
type session struct {
	id      string
	intents int64
	shard   [2]int
	seq     int64
	log     []dispatched
	conn    *gwConn
}

type dispatched struct {
	seq   int64
	frame []byte
}

// gwConn is one websocket connection; frames go out through a queue drained
// by a writer goroutine so that dispatches keep their sequence order.
type gwConn struct {
	ws     *websocket.Conn
	out    chan wsFrame
	closed bool
	sess   *session
}

type wsFrame struct {
	kind int
	data []byte
}

// payload is a gateway frame.
type payload struct {
	Op   int             `json:"op"`
	Data json.RawMessage `json:"d"`
	Seq  *int64          `json:"s"`
	Type *string         `json:"t"`
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gwConn{ws: ws, out: make(chan wsFrame, 4096)}
	go c.writeLoop()
	s.mu.Lock()
	s.gw.conns = append(s.gw.conns, c)
	hello, _ := json.Marshal(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": s.opts.HeartbeatInterval.Milliseconds()}})
	s.sendLocked(c, hello)
	s.mu.Unlock()
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			s.connGone(c)
			return
		}
		s.onFrame(c, data)
	}
}

func (c *gwConn) writeLoop() {
	for f := range c.out {
		_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := c.ws.WriteMessage(f.kind, f.data); err != nil || f.kind == websocket.CloseMessage {
			_ = c.ws.Close()
			for range c.out {
			}
			return
		}
	}
}

// sendLocked queues a text frame; a connection that cannot keep up is dropped.
func (s *Server) sendLocked(c *gwConn, data []byte) {
	if c.closed {
		return
	}
	select {
	case c.out <- wsFrame{kind: websocket.TextMessage, data: data}:
	default:
		s.abortLocked(c)
	}
}

// closeLocked sends a close frame with code and ends the connection.
func (s *Server) closeLocked(c *gwConn, code int, reason string) {
	if c.closed {
		return
	}
	select {
	case c.out <- wsFrame{kind: websocket.CloseMessage, data: websocket.FormatCloseMessage(code, reason)}:
		c.closed = true
		close(c.out)
	default:
		s.abortLocked(c)
	}
}

// abortLocked closes the connection abruptly, without a close frame.
func (s *Server) abortLocked(c *gwConn) {
	if c.closed {
		return
	}
	c.closed = true
	close(c.out)
	_ = c.ws.UnderlyingConn().Close()
}

func (s *Server) abortAllLocked() {
	for _, c := range s.gw.conns {
		s.abortLocked(c)
	}
	for _, sess := range s.gw.order {
		sess.conn = nil
	}
}

func (s *Server) connGone(c *gwConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.sess != nil && c.sess.conn == c {
		c.sess.conn = nil
	}
	s.abortLocked(c)
	for i, cc := range s.gw.conns {
		if cc == c {
			s.gw.conns = append(s.gw.conns[:i], s.gw.conns[i+1:]...)
			break
		}
	}
	s.bumpLocked()
}

func (s *Server) onFrame(c *gwConn, data []byte) {
	var p payload
	if err := json.Unmarshal(data, &p); err != nil {
		s.mu.Lock()
		s.closeLocked(c, 4002, "Error while decoding payload.")
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p.Op {
	case 1:
		s.gw.heartbeats++
		s.sendLocked(c, []byte(`{"op":11,"d":null}`))
	case 2:
		s.identifyLocked(c, p.Data)
	case 6:
		s.resumeLocked(c, p.Data)
	}
	s.bumpLocked()
}

func (s *Server) tokenOK(token string) bool {
	return strings.TrimPrefix(token, "Bot ") == s.opts.Token
}

func (s *Server) identifyLocked(c *gwConn, data json.RawMessage) {
	var id Identify
	_ = json.Unmarshal(data, &id)
	id.Time = time.Now()
	s.gw.identifies = append(s.gw.identifies, id)
	shard := [2]int{0, 1}
	if id.Shard != nil {
		shard = *id.Shard
	}
	switch {
	case !s.tokenOK(id.Token):
		s.closeLocked(c, 4004, "Authentication failed.")
		return
	case s.opts.DenyMessageContent && id.Intents&IntentMessageContent != 0:
		s.closeLocked(c, 4014, "Disallowed intent(s).")
		return
	case shard[1] < 1 || shard[0] < 0 || shard[0] >= shard[1]:
		s.closeLocked(c, 4010, "Invalid shard.")
		return
	}
	sess := &session{id: randomHex(16), intents: id.Intents, shard: shard, conn: c}
	c.sess = sess
	s.gw.sessions[sess.id] = sess
	s.gw.order = append(s.gw.order, sess)
	host := s.http.Listener.Addr().String()
	s.sendEventLocked(sess, "READY", map[string]any{
		"v": 10, "session_id": sess.id, "resume_gateway_url": "ws://" + host + "/gw",
		"user": s.botUser(), "shard": shard, "guilds": s.guildStubsLocked(shard),
		"application": map[string]any{"id": s.opts.AppID, "flags": 0}, "private_channels": []any{},
	})
	if id.Intents&IntentGuilds != 0 {
		for _, g := range s.guilds {
			if shardOf(g, shard[1]) == shard[0] {
				s.sendEventLocked(sess, "GUILD_CREATE", s.guildLocked(g))
			}
		}
	}
}

func (s *Server) guildStubsLocked(shard [2]int) []map[string]any {
	out := []map[string]any{}
	for _, g := range s.guilds {
		if shardOf(g, shard[1]) == shard[0] {
			out = append(out, map[string]any{"id": g, "unavailable": true})
		}
	}
	return out
}

// guildLocked is the GUILD_CREATE payload of a guild: its channels and
// active threads.
func (s *Server) guildLocked(guildID string) map[string]any {
	channels, threads := []Channel{}, []Channel{}
	for _, ch := range s.channels {
		switch {
		case ch.GuildID != guildID:
		case ch.Type == ChannelThread:
			threads = append(threads, ch.Channel)
		default:
			channels = append(channels, ch.Channel)
		}
	}
	return map[string]any{"id": guildID, "name": "guild " + guildID, "unavailable": false,
		"channels": channels, "threads": threads, "members": []any{}, "roles": []any{}}
}

func (s *Server) resumeLocked(c *gwConn, data json.RawMessage) {
	var req Resume
	_ = json.Unmarshal(data, &req)
	req.Time = time.Now()
	sess := s.gw.sessions[req.SessionID]
	if sess == nil || !s.tokenOK(req.Token) {
		s.gw.resumes = append(s.gw.resumes, req)
		s.sendLocked(c, []byte(`{"op":9,"d":false}`))
		return
	}
	req.Accepted = true
	if sess.conn != nil && sess.conn != c {
		s.abortLocked(sess.conn)
	}
	for _, ev := range sess.log {
		if ev.seq > req.Seq {
			s.sendLocked(c, ev.frame)
			req.Replayed++
		}
	}
	s.gw.resumes = append(s.gw.resumes, req)
	sess.conn = c
	c.sess = sess
	s.sendEventLocked(sess, "RESUMED", map[string]any{"_trace": []string{"discordtest"}})
}

// sendEventLocked gives a dispatch the session's next sequence number,
// logs it for resumes and sends it if the session is connected.
func (s *Server) sendEventLocked(sess *session, typ string, d any) {
	sess.seq++
	seq := sess.seq
	raw, _ := json.Marshal(d)
	frame, _ := json.Marshal(payload{Op: 0, Data: raw, Seq: &seq, Type: &typ})
	sess.log = append(sess.log, dispatched{seq: seq, frame: frame})
	if sess.conn != nil {
		s.sendLocked(sess.conn, frame)
	}
}

// eventFor builds a dispatch for one session; ok is false to skip it.
type eventFor func(sess *session) (d any, ok bool)

// dispatchLocked sends a dispatch to every session whose shard owns the
// guild ("" is a DM, owned by shard 0) and whose intents include intent.
func (s *Server) dispatchLocked(typ, guildID string, intent int64, d any) {
	for _, sess := range s.gw.order {
		if shardOf(guildID, sess.shard[1]) != sess.shard[0] || sess.intents&intent != intent {
			continue
		}
		v := d
		if f, ok := d.(eventFor); ok {
			if v, ok = f(sess); !ok {
				continue
			}
		}
		s.sendEventLocked(sess, typ, v)
	}
}

// messageEventLocked builds MESSAGE_CREATE for each session; without the
// message content intent, guild messages that neither mention the bot nor
// come from it arrive without content and attachments, as on Discord.
func (s *Server) messageEventLocked(m *Message) eventFor {
	msg := *m
	return func(sess *session) (any, bool) {
		if sess.intents&IntentMessageContent != 0 || msg.GuildID == "" || msg.Author.ID == s.opts.BotID {
			return msg, true
		}
		for _, u := range msg.Mentions {
			if u.ID == s.opts.BotID {
				return msg, true
			}
		}
		blank := msg
		blank.Content, blank.Attachments = "", []Attachment{}
		return blank, true
	}
}

func messageIntent(guildID string) int64 {
	if guildID == "" {
		return IntentDirectMessages
	}
	return IntentGuildMessages
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Incoming is a message a user sends, for SendMessage.
type Incoming struct {
	// Channel is the channel, DM channel or thread to send in.
	Channel string
	Author  User
	// Content may mention users as "<@ID>"; the fake resolves mentions.
	Content string
	// ReplyTo is the ID of a message in the same channel this one replies to.
	ReplyTo     string
	Attachments []Attachment
}

// SendMessage stores a user's message and dispatches MESSAGE_CREATE.
func (s *Server) SendMessage(in Incoming) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.channels[in.Channel]
	m := &Message{ID: s.ids.next(), ChannelID: in.Channel, GuildID: ch.GuildID, Author: in.Author, Content: in.Content,
		Timestamp: time.Now().UTC(), Attachments: in.Attachments}
	if in.ReplyTo != "" {
		m.Type = 19
		m.MessageReference = &MessageReference{MessageID: in.ReplyTo, ChannelID: in.Channel, GuildID: ch.GuildID}
		if target, ok := s.messages[in.ReplyTo]; ok {
			copied := *target
			copied.ReferencedMessage = nil
			m.ReferencedMessage = &copied
		}
	}
	s.storeMessageLocked(m)
	return *m
}

// ReplayMessage dispatches MESSAGE_CREATE for a stored message again, with
// a new sequence number, as Discord may after a resume.
func (s *Server) ReplayMessage(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messages[id]
	s.dispatchLocked("MESSAGE_CREATE", m.GuildID, messageIntent(m.GuildID), s.messageEventLocked(m))
	s.bumpLocked()
}

// Dispatch sends any dispatch to the sessions that own guildID.
func (s *Server) Dispatch(typ, guildID string, d any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dispatchLocked(typ, guildID, 0, d)
	s.bumpLocked()
}

// DropConnection closes every gateway socket abruptly (no close frame), as
// a network failure would, and returns how many it closed. Dispatches made
// while the client is away are replayed when it resumes.
func (s *Server) DropConnection() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.gw.conns {
		if !c.closed {
			n++
		}
		s.abortLocked(c)
	}
	for _, sess := range s.gw.order {
		sess.conn = nil
	}
	s.gw.drops += n
	s.bumpLocked()
	return n
}

// ForgetSessions drops every connection and forgets the sessions, as when
// they expired: a Resume is then answered with Invalid Session (op 9).
func (s *Server) ForgetSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abortAllLocked()
	s.gw.sessions = map[string]*session{}
	s.gw.order = nil
	s.bumpLocked()
}

// Identifies returns the Identify payloads received, in order.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identify(nil), s.gw.identifies...)
}

// Resumes returns the Resume payloads received, in order.
func (s *Server) Resumes() []Resume {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Resume(nil), s.gw.resumes...)
}

// Heartbeats returns how many heartbeats (op 1) the fake acknowledged.
func (s *Server) Heartbeats() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gw.heartbeats
}

// Connected returns how many sessions have a live connection.
func (s *Server) Connected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sess := range s.gw.order {
		if sess.conn != nil {
			n++
		}
	}
	return n
}

// WaitConnected waits until n sessions have a live connection.
func (s *Server) WaitConnected(tb testing.TB, n int) {
	tb.Helper()
	s.WaitFor(tb, "gateway sessions", func() bool { return s.Connected() >= n })
}
