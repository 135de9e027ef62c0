package slack

import (
	"cmp"
	"context"
	"time"

	"kimibot/conversation"
	"kimibot/internal/chattext"
)

// stepPosted keeps posted messages up to date, for replies that cannot
// stream natively: the first message is posted at once (a placeholder until
// text comes) and edited with chat.update as the text grows; a full message
// gets its final part and the rest goes on in a new message.
func (r *reply) stepPosted() (bool, error) {
	if len(r.msgs) == 0 || r.cur().streamed || r.cur().lost {
		return true, r.postPart()
	}
	s := r.snap()
	want, sp, full := r.wantPosted(s)
	if want == r.cur().shown {
		if !full {
			return false, nil
		}
	} else {
		if !full && s.end == nil {
			if err := r.waitEditInterval(); err != nil {
				return false, err
			}
		}
		_, err := r.a.callTurn(r.ctx, r.ws.updates, r.claim(), "chat.update", nil, func(ctx context.Context) error {
			s := r.snap()
			want, sp, full = r.wantPosted(s)
			if want == r.cur().shown {
				return nil
			}
			if err := r.a.updateMessage(ctx, r.to.Thread.Channel, r.cur().ts, want); err != nil {
				return err
			}
			r.cur().shown = want
			r.textShown = r.textShown || s.text != ""
			return nil
		})
		if slackError(err) != "" {
			return true, r.giveUp(err, r.start)
		}
		if err != nil {
			return false, err
		}
		r.lastEdit = time.Now()
		if !full {
			return true, nil
		}
	}
	r.start, r.fence = sp.End, sp.After
	return true, r.postPart()
}

// postPart posts the message for the part that starts at r.start, after
// the posts other answers queued in the channel before it.
func (r *reply) postPart() error {
	prev, done := r.ch.queuePost()
	defer done()
	select {
	case <-prev:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	var ts string
	var shown content
	err := r.a.call(r.ctx, r.ch.post, "chat.postMessage", func(ctx context.Context) error {
		defer done()
		s := r.snap()
		shown, _, _ = r.wantPosted(s)
		r.textShown = r.textShown || s.text != ""
		var err error
		ts, err = r.a.postMessage(ctx, r.to.Thread.Channel, r.to.Thread.Thread, shown)
		return err
	})
	if err != nil {
		return err
	}
	r.msgs = append(r.msgs, &posted{ts: ts, shown: shown})
	r.opened(ts, conversation.ReplyModeMessage)
	r.lastEdit = time.Now()
	return nil
}

// wantPosted is what the message of the current part should show. full
// reports that the text has outgrown it: it then shows its final part, sp.
func (r *reply) wantPosted(s snapshot) (want content, sp chattext.Span, full bool) {
	sp = slackText.Next(s.text, r.start, r.fence, r.start+1)
	md := sp.Text(s.text)
	if sp.End < len(s.text) {
		return content{md: md}, sp, true
	}
	status := s.status
	if s.end != nil {
		status = ""
	}
	switch {
	case s.text == "" && s.end != nil:
		md = noAnswer
	case md == "":
		md = statusLine(cmp.Or(status, "thinking…"))
	case r.statusInMsg && status != "":
		md += "\n\n" + statusLine(status)
	}
	return content{md: md, footer: r.footer(s)}, sp, false
}

// noAnswer shows in place of an empty answer.
const noAnswer = "_No answer._"
