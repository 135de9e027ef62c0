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
	// Inbox keeps every accepted event until it is handled, so that a
	// restart answers what a crash or shutdown left; optional.
	Inbox conversation.InboxStore
	// Replies records the replies being written, so that a restart
	// finishes those a crash left half-written; optional.
	Replies conversation.ReplyStore
	// Turns stores the end of an answered turn (answer, reply messages,
	// usage, reply record, inbox item) in one transaction; optional: the
	// engine writes each through its own store without it. It must be the
	// store Threads is; another one is not used (with a warning).
	Turns conversation.TurnStore
	// ShutdownGrace is how long running answers may go on after Run's
	// context ends before they are interrupted; default 20s.
	ShutdownGrace time.Duration
	// StillWorkingAfter is how long a model call may stay silent before the
	// status says that the model is still working; default 5s.
	StillWorkingAfter time.Duration
	// Observer receives turn, model, tool and queue measurements; optional.
	Observer Observer

	// Thinking is the default thinking mode; /kimi thinking sets it per thread.
	Thinking Thinking
	// Temperature, when set, is sent to models whose sampling is not fixed.
	Temperature *float64
	// WebSearch offers Moonshot's $web_search in every channel; admins
	// turn it on or off per channel with /kimi websearch.
	WebSearch bool
	// WebSearchPrice is the USD cost of one search; default DefaultWebSearchPrice.
	WebSearchPrice float64
	// Files extracts attached documents (Moonshot's files API); without it
	// text files are sent inline and other formats are refused.
	Files Files
	// MaxFileBytes caps each attached document; default 20 MiB.
	MaxFileBytes int64
	// FileTTL is how long uploaded documents are kept; default 72h.
	FileTTL time.Duration
	// Balance reports the provider account's balance in /kimi usage; optional.
	Balance Balance
	// HistoryTokens caps the history sent with each call; when a thread
	// outgrows it (or the model's context), its oldest turns are summarized.
	// 0 uses the model's context window.
	HistoryTokens int
	// Tokens counts input tokens exactly before a summary is made, so that
	// the local estimate's error does not cost a summary call; optional.
	Tokens TokenCounter

	// Leaser lets several replicas share the stores: each conversation is
	// run by one replica at a time; optional (one process without it).
	Leaser Leaser
	// LeaseTTL is how long a conversation's lease lasts without renewal;
	// default 15s.
	LeaseTTL time.Duration
}

// PrincipalKind tells what a Principal's ID names.
type PrincipalKind string

// The kinds of principals.
const (
	PrincipalUser PrincipalKind = "user"
	// PrincipalGroup is a Slack user group.
	PrincipalGroup PrincipalKind = "group"
	// PrincipalRole is a Discord role.
	PrincipalRole PrincipalKind = "role"
)

// Principal names who may do something: a user, a Slack user group or a
// Discord role.
type Principal struct {
	Platform string
	Kind     PrincipalKind
	ID       string
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
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 20 * time.Second
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 15 * time.Second
	}
	if c.StillWorkingAfter <= 0 {
		c.StillWorkingAfter = 5 * time.Second
	}
	if c.SystemPrompt == "" {
		c.SystemPrompt = conversation.DefaultSystemPrompt
	}
	if c.BotName == "" {
		c.BotName = "kimibot"
	}
}

// Engine is kimibot's core. It takes events from platforms, hands them to
// the dispatcher (one worker per active thread), runs turns, answers slash
// commands, and owns the support desk.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	est      *conversation.Estimator
	dispatch *dispatcher
	inbox    *inbox
	leases   *leases
	desk     *desk
	cmds     *commander
	meter    *meter

	// prompt keeps the rendered system prompt.
	prompt promptCache

	mu        sync.Mutex
	platforms map[string]Platform
	started   chan struct{}
}

var (
	_ Handler = (*Engine)(nil)
	_ Desk    = (*desk)(nil)
)

