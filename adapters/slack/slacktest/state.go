package slacktest

import (
	"encoding/json"
	"net/url"
	"time"
	"unicode/utf16"
)

// Slack's message limits as the fake enforces them, in UTF-16 code units.
const (
	// MaxText is where Slack silently truncates a message's text.
	MaxText = 40_000
	// MaxMarkdownBlock is the limit of one markdown block and of
	// markdown_text in the streaming methods.
	MaxMarkdownBlock = 12_000
	// MaxMarkdownTotal is the observed cumulative cap of markdown blocks in
	// one message (msg_blocks_too_long).
	MaxMarkdownTotal = 13_200
	// MaxSectionText is the limit of a section block's text.
	MaxSectionText = 3_000
	// MaxBlocks is the number of blocks a message may have.
	MaxBlocks = 50
)

// Message is a bot message as it currently shows in Slack.
type Message struct {
	Channel, TS, ThreadTS string
	// Text is the message's text field (the notification fallback when it has blocks).
	Text string
	// Markdown is what the message's markdown and section blocks show, or
	// the text a stream received.
	Markdown string
	// Footer is the text of its context blocks, Contexts each one's.
	Footer   string
	Contexts []string
	// Header is the text of its header block, Buttons those of its actions blocks.
	Header  string
	Buttons []Button
	// Blocks is the blocks parameter last sent, as is.
	Blocks json.RawMessage
	// Metadata is the message metadata it was posted with, if any.
	Metadata *Metadata
	// Streamed is true for a message made by chat.startStream, and
	// Streaming while that stream has not been stopped.
	Streamed, Streaming bool
	// Edits counts the chat.update and chat.appendStream calls applied.
	Edits int
	// States lists every visible state in order, the first being the post.
	States []State
}

// Metadata is message metadata: an event type and its payload.
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// Button returns the button with actionID, if the message shows one.
func (m Message) Button(actionID string) (Button, bool) {
	for _, b := range m.Buttons {
		if b.ActionID == actionID {
			return b, true
		}
	}
	return Button{}, false
}

// State is one visible state of a message.
type State struct {
	Time time.Time
	Text string
}

// Shown is the text a reader sees: the blocks' text if there are any,
// else the text field.
func (m Message) Shown() string {
	if m.Markdown != "" {
		return m.Markdown
	}
	return m.Text
}

// Ephemeral is a message only one user saw.
type Ephemeral struct {
	Channel, User, Text string
	Time                time.Time
}

// StatusChange is one assistant.threads.setStatus call.
type StatusChange struct {
	Time   time.Time
	Status string
}

// Thread returns the bot's messages in a thread, oldest first. threadTS ""
// selects the messages posted outside any thread of the channel.
func (s *Server) Thread(channel, threadTS string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, key := range s.order {
		m := s.msgs[key]
		if m.Channel == channel && m.ThreadTS == threadTS {
			out = append(out, m.clone())
		}
	}
	return out
}

// Messages returns every bot message, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.order))
	for _, key := range s.order {
		out = append(out, s.msgs[key].clone())
	}
	return out
}

// DeleteMessage removes a message, as a person with the right to do so
// can; later calls that address it fail with message_not_found.
func (s *Server) DeleteMessage(channel, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := channel + "/" + ts
	if _, ok := s.msgs[key]; !ok {
		return
	}
	delete(s.msgs, key)
	for i, k := range s.order {
		if k == key {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	s.notifyLocked()
}

// Ephemerals returns the ephemeral messages posted so far.
func (s *Server) Ephemerals() []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ephemeral(nil), s.ephemerals...)
}

// Statuses returns the status changes of a thread in order.
func (s *Server) Statuses(channel, threadTS string) []StatusChange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]StatusChange(nil), s.statuses[channel+"/"+threadTS]...)
}

func (m *Message) clone() Message {
	c := *m
	c.States = append([]State(nil), m.States...)
	c.Contexts = append([]string(nil), m.Contexts...)
	c.Buttons = append([]Button(nil), m.Buttons...)
	return c
}

