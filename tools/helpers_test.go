package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	"kimibot/tools"
)

// funcTool is a hand-written Tool whose behaviour is a function field.
type funcTool struct {
	name   string
	schema string
	call   func(ctx context.Context, args json.RawMessage) (string, error)
}

var _ tools.Tool = (*funcTool)(nil)

func (f *funcTool) Spec() tools.Spec {
	return tools.Spec{Name: f.name, Description: "test tool " + f.name, Parameters: json.RawMessage(f.schema)}
}

func (f *funcTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	return f.call(ctx, args)
}

// describingTool adds a Describer to funcTool.
type describingTool struct {
	funcTool
	describe func(args json.RawMessage) string
}

var _ tools.Describer = (*describingTool)(nil)

func (d *describingTool) Describe(args json.RawMessage) string { return d.describe(args) }

// recorder counts calls and keeps the arguments each call received.
type recorder struct {
	mu   sync.Mutex
	args []string
}

func (r *recorder) record(args json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.args = append(r.args, string(args))
}

func (r *recorder) calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.args...)
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newTestLogger returns an info-level text logger writing to the buffer.
func newTestLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// MustRegistry returns a registry holding the given tools.
func MustRegistry(tb testing.TB, opts tools.Options, ts ...tools.Tool) *tools.Registry {
	tb.Helper()
	r := tools.NewRegistry(opts)
	for _, t := range ts {
		if err := r.Register(t); err != nil {
			tb.Fatalf("register %s: %v", t.Spec().Name, err)
		}
	}
	return r
}

// MustLookupOrder returns a lookup_order tool for cfg.
func MustLookupOrder(tb testing.TB, cfg tools.OrdersConfig) tools.Tool {
	tb.Helper()
	t, err := tools.NewLookupOrder(cfg)
	if err != nil {
		tb.Fatalf("new lookup_order: %v", err)
	}
	return t
}
