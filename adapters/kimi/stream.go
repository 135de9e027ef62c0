package kimi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"kimibot/bot"
)

// Stream starts a streamed chat completion. Failures before the first token
// are retried when they are transient (rate limits, overload, server and
// connection errors); once the stream is returned nothing is retried.
func (c *Client) Stream(ctx context.Context, req bot.ChatRequest) (bot.ChatStream, error) {
	thinks := c.thinks(req)
	oreq, x, err := c.buildRequest(req, thinks)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	t := ticket{tokens: c.adm.estimate(req.Messages), onQueued: req.OnQueued, thinks: thinks}
	for attempt := 0; ; attempt++ {
		s, err := c.open(ctx, oreq, x, t)
		if err == nil {
			return s, nil
		}
		var ke *Error
		if !errors.As(err, &ke) || !ke.retryable() || attempt >= c.cfg.MaxRetries {
			return nil, err
		}
		wait := c.backoff(attempt, ke.RetryAfter)
		c.log.Warn("model call failed, retrying", "model", req.Model, "kind", ke.Kind,
			"status", ke.Status, "attempt", attempt+1, "wait", wait)
		if err := c.wait(ctx, wait); err != nil {
			return nil, fmt.Errorf("wait to retry: %w", err)
		}
	}
}

// thinks reports whether the model will think for req: the live model list
// says so when cached, else the rule table; an honoured request to disable
// thinking wins.
func (c *Client) thinks(req bot.ChatRequest) bool {
	rule := ruleFor(req.Model)
	thinks := rule.thinks
	if info, ok := c.cachedModel(req.Model); ok {
		thinks = info.Reasoning
	}
	canToggle := rule.toggle || c.cfg.Provider == OpenRouter
	switch {
	case req.Thinking == bot.ThinkingDisabled && canToggle && !rule.thinkingLocked:
		return false
	case req.Thinking == bot.ThinkingEnabled && canToggle:
		return true
	}
	return thinks
}

// ticket is what admission and the timeouts need to know of a request.
type ticket struct {
	tokens   int
	onQueued func(ahead int)
	thinks   bool
}

// open makes one attempt: once admitted, it sends the request and reads
// until the first token, so that failures before any token can be retried.
// The admission slot is held until the stream is closed.
func (c *Client) open(ctx context.Context, oreq openai.ChatCompletionRequest, x *call, t ticket) (*stream, error) {
	release, err := c.adm.Admit(ctx, t.tokens, t.onQueued)
	if err != nil {
		return nil, fmt.Errorf("wait for admission: %w", err)
	}
	attempt := *x
	attempt.firstByte, attempt.idle = c.timeouts(t.thinks)
	rs, err := c.api.CreateChatCompletionStream(withCall(ctx, &attempt), oreq)
	if err != nil {
		release()
		err = c.openError(ctx, &attempt, err)
		c.noteOutcome(err)
		return nil, c.redact(err)
	}
	s := &stream{ctx: ctx, rs: rs, redact: c.redact, release: release}
	if attempt.events != nil {
		s.events = newEventReader(attempt.events)
	}
	s.acc.model = oreq.Model
	for len(s.queue) == 0 && s.err == nil && !s.done {
		s.fill()
	}
	if len(s.queue) == 0 && s.err != nil {
		s.Close()
		c.noteOutcome(s.err)
		return nil, s.err
	}
	c.adm.Succeeded()
	return s, nil
}

// noteOutcome tells admission about a rate-limit refusal.
func (c *Client) noteOutcome(err error) {
	var ke *Error
	if errors.As(err, &ke) && ke.Kind == RateLimited {
		c.adm.RateLimited()
		conc, reqs, active := c.adm.Current()
		c.log.Warn("rate limited by the provider; admitting fewer requests", "max_concurrency", conc,
			"requests_per_window", reqs, "in_flight", active)
	}
}

// openError classifies a failure to start the stream.
func (c *Client) openError(ctx context.Context, x *call, err error) error {
	var ke *Error
	switch {
	case x.status != 0:
		return httpError(x.status, x.header, x.body)
	case errors.As(err, &ke):
		return ke
	case ctx.Err() != nil:
		return fmt.Errorf("start stream: %w", ctx.Err())
	}
	return &Error{Kind: ProviderDown, Message: err.Error()}
}

// backoff is the wait before retry attempt+1: Retry-After when the provider
// gave one (up to a minute), else exponential backoff with full jitter.
func (c *Client) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, max(c.cfg.RetryMax, maxRetryAfter))
	}
	ceil := c.cfg.RetryBase << min(attempt, 30)
	if ceil <= 0 || ceil > c.cfg.RetryMax {
		ceil = c.cfg.RetryMax
	}
	return rand.N(ceil) + 1
}

// stream is a bot.ChatStream over go-openai's stream reader.
type stream struct {
	ctx context.Context
	rs  *openai.ChatCompletionStream
	// events reads the response body go-openai's reader would read, more
	// cheaply; it is nil when the body was not seen by the transport.
	events *eventReader
	redact func(error) error
	// release gives the admission slot back; nil when there is none.
	release func()
	acc     accumulator
	queue   []bot.Chunk
	next    int
	err     error
	done    bool
	closed  atomic.Bool
}

var _ bot.ChatStream = (*stream)(nil)

// Recv returns the next chunk, the final chunk, then io.EOF.
func (s *stream) Recv() (bot.Chunk, error) {
	for {
		if s.next < len(s.queue) {
			ch := s.queue[s.next]
			s.next++
			return ch, nil
		}
		if s.err != nil {
			return bot.Chunk{}, s.err
		}
		if s.done {
			return bot.Chunk{}, io.EOF
		}
		s.fill()
	}
}

// fill reads one event into the queue, or ends the stream.
func (s *stream) fill() {
	s.queue, s.next = s.queue[:0], 0
	var raw []byte
	var err error
	if s.events != nil {
		raw, err = s.events.next()
	} else {
		raw, err = s.rs.RecvRaw()
	}
	if err != nil {
		s.end(err)
		return
	}
	var derr error
	s.queue, derr = decodeChunk(raw, &s.acc, s.queue)
	if derr != nil {
		s.fail(derr)
	}
}

// end finishes the stream after the reader stopped with err.
func (s *stream) end(err error) {
	var ke *Error
	complete := errors.Is(err, io.EOF) ||
		(errors.As(err, &ke) && ke.Kind == Timeout && s.acc.finish != "")
	switch {
	case complete && s.acc.finish == "":
		s.fail(&Error{Kind: Truncated, Message: "stream ended without a finish reason"})
	case complete:
		s.queue = append(s.queue, bot.Chunk{Final: s.acc.completion()})
		s.done = true
		s.Close()
	case s.ctx.Err() != nil:
		s.fail(fmt.Errorf("read stream: %w", s.ctx.Err()))
	default:
		s.fail(streamError(err))
	}
}

// fail ends the stream with err.
func (s *stream) fail(err error) {
	s.err = s.redact(err)
	s.Close()
}

// Close releases the connection; it is safe to call more than once.
func (s *stream) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := s.rs.Close()
	if s.release != nil {
		s.release()
	}
	return err
}