// show makes the message show blocks.
func (m *Message) show(b shownBlocks) {
	m.Markdown, m.Footer, m.Contexts = b.markdown, b.footer, b.contexts
	m.Header, m.Buttons, m.Blocks = b.header, b.buttons, b.raw
}

// parseMetadata reads a metadata parameter.
func parseMetadata(raw string) (*Metadata, string) {
	if raw == "" {
		return nil, ""
	}
	var md Metadata
	if err := json.Unmarshal([]byte(raw), &md); err != nil || md.EventType == "" {
		return nil, "invalid_metadata_format"
	}
	return &md, ""
}

// recordLocked appends the message's visible state if it changed.
func (m *Message) recordLocked(now time.Time) {
	shown := m.Shown()
	if n := len(m.States); n > 0 && m.States[n-1].Text == shown {
		return
	}
	m.States = append(m.States, State{Time: now, Text: shown})
}

func (s *Server) newMessageLocked(channel, threadTS string) *Message {
	m := &Message{Channel: channel, TS: s.nextTSLocked(), ThreadTS: threadTS}
	key := channel + "/" + m.TS
	s.msgs[key] = m
	s.order = append(s.order, key)
	return m
}

func (s *Server) postMessageLocked(p url.Values, now time.Time) reply {
	channel := p.Get("channel")
	if channel == "" {
		return fail("channel_not_found")
	}
	if p.Get("text") == "" && p.Get("blocks") == "" {
		return fail("no_text")
	}
	blocks, code := parseBlocks(p.Get("blocks"))
	if code != "" {
		return fail(code)
	}
	meta, code := parseMetadata(p.Get("metadata"))
	if code != "" {
		return fail(code)
	}
	m := s.newMessageLocked(channel, p.Get("thread_ts"))
	m.Text = truncate(p.Get("text"), MaxText)
	m.show(blocks)
	m.Metadata = meta
	m.recordLocked(now)
	return ok(map[string]any{"channel": channel, "ts": m.TS, "message": s.wireLocked(m)})
}

func (s *Server) updateLocked(p url.Values, now time.Time) reply {
	m := s.msgs[p.Get("channel")+"/"+p.Get("ts")]
	if m == nil {
		return fail("message_not_found")
	}
	if _, has := p["blocks"]; has {
		blocks, code := parseBlocks(p.Get("blocks"))
		if code != "" {
			return fail(code)
		}
		m.show(blocks)
	}
	if _, has := p["text"]; has {
		m.Text = truncate(p.Get("text"), MaxText)
	}
	m.Edits++
	m.recordLocked(now)
	return ok(map[string]any{"channel": m.Channel, "ts": m.TS, "text": m.Text})
}

func (s *Server) postEphemeralLocked(p url.Values, now time.Time) reply {
	if p.Get("channel") == "" || p.Get("user") == "" {
		return fail("invalid_arguments")
	}
	s.ephemerals = append(s.ephemerals, Ephemeral{Channel: p.Get("channel"), User: p.Get("user"), Text: p.Get("text"), Time: now})
	return ok(map[string]any{"message_ts": s.nextTSLocked()})
}

func (s *Server) setStatusLocked(p url.Values, now time.Time) reply {
	channel, thread := p.Get("channel_id"), p.Get("thread_ts")
	if channel == "" || thread == "" {
		return fail("invalid_arguments")
	}
	key := channel + "/" + thread
	s.statuses[key] = append(s.statuses[key], StatusChange{Time: now, Status: p.Get("status")})
	return ok(nil)
}

func (s *Server) wireLocked(m *Message) map[string]any {
	w := map[string]any{"type": "message", "text": m.Text, "ts": m.TS,
		"user": s.opts.BotUserID, "bot_id": s.opts.BotID}
	if m.ThreadTS != "" {
		w["thread_ts"] = m.ThreadTS
	}
	return w
}

// Len is the length Slack's limits are checked against: UTF-16 code units.
func Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// truncate cuts s to at most limit UTF-16 code units, as Slack silently does.
func truncate(s string, limit int) string {
	n := 0
	for i, r := range s {
		n += utf16.RuneLen(r)
		if n > limit {
			return s[:i]
		}
	}
	return s
}
