package discord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"kimibot/bot"
	"kimibot/internal/chattext"
)

// Stream timing.
const (
	// typingEvery refreshes the typing indicator, which lasts 10 s.
	typingEvery = 8 * time.Second
	// typingRetry is the next try after a typing request was skipped.
	typingRetry = time.Second
	// maxReplyLife bounds a reply whose caller never finishes it.
	maxReplyLife = 30 * time.Minute
)

var (
	errFinished = errors.New("discord: reply already finished")
	// errStale means a planned write was overtaken by newer text.
	errStale = errors.New("discord: write overtaken")
)

// stream is one reply being written. Callers append text; a flusher
// goroutine brings the channel up to date: it posts the first text at
// once, edits the message as text grows (coalescing: only the latest text
// is sent), splits at 2,000 characters into new messages, and sends the
// final edit. Writes are paced by the limiter.
type stream struct {
	a     *Adapter
	log   *slog.Logger
	to    bot.ReplyTarget
	nonce string

	mu       sync.Mutex
	text     strings.Builder
	status   bool
	finished bool
	err      error
	wake     chan struct{}
	hurry    chan struct{}
	done     chan struct{}
	typing   atomic.Bool

	// Owned by the flusher goroutine.
	dest     destination
	off      int
	fence    chattext.Fence
	parts    []string
	msgs     []sent
	typingAt time.Time
	// shownAt is when the answer last changed visibly, or began: the
	// longer ago, the sooner its next write.
	shownAt time.Time
	// firstOut stops counting the answer among those yet to show a message.
	firstOut func()
}

// sent is a message of the reply and the content it shows.
type sent struct {
	id, content string
	// skipped parts hold only whitespace, which Discord does not post.
	skipped bool
}

// write is the next request that brings the channel up to date.
type write struct {
	create  bool
	index   int
	content string
	urgent  bool
}

var _ bot.Reply = (*stream)(nil)

func newStream(a *Adapter, to bot.ReplyTarget) *stream {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &stream{
		a: a, to: to, nonce: hex.EncodeToString(b),
		log:  a.log.With("channel", to.Thread.Channel, "thread", to.Thread.Thread),
		wake: make(chan struct{}, 1), hurry: make(chan struct{}), done: make(chan struct{}),
		shownAt: time.Now(), firstOut: a.limits.expectFirst(),
	}
}

func (s *stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Status shows the typing indicator while the model thinks or runs a tool.
func (s *stream) Status(ctx context.Context, st string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return errFinished
	}
	s.status = st != ""
	s.signal()
	return nil
}

// Append adds text to the answer. It reports a failure of the reply's
// messages so that the caller can stop early.
func (s *stream) Append(ctx context.Context, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return errFinished
	}
	s.text.WriteString(text)
	s.status = false
	s.signal()
	return s.err
}

