package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"kimibot/conversation"
	"kimibot/tools"
)

// ErrBusy is returned by HandleEvent when a thread's queue is full.
var ErrBusy = errors.New("thread queue is full")

// ToolRunner runs the model's tool calls; *tools.Registry implements it.
type ToolRunner interface {
	Specs() []tools.Spec
	Run(ctx context.Context, name, args string) tools.Result
	Describe(name, args string) string
}

// Config holds the engine's collaborators and limits.
type Config struct {
	Model Model
	// Catalog gives model capabilities (context length, vision); optional.
	Catalog  Catalog
	Tools    ToolRunner
	Threads  conversation.ThreadStore
	Events   conversation.EventStore
	Settings conversation.SettingsStore
	// DefaultModel is used when no thread, user or channel setting applies.
	DefaultModel string
	// SystemPrompt may use {date}, {time} and {bot_name}; "" is the built-in prompt.
	SystemPrompt string
	BotName      string
	// MaxSteps caps model calls per turn (tool loops); default 8.
	MaxSteps int
	// MaxTokens caps each answer; 0 leaves it to the provider.
	MaxTokens int
	// IdleTimeout is how long a thread's worker waits for more events; default 1m.
	IdleTimeout time.Duration
	// QueueSize is each thread's event queue; default 8.
	QueueSize int
	// MaxImageBytes caps each downloaded image; default 10 MiB.
	MaxImageBytes int64
	// Usage records per-call token usage for /kimi usage; optional.
	Usage conversation.UsageStore
	// Prices gives USD per token by model, for cost where the provider
	// reports none; the catalog's prices are used when a model is missing.
	Prices map[string]Price
	// Admins may change channel settings and support routes.
	Admins []Principal
	// Approvers may decide on drafts and tool calls.
	Approvers []Principal
	// Drafts keeps support drafts; the support desk is off without it.
	Drafts conversation.DraftStore
	// SupportRoutes route customer channels to review channels.
	SupportRoutes []Route
	// ReminderAfter is how long a draft waits before one reminder; default 30m.
	ReminderAfter time.Duration
	// ReminderEvery is how often pending drafts are checked; default 1m.
	ReminderEvery time.Duration
	Now           func() time.Time
	Logger        *slog.Logger
	// Observer receives turn, model, tool and queue measurements; optional.
	Observer Observer
}

// Principal names who may do something: a user, a Slack user group
// ("group") or a Discord role ("role").
type Principal struct {
	Platform string
	// Kind is "user", "group" or "role".
	Kind string
	ID   string
}

// Route sends a customer channel's drafts to a review channel.
type Route struct {
	Platform, From, To string
}

// Price is USD per token.
type Price struct {
	Prompt, Completion, Cached float64
}

func (c *Config) setDefaults() {
	if c.MaxSteps <= 0 {
		c.MaxSteps = 8
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = time.Minute
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 8
	}
	if c.MaxImageBytes <= 0 {
		c.MaxImageBytes = 10 << 20
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ReminderAfter <= 0 {
		c.ReminderAfter = 30 * time.Minute
	}
	if c.ReminderEvery <= 0 {
		c.ReminderEvery = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.SystemPrompt == "" {
		c.SystemPrompt = conversation.DefaultSystemPrompt
	}
	if c.BotName == "" {
		c.BotName = "kimibot"
	}
}

// Engine routes events to one worker per active thread and runs turns.
type Engine struct {
	cfg Config
	log *slog.Logger
	est *conversation.Estimator

	mu        sync.Mutex
	base      context.Context
	platforms map[string]Platform
	workers   map[conversation.ThreadKey]*worker
	inflight  int
	waiters   []chan struct{}
	wg        sync.WaitGroup
	started   chan struct{}
}

type worker struct {
	key   conversation.ThreadKey
	queue chan Event
}

// NewEngine returns an engine; call Run to start it.
func NewEngine(cfg Config) *Engine {
	cfg.setDefaults()
	return &Engine{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "engine"),
		est:       &conversation.Estimator{},
		base:      context.Background(),
		platforms: map[string]Platform{},
		workers:   map[conversation.ThreadKey]*worker{},
		started:   make(chan struct{}),
	}
}

// Started is closed once Run has registered its platforms and queued the
// recovery of drafts interrupted by a restart.
func (e *Engine) Started() <-chan struct{} { return e.started }

// Register adds a platform whose events the engine will answer.
// Run registers its platforms itself.
func (e *Engine) Register(p Platform) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.platforms[p.Name()] = p
}

