package slacktest

import (
	"net/url"
	"strings"
	"time"
)

// isDMChannel reports whether a channel ID is a direct message ("D…").
func isDMChannel(channel string) bool { return strings.HasPrefix(channel, "D") }

func (s *Server) startStreamLocked(p url.Values, now time.Time) reply {
	if s.noStream != "" {
		return fail(s.noStream)
	}
	channel := p.Get("channel")
	switch {
	case channel == "":
		return fail("channel_not_found")
	case p.Get("thread_ts") == "":
		return fail("invalid_arguments")
	case !isDMChannel(channel) && p.Get("recipient_user_id") == "":
		return fail("missing_recipient_user_id")
	case !isDMChannel(channel) && p.Get("recipient_team_id") == "":
		return fail("missing_recipient_team_id")
	case Len(p.Get("markdown_text")) > MaxMarkdownBlock:
		return fail("msg_too_long")
	}
	m := s.newMessageLocked(channel, p.Get("thread_ts"))
	m.Streamed, m.Streaming = true, true
	m.Markdown = p.Get("markdown_text")
	m.recordLocked(now)
	return ok(map[string]any{"channel": channel, "ts": m.TS})
}

// streamingLocked finds the stream a call addresses.
func (s *Server) streamingLocked(p url.Values) (*Message, string) {
	m := s.msgs[p.Get("channel")+"/"+p.Get("ts")]
	switch {
	case m == nil:
		return nil, "message_not_found"
	case !m.Streaming:
		return nil, "message_not_in_streaming_state"
	case Len(p.Get("markdown_text")) > MaxMarkdownBlock:
		return nil, "msg_too_long"
	}
	return m, ""
}

func (s *Server) appendStreamLocked(p url.Values, now time.Time) reply {
	m, code := s.streamingLocked(p)
	if code != "" {
		return fail(code)
	}
	if p.Get("markdown_text") == "" {
		return fail("invalid_arguments")
	}
	m.Markdown += p.Get("markdown_text")
	m.Edits++
	m.recordLocked(now)
	return ok(map[string]any{"channel": m.Channel, "ts": m.TS})
}

func (s *Server) stopStreamLocked(p url.Values, now time.Time) reply {
	m, code := s.streamingLocked(p)
	if code != "" {
		return fail(code)
	}
	blocks, code := parseBlocks(p.Get("blocks"))
	if code != "" {
		return fail(code)
	}
	m.Markdown += p.Get("markdown_text")
	if blocks.markdown != "" {
		m.Markdown += "\n" + blocks.markdown
	}
	m.Footer = blocks.footer
	m.Streaming = false
	m.recordLocked(now)
	return ok(map[string]any{"channel": m.Channel, "ts": m.TS})
}
