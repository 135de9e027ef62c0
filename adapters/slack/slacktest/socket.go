package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Envelope is one Socket Mode delivery and what became of it.
type Envelope struct {
	ID      string
	Type    string
	Payload json.RawMessage
	// RetryAttempt counts redeliveries after missing acks; RetryReason says why.
	RetryAttempt int
	RetryReason  string
	// Sent lists the time of every delivery on a websocket.
	Sent []time.Time
	// Acked is when the first ack arrived (zero when none did); Acks counts them.
	Acked      time.Time
	Acks       int
	AckPayload json.RawMessage
	// accepts is accepts_response_payload.
	accepts bool
}

// hub is the Socket Mode side: websocket connections and envelopes. Its
// state is guarded by Server.mu; writes to a connection by its own mutex.
type hub struct {
	s         *Server
	upgrader  websocket.Upgrader
	current   *sockConn
	all       map[*sockConn]bool
	pending   []string
	envelopes map[string]*Envelope
	order     []string
	opened    int
	closed    bool
}

type sockConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
}

func newHub(s *Server) *hub {
	return &hub{
		s: s,
		// slack-go sends Origin: https://api.slack.com; accept any origin.
		upgrader:  websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		all:       map[*sockConn]bool{},
		envelopes: map[string]*Envelope{},
	}
}

func (c *sockConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

func (c *sockConn) ping() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteControl(websocket.PingMessage, []byte("slacktest"), time.Now().Add(5*time.Second))
}

func (h *hub) serveSocket(w http.ResponseWriter, r *http.Request) {
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &sockConn{ws: ws, done: make(chan struct{})}
	hello := map[string]any{"type": "hello", "num_connections": 1,
		"debug_info":      map[string]any{"host": "slacktest", "approximate_connection_time": 3600},
		"connection_info": map[string]any{"app_id": "AKIMIBOT"}}
	if c.write(hello) != nil {
		_ = ws.Close()
		return
	}
	h.s.mu.Lock()
	if h.closed {
		h.s.mu.Unlock()
		_ = ws.Close()
		return
	}
	h.opened++
	h.all[c] = true
	h.current = c
	queued := h.pending
	h.pending = nil
	h.s.notifyLocked()
	h.s.mu.Unlock()
	for _, id := range queued {
		h.deliver(id)
	}
	go h.pinger(c)
	h.readAcks(c)
}

// readAcks records the acks a client sends until the connection ends.
func (h *hub) readAcks(c *sockConn) {
	defer h.drop(c)
	for {
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if err := c.ws.ReadJSON(&ack); err != nil {
			return
		}
		h.s.mu.Lock()
		if env := h.envelopes[ack.EnvelopeID]; env != nil {
			if env.Acks == 0 {
				env.Acked, env.AckPayload = time.Now(), ack.Payload
			}
			env.Acks++
			h.s.notifyLocked()
		}
		h.s.mu.Unlock()
	}
}

func (h *hub) pinger(c *sockConn) {
	t := time.NewTicker(h.s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			if c.ping() != nil {
				return
			}
		}
	}
}

func (h *hub) drop(c *sockConn) {
	_ = c.ws.Close()
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	if !h.all[c] {
		return
	}
	delete(h.all, c)
	close(c.done)
	if h.current == c {
		h.current = nil
	}
	h.s.notifyLocked()
}

// push registers an envelope and delivers it.
func (h *hub) push(typ string, payload json.RawMessage, accepts bool) string {
	h.s.mu.Lock()
	h.s.seq++
	id := "env-" + strconv.FormatInt(h.s.seq, 10)
	h.envelopes[id] = &Envelope{ID: id, Type: typ, Payload: payload, accepts: accepts}
	h.order = append(h.order, id)
	h.s.mu.Unlock()
	h.deliver(id)
	return id
}