// Finish sends the final text with the footer and returns the messages.
func (s *stream) Finish(ctx context.Context, f bot.Footer) ([]bot.MsgRef, error) {
	extra := ""
	if s.a.cfg.Footer {
		extra = discordText.Footer(f.Model, f.Usage, f.Elapsed)
	}
	if err := s.end("\n", extra); err != nil {
		return nil, err
	}
	select {
	case <-s.done:
		return s.refs(), s.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Fail ends the answer with an italic error line after the text so far.
func (s *stream) Fail(ctx context.Context, userMsg string) error {
	if err := s.end("\n\n", errorLine(userMsg)); err != nil {
		return err
	}
	select {
	case <-s.done:
		return s.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// end fixes the final text: it appends line (after sep, closing a code
// block left open so the line renders as text) and wakes the flusher.
func (s *stream) end(sep, line string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finished {
		return errFinished
	}
	if line != "" {
		text := s.text.String()
		s.text.WriteString(discordText.Close(text))
		if text != "" {
			s.text.WriteString(sep)
		}
		s.text.WriteString(line)
	}
	s.finished = true
	close(s.hurry)
	s.signal()
	return nil
}

func (s *stream) refs() []bot.MsgRef {
	var out []bot.MsgRef
	for _, m := range s.msgs {
		if !m.skipped {
			out = append(out, bot.MsgRef{Platform: "discord", Channel: s.dest.channel, ID: m.id})
		}
	}
	return out
}

func (s *stream) snapshot() (text string, finished, typing bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text.String(), s.finished, !s.finished && s.status
}

// run is the flusher goroutine.
func (s *stream) run(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxReplyLife)
	defer cancel()
	defer close(s.done)
	defer s.firstOut()
	s.dest = s.a.destination(ctx, s.to)
	for {
		w, finished, ok := s.plan()
		if !ok {
			if finished {
				return
			}
			if err := s.idle(ctx); err != nil {
				s.setErr(fmt.Errorf("write answer: %w", err))
				return
			}
			continue
		}
		if err := s.send(ctx, w); err != nil && !errors.Is(err, errStale) {
			s.setErr(fmt.Errorf("write answer in channel %s: %w", s.dest.channel, err))
			return
		}
	}
}

func (s *stream) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// idle keeps the typing indicator up while wanted and waits for news.
func (s *stream) idle(ctx context.Context) error {
	_, _, status := s.snapshot()
	var timer <-chan time.Time
	if status || len(s.msgs) == 0 {
		if now := time.Now(); !now.Before(s.typingAt) {
			s.typingAt = now.Add(typingEvery)
			if !s.sendTyping() {
				s.typingAt = now.Add(typingRetry)
			}
		}
		t := time.NewTimer(time.Until(s.typingAt))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-s.wake:
	case <-timer:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// sendTyping posts a typing indicator in the background if the limits
// allow one now; it reports false when it was skipped.
func (s *stream) sendTyping() bool {
	endpoint := discordgo.EndpointChannelTyping(s.dest.channel)
	route, major := routeOf(http.MethodPost, endpoint)
	if !s.typing.CompareAndSwap(false, true) {
		return false
	}
	release, ok := s.a.limits.try(route, major)
	if !ok {
		s.typing.Store(false)
		return false
	}
	go func() {
		defer s.typing.Store(false)
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.a.session.ChannelTyping(s.dest.channel, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false)); err != nil {
			s.log.Debug("typing indicator", "err", err)
		}
	}()
	return true
}

// plan splits off the parts that no longer fit in the live message and
// returns the next write, if any.
func (s *stream) plan() (write, bool, bool) {
	text, finished, _ := s.snapshot()
	s.advance(text)
	for i, p := range s.parts {
		switch {
		case i < len(s.msgs) && (s.msgs[i].skipped || s.msgs[i].content == p):
		case i < len(s.msgs):
			return write{index: i, content: p, urgent: true}, finished, true
		case blank(p):
			s.msgs = append(s.msgs, sent{skipped: true})
		default:
			return write{create: true, index: i, content: p, urgent: true}, finished, true
		}
	}
	live, i := s.live(text, finished), len(s.parts)
	switch {
	case blank(live):
	case i >= len(s.msgs):
		return write{create: true, index: i, content: live, urgent: true}, finished, true
	case s.msgs[i].content != live:
		return write{index: i, content: live, urgent: finished}, finished, true
	}
	return write{}, finished, false
}

// advance freezes the parts of the text that no longer fit in the live
// message. The split is stable as text grows, so a frozen part is the one
// the whole answer will have.
func (s *stream) advance(text string) {
	for s.off < len(text) {
		sp := discordText.Next(text, s.off, s.fence, s.off+1)
		if sp.End == len(text) {
			return
		}
		s.parts = append(s.parts, sp.Text(text))
		s.off, s.fence = sp.End, sp.After
	}
}

// live renders the part after the frozen ones; while the text grows, a
// code block open at its end is closed so that it shows as code.
func (s *stream) live(text string, finished bool) string {
	if s.off >= len(text) {
		return ""
	}
	sp := discordText.Next(text, s.off, s.fence, s.off+1)
	if finished {
		return sp.Text(text)
	}
	return discordText.Live(text, sp)
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }

// send performs a planned write. The content is taken again when the
// limiter lets the request go, so a delayed edit carries the latest text.
func (s *stream) send(ctx context.Context, w write) error {
	method, endpoint := http.MethodPatch, ""
	if w.create {
		method, endpoint = http.MethodPost, discordgo.EndpointChannelMessages(s.dest.channel)
	} else {
		endpoint = discordgo.EndpointChannelMessage(s.dest.channel, s.msgs[w.index].id)
	}
	p := pace{urgent: func() bool { return w.urgent || s.isFinished() }, first: w.create && w.index == 0, hurry: s.hurry,
		since: s.shownAt, ended: s.isFinished}
	err := s.a.call(ctx, method, endpoint, p, func(opts ...discordgo.RequestOption) error {
		cur, _, ok := s.plan()
		if !ok || cur.create != w.create || cur.index != w.index {
			return errStale
		}
		if cur.create {
			return s.create(cur, opts...)
		}
		if err := s.a.editMessage(s.dest.channel, s.msgs[cur.index].id, cur.content, opts...); err != nil {
			return err
		}
		s.msgs[cur.index].content = cur.content
		s.shownAt = time.Now()
		return nil
	})
	if _, code := restCode(err); code == codeUnknownChannel && w.create && w.index == 0 && s.dest.fallback != nil {
		s.log.Info("thread does not exist, replying in the channel")
		s.dest = *s.dest.fallback
		return nil
	}
	return err
}

func (s *stream) create(w write, opts ...discordgo.RequestOption) error {
	body := messageCreate{Content: w.content, Nonce: s.nonce + "-" + strconv.Itoa(w.index), EnforceNonce: true, AllowedMentions: noPings(false)}
	if w.index == 0 && s.dest.replyTo != "" {
		no := false
		body.MessageReference = &discordgo.MessageReference{MessageID: s.dest.replyTo, ChannelID: s.dest.channel, FailIfNotExists: &no}
		body.AllowedMentions = noPings(true)
	}
	m, err := s.a.postMessage(s.dest.channel, body, opts...)
	if err != nil {
		return err
	}
	s.msgs = append(s.msgs, sent{id: m.ID, content: w.content})
	s.opened(m.ID)
	s.shownAt = time.Now()
	s.firstOut()
	// Posting a message ends the typing indicator.
	s.typingAt = time.Time{}
	return nil
}

func (s *stream) isFinished() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished
}
