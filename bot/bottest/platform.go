// Package bottest provides a recording fake Platform for engine tests.
package bottest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"kimibot/bot"
	"kimibot/conversation"
)

// Platform is a fake chat platform that records every reply.
type Platform struct {
	name string

	mu       sync.Mutex
	h        bot.Handler
	started  chan struct{}
	replies  []*Reply
	changed  chan struct{}
	files    map[string][]byte
	msgSeq   int
	replyErr error
	cards    []*CardState
	posts    []Posted
	postErr  error
	groups   map[string][]string
	// interrupted are the Interrupt calls.
	interrupted []Interrupted
}

var (
	_ bot.Platform   = (*Platform)(nil)
	_ bot.Downloader = (*Platform)(nil)
)

// NewPlatform returns a fake platform with the given name.
func NewPlatform(name string) *Platform {
	return &Platform{name: name, started: make(chan struct{}), changed: make(chan struct{}), files: map[string][]byte{},
		groups: map[string][]string{}}
}

// Name returns the platform name.
func (p *Platform) Name() string { return p.name }

// Run stores the host's event handler and blocks until ctx ends.
func (p *Platform) Run(ctx context.Context, h bot.Host) error {
	p.mu.Lock()
	p.h = h.Events
	close(p.started)
	p.mu.Unlock()
	<-ctx.Done()
	return nil
}

// Send delivers ev to the engine once Run has started.
func (p *Platform) Send(ctx context.Context, ev bot.Event) error {
	select {
	case <-p.started:
	case <-ctx.Done():
		return ctx.Err()
	}
	if ev.Thread.Platform == "" {
		ev.Thread.Platform = p.name
	}
	p.mu.Lock()
	h := p.h
	p.mu.Unlock()
	return h.HandleEvent(ctx, ev)
}

// AddFile makes Download return data for url.
func (p *Platform) AddFile(url string, data []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files[url] = data
}

// FailReplies makes Reply return err (nil restores normal behaviour).
func (p *Platform) FailReplies(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.replyErr = err
}

// Download returns the data added with AddFile.
func (p *Platform) Download(ctx context.Context, a bot.Attachment) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.files[a.URL]
	if !ok {
		return nil, fmt.Errorf("download %s: not found", a.URL)
	}
	return d, nil
}

// Reply opens a recorded reply.
func (p *Platform) Reply(ctx context.Context, to bot.ReplyTarget) (bot.Reply, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.replyErr != nil {
		return nil, p.replyErr
	}
	p.msgSeq++
	r := &Reply{p: p, Target: to, Opened: time.Now(), id: fmt.Sprintf("m%d", p.msgSeq)}
	p.replies = append(p.replies, r)
	p.notifyLocked()
	return r, nil
}

func (p *Platform) notifyLocked() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// Replies returns the replies opened so far.
func (p *Platform) Replies() []*Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Reply(nil), p.replies...)
}

// WaitDone waits until n replies have finished or failed and returns them.
func (p *Platform) WaitDone(ctx context.Context, n int) ([]*Reply, error) {
	for {
		p.mu.Lock()
		var done []*Reply
		for _, r := range p.replies {
			if r.ended {
				done = append(done, r)
			}
		}
		ch := p.changed
		p.mu.Unlock()
		if len(done) >= n {
			return done, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return done, fmt.Errorf("wait for %d finished replies (have %d): %w", n, len(done), ctx.Err())
		}
	}
}

// WaitFirstText waits until n replies have received text.
func (p *Platform) WaitFirstText(ctx context.Context, n int) error {
	for {
		p.mu.Lock()
		have := 0
		for _, r := range p.replies {
			if r.appends > 0 {
				have++
			}
		}
		ch := p.changed
		p.mu.Unlock()
		if have >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d replies with text (have %d): %w", n, have, ctx.Err())
		}
	}
}

// Reply is a recorded answer.
type Reply struct {
	p      *Platform
	id     string
	Target bot.ReplyTarget
	Opened time.Time

	text      strings.Builder
	statuses  []string
	appends   int
	firstText time.Time
	footer    *bot.Footer
	failure   string
	ended     bool
}

var _ bot.Reply = (*Reply)(nil)

// Status records s.
func (r *Reply) Status(ctx context.Context, s string) error {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	r.statuses = append(r.statuses, s)
	return nil
}

// Append records text. The first text posts the reply's message, as a
// platform would, and then Target.Opened is told about the message, before
// anything more is written to it; outside the platform's lock, so that
// other replies are not held up while the engine records the message.
func (r *Reply) Append(ctx context.Context, text string) error {
	r.p.mu.Lock()
	if r.ended {
		r.p.mu.Unlock()
		return fmt.Errorf("append after end")
	}
	first := r.appends == 0
	if first {
		r.firstText = time.Now()
		r.p.notifyLocked()
	}
	r.appends++
	r.text.WriteString(text)
	r.p.mu.Unlock()
	if first && r.Target.Opened != nil {
		r.Target.Opened(bot.MsgRef{Platform: r.p.name, Channel: r.Target.Thread.Channel, ID: r.id},
			conversation.ReplyModeMessage)
	}
	return nil
}

// Finish records the footer.
func (r *Reply) Finish(ctx context.Context, f bot.Footer) ([]bot.MsgRef, error) {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	if r.ended {
		return nil, fmt.Errorf("finish after end")
	}
	r.ended, r.footer = true, &f
	r.p.notifyLocked()
	return []bot.MsgRef{{Platform: r.p.name, Channel: r.Target.Thread.Channel, ID: r.id}}, nil
}

// Fail records the failure message.
func (r *Reply) Fail(ctx context.Context, msg string) error {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	if r.ended {
		return fmt.Errorf("fail after end")
	}
	r.ended, r.failure = true, msg
	r.p.notifyLocked()
	return nil
}

// ID is the platform message ID Finish reports.
func (r *Reply) ID() string { return r.id }

// Text returns the text appended so far.
func (r *Reply) Text() string {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.text.String()
}

// Statuses returns the statuses shown, in order.
func (r *Reply) Statuses() []string {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return append([]string(nil), r.statuses...)
}

// Appends returns how many Append calls the reply received.
func (r *Reply) Appends() int {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.appends
}

// FirstText returns when the first text was appended (zero if none).
func (r *Reply) FirstText() time.Time {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.firstText
}

// Footer returns the footer of a finished reply, or nil.
func (r *Reply) Footer() *bot.Footer {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.footer
}

// Failure returns the failure message of a failed reply, or "".
func (r *Reply) Failure() string {
	r.p.mu.Lock()
	defer r.p.mu.Unlock()
	return r.failure
}