// Run registers ps, runs each until ctx ends or all of them return, and
// then waits for running turns to end. It returns the first platform error.
func (e *Engine) Run(ctx context.Context, ps ...Platform) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.mu.Lock()
	e.base = ctx
	e.mu.Unlock()
	for _, p := range ps {
		e.Register(p)
	}
	e.reconcile(ctx)
	close(e.started)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.supervise(ctx, e.cfg.ReminderEvery)
	}()
	errc := make(chan error, len(ps))
	for _, p := range ps {
		go func() {
			err := p.Run(ctx, e)
			if err != nil && ctx.Err() == nil {
				err = fmt.Errorf("run %s: %w", p.Name(), err)
			} else {
				err = nil
			}
			errc <- err
		}()
	}
	var first error
	for range ps {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	if first == nil {
		// Platforms ended on their own (end of input): let queued turns finish.
		_ = e.WaitIdle(ctx)
	}
	cancel()
	e.wg.Wait()
	return first
}

// HandleEvent queues ev for its thread's worker and returns at once.
func (e *Engine) HandleEvent(ctx context.Context, ev Event) error {
	if ev.User.Bot {
		return nil
	}
	key := ev.Thread.Key()
	if ev.InReplyTo != "" {
		if k, ok := e.threadOf(ctx, ev); ok {
			key = k
			ev.Thread = refFromKey(k, ev.Thread.DM)
		}
	}
	if ev.Kind == EventMessage && !ev.Addressed && !e.mayConcern(ctx, key, ev) {
		return nil
	}
	return e.enqueue(key, ev)
}

// mayConcern reports whether an unaddressed message is in a thread the bot
// follows or a support channel; chatter elsewhere starts no worker.
func (e *Engine) mayConcern(ctx context.Context, key conversation.ThreadKey, ev Event) bool {
	if _, routed := e.reviewChannel(ctx, ev.Thread); routed {
		return true
	}
	th, err := e.cfg.Threads.Thread(ctx, key)
	return err != nil && !errors.Is(err, conversation.ErrNotFound) || err == nil && th.Active
}

// enqueue hands ev to the worker of thread key, starting one if needed.
func (e *Engine) enqueue(key conversation.ThreadKey, ev Event) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.workers[key]
	if w == nil {
		w = &worker{key: key, queue: make(chan Event, e.cfg.QueueSize)}
		e.workers[key] = w
		e.wg.Add(1)
		go e.runWorker(e.base, w)
	}
	ev.queued = e.cfg.Now()
	select {
	case w.queue <- ev:
		e.inflight++
		e.cfg.Observer.QueueDepth(e.inflight)
		return nil
	default:
		return fmt.Errorf("queue event for %s: %w", key, ErrBusy)
	}
}

// threadOf finds the conversation of the message ev replies to.
func (e *Engine) threadOf(ctx context.Context, ev Event) (conversation.ThreadKey, bool) {
	ref := MsgRef{Platform: ev.Thread.Platform, Channel: ev.Thread.Channel, ID: ev.InReplyTo}
	k, err := e.cfg.Threads.ThreadByRef(ctx, ref)
	if err != nil {
		if !errors.Is(err, conversation.ErrNotFound) {
			e.log.Warn("look up replied-to message", "err", err)
		}
		return "", false
	}
	return k, true
}

func (e *Engine) runWorker(ctx context.Context, w *worker) {
	defer e.wg.Done()
	idle := time.NewTimer(e.cfg.IdleTimeout)
	defer idle.Stop()
	for {
		select {
		case ev := <-w.queue:
			e.cfg.Observer.QueueWait(e.cfg.Now().Sub(ev.queued))
			e.process(ctx, w.key, ev)
			e.done()
			idle.Reset(e.cfg.IdleTimeout)
		case <-idle.C:
			if e.retire(w) {
				return
			}
			idle.Reset(e.cfg.IdleTimeout)
		case <-ctx.Done():
			e.mu.Lock()
			delete(e.workers, w.key)
			dropped := len(w.queue)
			e.mu.Unlock()
			for range dropped {
				e.done()
			}
			return
		}
	}
}

// retire removes an idle worker unless an event arrived meanwhile.
func (e *Engine) retire(w *worker) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(w.queue) > 0 {
		return false
	}
	delete(e.workers, w.key)
	return true
}

func (e *Engine) done() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inflight--
	e.cfg.Observer.QueueDepth(e.inflight)
	if e.inflight == 0 {
		for _, ch := range e.waiters {
			close(ch)
		}
		e.waiters = nil
	}
}

// WaitIdle returns when no event is queued or being processed.
func (e *Engine) WaitIdle(ctx context.Context) error {
	e.mu.Lock()
	if e.inflight == 0 {
		e.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	e.waiters = append(e.waiters, ch)
	e.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) platform(name string) (Platform, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.platforms[name]
	return p, ok
}
