package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"kimibot/conversation"
)

// Observer receives the engine's operational measurements; the metrics
// package implements it. Every label it is given is bounded: platform and
// model names, outcomes, registered tool names, and channel IDs (never a
// user ID, and direct-message channels are reported as "dm").
type Observer interface {
	// TurnFinished counts a turn that ended with outcome ("answered",
	// "drafted" or "failed") after d.
	TurnFinished(platform, outcome string, d time.Duration)
	// ModelCall records one model call: its usage with the cost filled in,
	// the wait for the first streamed chunk and the whole call.
	ModelCall(platform, model, channel string, usage conversation.Usage, firstToken, total time.Duration)
	// ToolCall counts a tool call with its outcome ("ok" or "error").
	ToolCall(tool, outcome string)
	// QueueDepth reports the events queued or being processed.
	QueueDepth(n int)
	// QueueWait records how long an event waited in its thread's queue
	// before its worker took it.
	QueueWait(d time.Duration)
	// Stream reports a reply opened (+1) or ended (-1).
	Stream(delta int)
	// FirstVisible records the time from a turn's start to the first
	// answer text shown to the user.
	FirstVisible(platform string, d time.Duration)
}

// nopObserver is the Observer used when none is configured.
type nopObserver struct{}

var _ Observer = nopObserver{}

func (nopObserver) TurnFinished(string, string, time.Duration) {}
func (nopObserver) ModelCall(string, string, string, conversation.Usage, time.Duration, time.Duration) {
}
func (nopObserver) ToolCall(string, string)            {}
func (nopObserver) QueueDepth(int)                     {}
func (nopObserver) QueueWait(time.Duration)            {}
func (nopObserver) Stream(int)                         {}
func (nopObserver) FirstVisible(string, time.Duration) {}

// observeTurn reports the end of a turn.
func (e *Engine) observeTurn(t *turn, err error) {
	outcome := "answered"
	if _, drafted := t.dest.(drafting); drafted {
		outcome = "drafted"
	}
	if err != nil {
		outcome = "failed"
	}
	e.cfg.Observer.TurnFinished(t.ev.Thread.Platform, outcome, e.cfg.Now().Sub(t.start))
}

// observeTool counts a tool call; names the registry does not know (the
// model may invent any) are counted as "unknown".
func (e *Engine) observeTool(name string, isError bool) {
	outcome := "ok"
	if isError {
		outcome = "error"
	}
	if !e.knownTool(name) {
		name = "unknown"
	}
	e.cfg.Observer.ToolCall(name, outcome)
}

func (e *Engine) knownTool(name string) bool {
	if e.cfg.Tools == nil {
		return false
	}
	for _, s := range e.cfg.Tools.Specs() {
		if s.Name == name {
			return true
		}
	}
	return false
}

// metricChannel is the channel label of a thread: direct messages are one
// "dm" series, since a DM channel stands for a user.
func metricChannel(th ThreadRef) string {
	if th.DM {
		return "dm"
	}
	return th.Channel
}

// observedStream starts a model call whose timing and usage reach the observer.
func (e *Engine) observedStream(ctx context.Context, t *turn, req ChatRequest) (ChatStream, error) {
	start := e.cfg.Now()
	s, err := e.cfg.Model.Stream(ctx, req)
	if err != nil {
		return nil, err
	}
	return &timedStream{ChatStream: s, e: e, ctx: ctx, t: t, model: req.Model, start: start}, nil
}

// timedStream measures a model stream and reports it on its final chunk.
type timedStream struct {
	ChatStream
	e          *Engine
	ctx        context.Context
	t          *turn
	model      string
	start      time.Time
	firstToken time.Duration
}

// Recv implements ChatStream.
func (s *timedStream) Recv() (Chunk, error) {
	c, err := s.ChatStream.Recv()
	if err != nil {
		return c, err
	}
	if s.firstToken == 0 {
		s.firstToken = max(s.e.cfg.Now().Sub(s.start), time.Nanosecond)
	}
	if f := c.Final; f != nil {
		now := s.e.cfg.Now()
		model := f.Model
		if model == "" {
			model = s.model
		}
		u := f.Usage
		if u.Cost == 0 {
			u.Cost = s.e.cost(s.ctx, model, u)
		}
		th := s.t.ev.Thread
		s.e.cfg.Observer.ModelCall(th.Platform, model, metricChannel(th), u, s.firstToken, now.Sub(s.start))
	}
	return c, nil
}

// observeReply wraps a platform reply so that the observer sees the
// stream open and end and the first text the user sees.
func (e *Engine) observeReply(t *turn, r Reply) Reply {
	e.cfg.Observer.Stream(1)
	return &observedReply{Reply: r, e: e, platform: t.ev.Thread.Platform, start: t.start}
}

// observedReply is a Reply whose life the observer follows.
type observedReply struct {
	Reply
	e        *Engine
	platform string
	start    time.Time
	shown    bool
	endOnce  sync.Once
}

// Append implements Reply.
func (r *observedReply) Append(ctx context.Context, text string) error {
	err := r.Reply.Append(ctx, text)
	if err == nil && !r.shown && text != "" {
		r.shown = true
		r.e.cfg.Observer.FirstVisible(r.platform, r.e.cfg.Now().Sub(r.start))
	}
	return err
}

// Finish implements Reply.
func (r *observedReply) Finish(ctx context.Context, f Footer) ([]MsgRef, error) {
	defer r.end()
	return r.Reply.Finish(ctx, f)
}

// Fail implements Reply.
func (r *observedReply) Fail(ctx context.Context, userMsg string) error {
	defer r.end()
	return r.Reply.Fail(ctx, userMsg)
}

func (r *observedReply) end() { r.endOnce.Do(func() { r.e.cfg.Observer.Stream(-1) }) }

// logKey is the context key of a turn's logger.
type logKey struct{}

// withLogger returns ctx carrying the logger of a turn.
func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, logKey{}, l)
}

// logger returns the turn's logger carried by ctx, or the engine's.
func (e *Engine) logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return e.log
}
