package slack

import (
	"context"
	"time"

	"kimibot/conversation"
	"kimibot/internal/chattext"
)

// nativePlan is how far the current streamed message can go now.
type nativePlan struct {
	// upto is the end of the raw text the message may show.
	upto int
	// complete is true when the message's text is final: the answer ended
	// or outgrew it. sp is then its span, and last says no part follows.
	complete, last bool
	sp             chattext.Span
}

// planNative works out the current part. While the answer is still coming,
// the last holdback units of the message's room wait, so that the cut into
// the next message can still fall at a paragraph or line boundary.
func (r *reply) planNative(s snapshot) nativePlan {
	sp := slackText.Next(s.text, r.start, r.fence, max(r.sent, r.start+1))
	if sp.End < len(s.text) {
		return nativePlan{upto: sp.End, complete: true, sp: sp}
	}
	if s.end != nil {
		return nativePlan{upto: len(s.text), complete: true, last: true, sp: sp}
	}
	room := slackText.Limit - slackText.Len(sp.Prefix) - holdback
	return nativePlan{upto: max(r.start+slackText.Count.Within(s.text[r.start:], room), r.sent), sp: sp}
}

// stepNative streams the answer: chat.startStream once there is text,
// chat.appendStream as it grows, and chat.stopStream with the rest of the
// message and, on the last one, the footer. If Slack refuses to stream
// here, the reply falls back to posted messages for good in this channel.
func (r *reply) stepNative() (bool, error) {
	if r.nativeDone {
		return false, nil
	}
	p := r.planNative(r.snap())
	switch {
	case !r.streaming && p.upto == r.start && !p.complete:
		return false, nil
	case !r.streaming:
		return r.startPart()
	case p.complete:
		err := r.stopPart(p)
		if slackError(err) != "" {
			err = r.giveUp(err, r.sent)
		}
		return true, err
	case p.upto <= r.sent:
		return false, nil
	}
	return true, r.appendMore()
}

// appendMore appends the text that may show now to the current stream.
func (r *reply) appendMore() error {
	if err := r.waitEditInterval(); err != nil {
		return err
	}
	// The append budget is shared by every stream in the workspace, so the
	// wait can be long; once the message is complete, chat.stopStream
	// carries the text instead and the slot goes back.
	complete := &stopper{wake: r.wake, stop: func() bool { return r.planNative(r.snap()).complete }}
	_, err := r.a.callTurn(r.ctx, r.ws.appends, r.claim(), "chat.appendStream", complete, func(ctx context.Context) error {
		s := r.snap()
		q := r.planNative(s)
		if q.complete || q.upto <= r.sent {
			// chat.stopStream will carry the text.
			return nil
		}
		if err := r.a.appendStream(ctx, r.to.Thread.Channel, r.cur().ts, s.text[r.sent:q.upto]); err != nil {
			return err
		}
		r.sent = q.upto
		return nil
	})
	r.lastEdit = time.Now()
	if slackError(err) != "" {
		return r.giveUp(err, r.sent)
	}
	return err
}

// startPart opens the stream of the part at r.start with the text so far.
// chat.startStream and chat.stopStream are Tier 2: when no slot for both
// comes before a post in the channel could show the text, the reply posts
// this and later parts instead.
func (r *reply) startPart() (bool, error) {
	slot, ok := r.ws.admitStream(max(streamWait, r.ch.post.nextFree()))
	if !ok {
		r.postInstead()
		return true, nil
	}
	var ts string
	var upto int
	th := r.to.Thread
	err := r.a.callReserved(r.ctx, r.ws.start, slot, "chat.startStream", func(ctx context.Context) error {
		s := r.snap()
		p := r.planNative(s)
		md := p.sp.Prefix + s.text[r.start:p.upto]
		if s.text == "" {
			md = noAnswer
		}
		// A stream that starts must be stopped, so the call is not given
		// up halfway: its answer says which stream to stop.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		defer cancel()
		var err error
		ts, err = r.a.startStream(cctx, th.Channel, th.Thread, r.to.User, th.Workspace, md)
		upto = p.upto
		return err
	})
	if err != nil {
		r.ws.streamClosed()
	}
	if streamRefused(err) {
		r.log.Info("slack refused streaming here, posting messages instead", "err", err)
		r.ch.refuseStream()
		r.native = false
		return true, nil
	}
	if err != nil {
		return false, err
	}
	r.msgs = append(r.msgs, &posted{ts: ts, streamed: true})
	r.opened(ts, conversation.ReplyModeStream)
	r.streaming, r.sent, r.textShown = true, upto, true
	r.lastEdit = time.Now()
	return true, nil
}

// stopPart ends the current stream with the rest of its part; the next
// part, if any, starts after it.
func (r *reply) stopPart(p nativePlan) error {
	s := r.snap()
	md := s.text[r.sent:p.upto] + p.sp.Suffix
	footer := ""
	if p.last {
		footer = r.footer(s)
	}
	err := r.stopStream(r.ctx, md, footer)
	if err != nil {
		return err
	}
	r.lastEdit = time.Now()
	if p.last {
		r.nativeDone = true
		return nil
	}
	r.start, r.fence, r.sent = p.sp.End, p.sp.After, p.sp.End
	return nil
}

// stopStream stops the open stream with its last text and footer. The
// stream counts as closed whatever the outcome: a stream Slack refuses to
// stop has ended already.
func (r *reply) stopStream(ctx context.Context, md, footer string) error {
	err := r.a.call(ctx, r.ws.stop, "chat.stopStream", func(ctx context.Context) error {
		return r.a.stopStream(ctx, r.to.Thread.Channel, r.cur().ts, md, footer)
	})
	if err == nil || slackError(err) != "" {
		r.streaming = false
		r.ws.streamClosed()
	}
	return err
}

// stopOpenStream stops a stream left open by a reply that failed, so that
// Slack does not show it as still being written.
func (r *reply) stopOpenStream() {
	if !r.streaming {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), stopTimeout)
	defer cancel()
	if err := r.stopStream(ctx, "", ""); err != nil {
		r.log.Warn("could not stop the stream of a failed reply", "err", err)
		r.streaming = false
		r.ws.streamClosed()
	}
}

// stopTimeout bounds stopping the stream of a failed reply.
const stopTimeout = 10 * time.Second

// postInstead makes a reply that gets no stream slot soon post its
// answer instead, at once: the text shows in a post in its own channel,
// and only this answer gives up streaming.
func (r *reply) postInstead() {
	r.log.Debug("no stream slot soon, posting the answer instead")
	r.native = false
}

// streamWait is the least a reply may wait for a chat.startStream slot
// before posting its text instead.
const streamWait = 20 * time.Millisecond