// NewEngine returns an engine; call Run to start it.
func NewEngine(cfg Config) *Engine {
	cfg.setDefaults()
	e := &Engine{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "engine"),
		est:       &conversation.Estimator{},
		platforms: map[string]Platform{},
		started:   make(chan struct{}),
	}
	if cfg.Turns != nil && any(cfg.Turns) != any(cfg.Threads) {
		e.log.Warn("the turn store is not the thread store; answers are stored record by record")
		e.cfg.Turns = nil
	}
	e.dispatch = newDispatcher(cfg.QueueSize, cfg.IdleTimeout, e.process)
	e.dispatch.obs, e.dispatch.now = cfg.Observer, cfg.Now
	e.inbox = &inbox{e: e, items: cfg.Inbox, replies: cfg.Replies}
	e.leases = &leases{e: e, l: cfg.Leaser, ttl: cfg.LeaseTTL}
	e.desk = newDesk(e)
	e.cmds = &commander{e: e}
	e.meter = &meter{e: e}
	return e
}

// Started is closed once Run has registered its platforms and queued the
// recovery of drafts interrupted by a restart.
func (e *Engine) Started() <-chan struct{} { return e.started }

// Commands returns the slash commands.
func (e *Engine) Commands() Commands { return e.cmds }

// Desk returns the support desk: review-card actions and drafts.
func (e *Engine) Desk() Desk { return e.desk }

// Register adds a platform whose events the engine will answer.
// Run registers its platforms itself.
func (e *Engine) Register(p Platform) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.platforms[p.Name()] = p
}

// host is what the engine gives each platform it runs.
func (e *Engine) host() Host { return Host{Events: e, Commands: e.cmds, Desk: e.desk} }

// Run registers ps, finishes what a previous run left (replies a crash
// left half-written, stored events not yet answered, drafts being sent),
// and runs each platform until ctx ends or all of them return. Then it
// stops taking events, lets running answers go on for ShutdownGrace, and
// interrupts the rest; their events are answered after the next start.
// It returns the first platform error.
func (e *Engine) Run(ctx context.Context, ps ...Platform) error {
	work, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	e.dispatch.start(work)
	for _, p := range ps {
		e.Register(p)
	}
	e.resume(work)
	close(e.started)
	intake, cancel := context.WithCancel(ctx)
	defer cancel()
	e.dispatch.goTracked(func() { e.desk.supervise(intake, e.cfg.ReminderEvery) })
	e.dispatch.goTracked(func() { e.leases.adopt(intake) })
	first := e.runPlatforms(intake, cancel, ps)
	if first == nil && ctx.Err() == nil {
		// Platforms ended on their own (end of input): let queued turns finish.
		_ = e.WaitIdle(work)
	}
	cancel()
	e.shutdown(stop)
	return first
}

// runPlatforms runs ps until all of them return; the first error cancels
// the others and is returned.
func (e *Engine) runPlatforms(ctx context.Context, cancel context.CancelFunc, ps []Platform) error {
	errc := make(chan error, len(ps))
	for _, p := range ps {
		go func() {
			err := p.Run(ctx, e.host())
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
	return first
}

// errShutdown is the cause of the cancellation of answers still running
// when the shutdown grace is over.
var errShutdown = errors.New("interrupted by a shutdown")

// shutdown lets running jobs finish within the grace, then interrupts the
// rest with errShutdown and waits for every worker.
func (e *Engine) shutdown(stop context.CancelCauseFunc) {
	grace, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownGrace)
	defer cancel()
	if err := e.dispatch.drain(grace); err != nil {
		e.log.Warn("shutdown grace over, interrupting running answers", "grace", e.cfg.ShutdownGrace)
	}
	stop(errShutdown)
	e.dispatch.stop()
}

// HandleEvent stores ev (when the engine has an inbox) and queues it for
// its thread's worker. It returns at once, so that the platform can be
// acknowledged: what it accepted is answered even after a crash.
func (e *Engine) HandleEvent(ctx context.Context, ev Event) error {
	if ev.User.Bot {
		return nil
	}
	key := ev.Thread.Key()
	if ev.InReplyTo != "" {
		if k, ok := e.threadOf(ctx, ev); ok {
			key = k
			dm := ev.Thread.DM
			ev.Thread = refFromKey(k)
			ev.Thread.DM = dm
		}
	}
	if ev.Kind == EventMessage && !ev.Addressed && !e.mayConcern(ctx, key, ev) {
		return nil
	}
	return e.inbox.accept(ctx, key, ev)
}

// WaitIdle returns when no event is queued or being processed.
func (e *Engine) WaitIdle(ctx context.Context) error { return e.dispatch.waitIdle(ctx) }

func (e *Engine) platform(name string) (Platform, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.platforms[name]
	return p, ok
}
