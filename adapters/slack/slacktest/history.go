package slacktest

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// userMsg is a message a person wrote, known from the events built for it.
type userMsg struct {
	Channel, TS, ThreadTS, User, Text string
}

// noteUserMessageLocked remembers the message an event describes, so that
// conversations.replies and chat.getPermalink know it.
func (s *Server) noteUserMessageLocked(event map[string]any) {
	typ, _ := event["type"].(string)
	channel, _ := event["channel"].(string)
	ts, _ := event["ts"].(string)
	user, _ := event["user"].(string)
	if (typ != "message" && typ != "app_mention") || channel == "" || ts == "" || user == "" {
		return
	}
	key := channel + "/" + ts
	if _, ok := s.userMsgs[key]; ok {
		return
	}
	thread, _ := event["thread_ts"].(string)
	text, _ := event["text"].(string)
	s.userMsgs[key] = &userMsg{Channel: channel, TS: ts, ThreadTS: thread, User: user, Text: text}
}

// wireMsg is a message as conversations.replies returns it.
type wireMsg struct {
	ts     string
	fields map[string]any
}

// repliesLocked answers conversations.replies: the thread's parent and
// replies, bot and user messages alike, oldest first, with metadata only
// when include_all_metadata is set.
func (s *Server) repliesLocked(p url.Values) reply {
	channel, ts := p.Get("channel"), p.Get("ts")
	if channel == "" || ts == "" {
		return fail("invalid_arguments")
	}
	withMeta := p.Get("include_all_metadata") == "1" || p.Get("include_all_metadata") == "true"
	var msgs []wireMsg
	for _, m := range s.msgs {
		if m.Channel == channel && (m.TS == ts || m.ThreadTS == ts) {
			w := s.wireLocked(m)
			if withMeta && m.Metadata != nil {
				w["metadata"] = m.Metadata
			}
			msgs = append(msgs, wireMsg{m.TS, w})
		}
	}
	for _, m := range s.userMsgs {
		if m.Channel == channel && (m.TS == ts || m.ThreadTS == ts) {
			w := map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS}
			if m.ThreadTS != "" {
				w["thread_ts"] = m.ThreadTS
			}
			msgs = append(msgs, wireMsg{m.TS, w})
		}
	}
	if len(msgs) == 0 {
		return fail("thread_not_found")
	}
	sort.Slice(msgs, func(i, j int) bool { return tsLess(msgs[i].ts, msgs[j].ts) })
	return page(msgs, p)
}

// historyLocked answers conversations.history: the channel's messages
// outside threads (thread parents included), newest first.
func (s *Server) historyLocked(p url.Values) reply {
	channel := p.Get("channel")
	if channel == "" {
		return fail("channel_not_found")
	}
	withMeta := p.Get("include_all_metadata") == "1" || p.Get("include_all_metadata") == "true"
	var msgs []wireMsg
	for _, m := range s.msgs {
		if m.Channel == channel && (m.ThreadTS == "" || m.ThreadTS == m.TS) {
			w := s.wireLocked(m)
			if withMeta && m.Metadata != nil {
				w["metadata"] = m.Metadata
			}
			msgs = append(msgs, wireMsg{m.TS, w})
		}
	}
	for _, m := range s.userMsgs {
		if m.Channel == channel && (m.ThreadTS == "" || m.ThreadTS == m.TS) {
			msgs = append(msgs, wireMsg{m.TS, map[string]any{"type": "message", "user": m.User, "text": m.Text, "ts": m.TS}})
		}
	}
	sort.Slice(msgs, func(i, j int) bool { return tsLess(msgs[j].ts, msgs[i].ts) })
	return page(msgs, p)
}

// page returns the part of msgs a cursor and limit select.
func page(msgs []wireMsg, p url.Values) reply {
	limit, err := strconv.Atoi(p.Get("limit"))
	if err != nil || limit <= 0 || limit > 1000 {
		limit = 1000
	}
	from := 0
	if c := p.Get("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "off:"))
		if err != nil || n < 0 || n > len(msgs) {
			return fail("invalid_cursor")
		}
		from = n
	}
	to := min(len(msgs), from+limit)
	out := make([]map[string]any, 0, to-from)
	for _, m := range msgs[from:to] {
		out = append(out, m.fields)
	}
	next := ""
	if to < len(msgs) {
		next = "off:" + strconv.Itoa(to)
	}
	return ok(map[string]any{"messages": out, "has_more": next != "",
		"response_metadata": map[string]any{"next_cursor": next}})
}

// tsLess orders Slack timestamps.
func tsLess(a, b string) bool {
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	if x != y {
		return x < y
	}
	return a < b
}

// permalinkLocked answers chat.getPermalink for a known message.
func (s *Server) permalinkLocked(p url.Values) reply {
	channel, ts := p.Get("channel"), p.Get("message_ts")
	thread := ""
	if m, ok := s.msgs[channel+"/"+ts]; ok {
		thread = m.ThreadTS
	} else if u, ok := s.userMsgs[channel+"/"+ts]; ok {
		thread = u.ThreadTS
	} else {
		return fail("message_not_found")
	}
	return ok(map[string]any{"channel": channel, "permalink": Permalink(channel, ts, thread)})
}

// Permalink is the link the fake gives to the message at channel/ts, in
// Slack's form; thread is the message's thread, if it is a reply.
func Permalink(channel, ts, thread string) string {
	link := "https://kimibot-test.slack.com/archives/" + channel + "/p" + strings.ReplaceAll(ts, ".", "")
	if thread != "" && thread != ts {
		link += "?thread_ts=" + thread + "&cid=" + channel
	}
	return link
}

// SetUserGroup makes usergroups.users.list list users as the members of group.
func (s *Server) SetUserGroup(group string, users ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[group] = append([]string(nil), users...)
}

func (s *Server) groupMembersLocked(p url.Values) reply {
	users, ok := s.groups[p.Get("usergroup")]
	if !ok {
		return fail("no_such_subteam")
	}
	return reply{fields: map[string]any{"users": append([]string{}, users...)}}
}
