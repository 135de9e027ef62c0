// Package testkit wires the real engine, bbolt storage, Kimi client and
// tools to the in-repo fakes, for end-to-end tests of platform adapters.
package testkit

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"kimibot/adapters/kimi"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/storage"
	"kimibot/tools"
	"kimibot/tools/orderstest"
)

// OrdersToken is the bearer token of the fake orders backend.
const OrdersToken = "orders-test-token"

// SampleOrder is the order the fake orders backend knows.
var SampleOrder = map[string]any{"id": "A1001", "status": "shipped", "carrier": "DHL", "tracking": "JD0146000034"}

// Options configures a Stack.
type Options struct {
	Flavor kimitest.Flavor
	// Model is the default model; "" picks kimi-k2.6 (Moonshot) or moonshotai/kimi-k2.5 (OpenRouter).
	Model string
	// DBPath defaults to a file in tb.TempDir().
	DBPath string
	// Configure may adjust the engine configuration before start.
	Configure func(*bot.Config)
	// Logger defaults to a logger that discards everything.
	Logger *slog.Logger
	// NoRecording stops the fake Kimi from keeping requests (benchmarks).
	NoRecording bool
	// ConfigureKimi may adjust the Kimi client configuration before start.
	ConfigureKimi func(*kimi.Config)
}

// Stack is a running engine with fakes behind it.
type Stack struct {
	Engine *bot.Engine
	Kimi   *kimitest.Server
	Client *kimi.Client
	Store  *storage.Store
	Tools  *tools.Registry
	Orders *orderstest.Server
	DBPath string

	opts   Options
	cancel context.CancelFunc
	done   chan error
}

// Start runs an engine for p against a new fake Kimi and fake orders backend.
func Start(tb testing.TB, p bot.Platform, opts Options) *Stack {
	tb.Helper()
	if opts.DBPath == "" {
		opts.DBPath = filepath.Join(tb.TempDir(), "kimibot.db")
	}
	if opts.Model == "" {
		opts.Model = "kimi-k2.6"
		if opts.Flavor == kimitest.OpenRouter {
			opts.Model = "moonshotai/kimi-k2.5"
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Stack{Kimi: kimitest.New(tb, kimitest.Options{Flavor: opts.Flavor, NoRecording: opts.NoRecording}),
		Orders: orderstest.New(tb, OrdersToken, SampleOrder), DBPath: opts.DBPath, opts: opts}
	s.start(tb, p)
	return s
}

func (s *Stack) start(tb testing.TB, p bot.Platform) {
	tb.Helper()
	store, err := storage.Open(s.DBPath, storage.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		tb.Fatalf("open storage: %v", err)
	}
	provider := kimi.Provider("moonshot")
	if s.opts.Flavor == kimitest.OpenRouter {
		provider = "openrouter"
	}
	kc := kimi.Config{Provider: provider, APIKey: "test-key", BaseURL: s.Kimi.BaseURL(),
		RetryBase: time.Millisecond, RetryMax: 20 * time.Millisecond, Logger: s.opts.Logger}
	if s.opts.ConfigureKimi != nil {
		s.opts.ConfigureKimi(&kc)
	}
	client, err := kimi.New(kc)
	if err != nil {
		tb.Fatalf("create kimi client: %v", err)
	}
	reg := tools.NewRegistry(tools.Options{Logger: s.opts.Logger})
	lookup, err := tools.NewLookupOrder(tools.OrdersConfig{APIURL: s.Orders.URL(), APIToken: OrdersToken})
	if err != nil {
		tb.Fatalf("create lookup_order: %v", err)
	}
	if err := reg.Register(lookup); err != nil {
		tb.Fatalf("register lookup_order: %v", err)
	}
	cfg := bot.Config{Model: client, Catalog: client, Tools: reg, Threads: store, Events: store, Settings: store,
		Usage: store, Drafts: store, Inbox: store, Replies: store, Turns: store, DefaultModel: s.opts.Model, Logger: s.opts.Logger,
		ShutdownGrace: time.Second}
	if s.opts.Configure != nil {
		s.opts.Configure(&cfg)
	}
	s.Store, s.Client, s.Tools, s.Engine = store, client, reg, bot.NewEngine(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan error, 1)
	go func() { s.done <- s.Engine.Run(ctx, p) }()
	tb.Cleanup(func() { s.Stop(tb) })
	select {
	case <-s.Engine.Started():
	case err := <-s.done:
		tb.Fatalf("engine stopped at start: %v", err)
	}
}

// Stop stops the engine and closes the database; it is safe to call twice.
func (s *Stack) Stop(tb testing.TB) {
	tb.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		tb.Errorf("engine run: %v", err)
	}
	if err := s.Store.Close(); err != nil {
		tb.Errorf("close storage: %v", err)
	}
}

// Restart stops the engine and starts a new one for p on the same database
// and fakes, as a process restart would.
func (s *Stack) Restart(tb testing.TB, p bot.Platform) *Stack {
	tb.Helper()
	s.Stop(tb)
	n := &Stack{Kimi: s.Kimi, Orders: s.Orders, DBPath: s.DBPath, opts: s.opts}
	n.start(tb, p)
	return n
}

// WaitIdle waits until the engine has no queued or running turn.
func (s *Stack) WaitIdle(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Engine.WaitIdle(ctx); err != nil {
		tb.Fatalf("wait for engine idle: %v", err)
	}
}
