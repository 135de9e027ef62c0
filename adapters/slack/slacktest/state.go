package slacktest

import (
	"encoding/json"
	"net/url"
	"strings"
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
	// Footer is the text of its context blocks.
	Footer string
	// Streamed is true for a message made by chat.startStream, and
	// Streaming while that stream has not been stopped.
	Streamed, Streaming bool
	// Edits counts the chat.update and chat.appendStream calls applied.
	Edits int
	// States lists every visible state in order, the first being the post.
	States []State
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

// Views returns the views opened with views.open, as sent.
func (s *Server) Views() []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]json.RawMessage(nil), s.views...)
}

func (m *Message) clone() Message {
	c := *m
	c.States = append([]State(nil), m.States...)
	return c
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
	m := s.newMessageLocked(channel, p.Get("thread_ts"))
	m.Text = truncate(p.Get("text"), MaxText)
	m.Markdown, m.Footer = blocks.markdown, blocks.footer
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
		m.Markdown, m.Footer = blocks.markdown, blocks.footer
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

func (s *Server) openViewLocked(p url.Values) reply {
	if p.Get("trigger_id") == "" {
		return fail("invalid_trigger_id")
	}
	s.views = append(s.views, json.RawMessage(p.Get("view")))
	return ok(map[string]any{"view": map[string]any{"id": "V" + strings.ReplaceAll(s.nextTSLocked(), ".", "")}})
}

func (s *Server) wireLocked(m *Message) map[string]any {
	w := map[string]any{"type": "message", "text": m.Text, "ts": m.TS,
		"user": s.opts.BotUserID, "bot_id": s.opts.BotID}
	if m.ThreadTS != "" {
		w["thread_ts"] = m.ThreadTS
	}
	return w
}

// shownBlocks is what a blocks parameter shows.
type shownBlocks struct{ markdown, footer string }

// parseBlocks reads a blocks parameter and checks Slack's block limits,
// returning the Slack error code of a violation.
func parseBlocks(raw string) (shownBlocks, string) {
	if raw == "" {
		return shownBlocks{}, ""
	}
	var blocks []struct {
		Type     string `json:"type"`
		Text     json.RawMessage
		Elements []struct {
			Text string `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(raw), &blocks); err != nil {
		return shownBlocks{}, "invalid_blocks_format"
	}
	if len(blocks) > MaxBlocks {
		return shownBlocks{}, "invalid_blocks"
	}
	var md, foot []string
	total := 0
	for _, b := range blocks {
		switch b.Type {
		case "markdown":
			var t string
			if json.Unmarshal(b.Text, &t) != nil || Len(t) > MaxMarkdownBlock {
				return shownBlocks{}, "invalid_blocks"
			}
			total += Len(t)
			md = append(md, t)
		case "section":
			var t struct{ Text string }
			if json.Unmarshal(b.Text, &t) != nil || Len(t.Text) > MaxSectionText {
				return shownBlocks{}, "invalid_blocks"
			}
			md = append(md, t.Text)
		case "context":
			for _, e := range b.Elements {
				foot = append(foot, e.Text)
			}
		}
	}
	if total > MaxMarkdownTotal {
		return shownBlocks{}, "msg_blocks_too_long"
	}
	return shownBlocks{markdown: strings.Join(md, "\n"), footer: strings.Join(foot, " ")}, ""
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