// deliver sends an envelope on the current connection, or queues it until
// a client connects, and arms its redelivery.
func (h *hub) deliver(id string) {
	h.s.mu.Lock()
	env, c := h.envelopes[id], h.current
	if c == nil || h.closed {
		h.pending = append(h.pending, id)
		h.s.mu.Unlock()
		return
	}
	env.Sent = append(env.Sent, time.Now())
	frame := map[string]any{"envelope_id": env.ID, "type": env.Type, "payload": env.Payload,
		"accepts_response_payload": env.accepts, "retry_attempt": env.RetryAttempt, "retry_reason": env.RetryReason}
	h.s.notifyLocked()
	h.s.mu.Unlock()
	if err := c.write(frame); err != nil {
		h.drop(c)
		h.s.mu.Lock()
		h.pending = append(h.pending, id)
		h.s.mu.Unlock()
		return
	}
	time.AfterFunc(h.s.opts.AckTimeout, func() { h.redeliver(id) })
}

// redeliver sends an unacknowledged envelope again, as Slack retries.
func (h *hub) redeliver(id string) {
	h.s.mu.Lock()
	env := h.envelopes[id]
	if h.closed || env.Acks > 0 || env.RetryAttempt >= h.s.opts.MaxRetries {
		h.s.mu.Unlock()
		return
	}
	env.RetryAttempt++
	env.RetryReason = "timeout"
	h.s.mu.Unlock()
	h.deliver(id)
}

func (h *hub) close() {
	h.s.mu.Lock()
	h.closed = true
	conns := make([]*sockConn, 0, len(h.all))
	for c := range h.all {
		conns = append(conns, c)
	}
	h.s.mu.Unlock()
	for _, c := range conns {
		_ = c.ws.Close()
	}
}

// PushEvent delivers an Events API payload (an event_callback body) over
// Socket Mode and returns the envelope ID.
func (s *Server) PushEvent(body []byte) string {
	return s.hub.push("events_api", body, false)
}

// PushSlashCommand delivers a slash command over Socket Mode.
func (s *Server) PushSlashCommand(cmd SlashCommand) string {
	body, _ := json.Marshal(cmd.fields(s.opts.TeamID))
	return s.hub.push("slash_commands", body, true)
}

// PushInteraction delivers an interactivity payload over Socket Mode.
func (s *Server) PushInteraction(payload []byte) string {
	return s.hub.push("interactive", payload, true)
}

// Envelope returns a delivery by ID.
func (s *Server) Envelope(id string) (Envelope, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	env, ok := s.hub.envelopes[id]
	if !ok {
		return Envelope{}, false
	}
	return env.clone(), true
}

// Envelopes returns every delivery in push order.
func (s *Server) Envelopes() []Envelope {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Envelope, 0, len(s.hub.order))
	for _, id := range s.hub.order {
		out = append(out, s.hub.envelopes[id].clone())
	}
	return out
}

func (e *Envelope) clone() Envelope {
	c := *e
	c.Sent = append([]time.Time(nil), e.Sent...)
	return c
}

// WaitAcked waits until the envelope has been acknowledged and returns it.
func (s *Server) WaitAcked(ctx context.Context, id string) (Envelope, error) {
	var env Envelope
	err := s.Wait(ctx, func() bool {
		e, ok := s.Envelope(id)
		env = e
		return ok && e.Acks > 0
	})
	if err != nil {
		return env, fmt.Errorf("envelope %s: %w", id, err)
	}
	return env, nil
}

// Connections reports how many websocket connections were opened so far,
// and whether one is open now.
func (s *Server) Connections() (opened int, connected bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hub.opened, s.hub.current != nil
}

// Disconnect asks the client to reconnect, as Slack does with reason
// "refresh_requested", "warning" or "too_many_websockets": it sends a
// disconnect message on the current connection, stops using it, and closes
// it once the client has gone or after grace.
func (s *Server) Disconnect(reason string, grace time.Duration) {
	s.mu.Lock()
	c := s.hub.current
	s.hub.current = nil
	s.notifyLocked()
	s.mu.Unlock()
	if c == nil {
		return
	}
	_ = c.write(map[string]any{"type": "disconnect", "reason": reason,
		"debug_info": map[string]any{"host": "slacktest"}})
	go func() {
		select {
		case <-c.done:
		case <-time.After(grace):
			_ = c.ws.Close()
		}
	}()
}

// DropConnection closes the current websocket without warning, like a
// network failure.
func (s *Server) DropConnection() {
	s.mu.Lock()
	c := s.hub.current
	s.mu.Unlock()
	if c != nil {
		_ = c.ws.Close()
	}
}
