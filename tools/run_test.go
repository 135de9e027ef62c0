package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"kimibot/tools"
)

const echoSchema = `{
	"type": "object",
	"properties": {
		"order_id": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,64}$"},
		"count": {"type": "integer", "minimum": 1}
	},
	"required": ["order_id"],
	"additionalProperties": false
}`

const optionalSchema = `{"type":"object","properties":{"verbose":{"type":"boolean"}},"additionalProperties":false}`

// newRunRegistry returns a registry with the tools TestRun calls and the
// recorders of the argument-taking ones.
func newRunRegistry(t *testing.T) (*tools.Registry, *recorder, *recorder) {
	var echoRec, optRec recorder
	r := MustRegistry(t, tools.Options{},
		&funcTool{name: "echo", schema: echoSchema, call: func(_ context.Context, a json.RawMessage) (string, error) {
			echoRec.record(a)
			return "got " + string(a), nil
		}},
		&funcTool{name: "status", schema: optionalSchema, call: func(_ context.Context, a json.RawMessage) (string, error) {
			optRec.record(a)
			return "all good", nil
		}},
		&funcTool{name: "fail", schema: optionalSchema, call: func(context.Context, json.RawMessage) (string, error) {
			return "ignored text", errors.New("backend said no")
		}},
		&funcTool{name: "boom", schema: optionalSchema, call: func(context.Context, json.RawMessage) (string, error) {
			panic("index out of range")
		}},
	)
	return r, &echoRec, &optRec
}

func TestRun(t *testing.T) {
	const retry = "Call the tool again with arguments matching its schema."
	cases := []struct {
		name     string
		tool     string
		args     string
		wantErr  bool
		contains []string
		wantArgs string // what the echo or status tool received, canonical; "" means not called
	}{
		{"OK", "echo", `{"order_id":"A1001","count":2}`, false, []string{`got {"count":2,"order_id":"A1001"}`}, `{"count":2,"order_id":"A1001"}`},
		{"OKDuplicateKeyLastWins", "echo", `{"order_id":5,"order_id":"A1"}`, false, []string{`got {"order_id":"A1"}`}, `{"order_id":"A1"}`},
		{"OKBigNumberKept", "echo", `{"order_id":"A1","count":12345678901234567890}`, false, nil, `{"count":12345678901234567890,"order_id":"A1"}`},
		{"OKSurroundingSpace", "echo", " \n{\"order_id\":\"A1\"}\t", false, []string{`got {"order_id":"A1"}`}, `{"order_id":"A1"}`},
		{"OKOptional", "status", `{"verbose":true}`, false, []string{"all good"}, `{"verbose":true}`},
		{"EmptyArgsMeanObject", "status", "", false, []string{"all good"}, "{}"},
		{"BlankArgsMeanObject", "status", " \t\n ", false, []string{"all good"}, "{}"},
		{"ErrTruncatedJSON", "echo", `{"order_id":"A10`, true, []string{"error: invalid arguments for echo: arguments are not valid JSON", retry}, ""},
		{"ErrNotJSON", "echo", `order A1001 please`, true, []string{"not valid JSON"}, ""},
		{"ErrTrailingText", "echo", `{"order_id":"A1"} thanks`, true, []string{"not valid JSON"}, ""},
		{"ErrTwoObjects", "echo", `{"order_id":"A1"}{"order_id":"A2"}`, true, []string{"not valid JSON"}, ""},
		{"ErrWrongType", "echo", `{"order_id":1001}`, true, []string{"error: invalid arguments for echo: at /order_id: expected string, got number. " + retry}, ""},
		{"ErrWrongIntegerType", "echo", `{"order_id":"A1","count":1.5}`, true, []string{"at /count: expected integer, got number"}, ""},
		{"ErrMinimum", "echo", `{"order_id":"A1","count":0}`, true, []string{"at /count:", "minimum"}, ""},
		{"ErrPattern", "echo", `{"order_id":"A 1"}`, true, []string{"at /order_id:", "pattern"}, ""},
		{"ErrMissingRequired", "echo", `{"count":3}`, true, []string{"at (root): missing property 'order_id'"}, ""},
		{"ErrEmptyArgsMissingRequired", "echo", ``, true, []string{"missing property 'order_id'"}, ""},
		{"ErrAdditionalProperty", "echo", `{"order_id":"A1","note":"rush"}`, true, []string{"at (root): additional properties 'note' not allowed"}, ""},
		{"ErrNull", "echo", `null`, true, []string{"at (root): expected object, got null"}, ""},
		{"ErrArray", "echo", `[]`, true, []string{"at (root): expected object, got array"}, ""},
		{"ErrNumber", "status", `42`, true, []string{"expected object, got number"}, ""},
		{"ErrString", "status", `"{\"verbose\":true}"`, true, []string{"expected object, got string"}, ""},
		{"ErrSeveralProblems", "echo", `{"order_id":5,"count":"x","a":1}`, true, []string{"at /order_id: expected string, got number", "at /count: expected integer, got string", "'a'"}, ""},
		{"ErrUnknownTool", "lookup_user", `{}`, true, []string{`error: unknown tool "lookup_user".`, "Available tools: boom, echo, fail, status."}, ""},
		{"ErrOwnError", "fail", `{}`, true, []string{"error: fail: backend said no"}, ""},
		{"ErrPanic", "boom", `{}`, true, []string{"error: boom crashed"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, echoRec, optRec := newRunRegistry(t)
			res := r.Run(context.Background(), tc.tool, tc.args)
			if res.IsError != tc.wantErr {
				t.Fatalf("Run() = %+v, want IsError=%v", res, tc.wantErr)
			}
			for _, want := range tc.contains {
				if !strings.Contains(res.Content, want) {
					t.Errorf("Run() content = %q, want it to contain %q", res.Content, want)
				}
			}
			calls := append(echoRec.calls(), optRec.calls()...)
			switch {
			case tc.wantArgs == "" && len(calls) != 0:
				t.Errorf("tool was called with %q; invalid calls must not reach it", calls)
			case tc.wantArgs != "" && (len(calls) != 1 || calls[0] != tc.wantArgs):
				t.Errorf("tool received %q, want [%s]", calls, tc.wantArgs)
			}
		})
	}
}

func TestRun_UnknownToolLongName(t *testing.T) {
	r := MustRegistry(t, tools.Options{})
	res := r.Run(context.Background(), strings.Repeat("x", 10000), "{}")
	if !res.IsError || !strings.Contains(res.Content, "No tools are available") {
		t.Fatalf("Run() = %+v", res)
	}
	if len(res.Content) > 200 {
		t.Fatalf("unknown tool message is %d bytes; the name should be clipped", len(res.Content))
	}
}

func TestRun_Timeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	r := MustRegistry(t, tools.Options{Timeout: 20 * time.Millisecond},
		&funcTool{name: "waits", schema: optionalSchema, call: func(ctx context.Context, _ json.RawMessage) (string, error) {
			<-ctx.Done()
			return "", fmt.Errorf("wait: %w", ctx.Err())
		}},
		&funcTool{name: "stuck", schema: optionalSchema, call: func(context.Context, json.RawMessage) (string, error) {
			<-release // ignores its context entirely
			return "too late", nil
		}},
	)
	for _, name := range []string{"waits", "stuck"} {
		t.Run(name, func(t *testing.T) {
			res := r.Run(context.Background(), name, "{}")
			want := "error: " + name + " timed out after 20ms."
			if !res.IsError || !strings.HasPrefix(res.Content, want) {
				t.Fatalf("Run() = %+v, want an error starting %q", res, want)
			}
		})
	}
}

func TestRun_CallerCanceled(t *testing.T) {
	started := make(chan struct{})
	r := MustRegistry(t, tools.Options{},
		&funcTool{name: "waits", schema: optionalSchema, call: func(ctx context.Context, _ json.RawMessage) (string, error) {
			close(started)
			<-ctx.Done()
			return "", ctx.Err()
		}},
	)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	res := r.Run(ctx, "waits", "{}")
	if !res.IsError || res.Content != "error: the call to waits was canceled." {
		t.Fatalf("Run() = %+v, want the canceled error", res)
	}
}

func TestRun_PanicLoggedWithoutArguments(t *testing.T) {
	var logs syncBuffer
	const secret = "customer-address-42-Elm-Street"
	r := MustRegistry(t, tools.Options{Logger: newTestLogger(&logs)},
		&funcTool{name: "boom", schema: `{"type":"object","properties":{"address":{"type":"string"}}}`,
			call: func(context.Context, json.RawMessage) (string, error) { panic("nil map write") }},
	)
	res := r.Run(context.Background(), "boom", `{"address":"`+secret+`"}`)
	if !res.IsError || !strings.Contains(res.Content, "boom crashed") {
		t.Fatalf("Run() = %+v", res)
	}
	out := logs.String()
	if strings.Count(out, "tool panicked") != 1 || !strings.Contains(out, "tool=boom") || !strings.Contains(out, "nil map write") {
		t.Fatalf("log = %q, want one panic record naming the tool", out)
	}
	if strings.Contains(out, secret) || strings.Contains(res.Content, secret) {
		t.Fatalf("arguments leaked into the log or result: %q / %q", out, res.Content)
	}
}

func TestRun_TruncatesAtRuneBoundary(t *testing.T) {
	cases := []struct {
		name    string
		content string
		max     int
	}{
		{"TwoByteRunes", strings.Repeat("é", 500), 101},
		{"FourByteRunes", strings.Repeat("🍵", 300), 257},
		{"Mixed", strings.Repeat("order A1001 – 配送中 ✓\n", 200), 1000},
		{"ASCII", strings.Repeat("x", 20000), 16 << 10},
		{"CapSmallerThanNote", strings.Repeat("y", 100), 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := MustRegistry(t, tools.Options{MaxResultBytes: tc.max},
				&funcTool{name: "big", schema: optionalSchema, call: func(context.Context, json.RawMessage) (string, error) {
					return tc.content, nil
				}})
			res := r.Run(context.Background(), "big", "{}")
			MustBeTruncation(t, res, tc.content, tc.max)
		})
	}
}

func TestRun_ShortResultUntouched(t *testing.T) {
	content := strings.Repeat("é", 50) // exactly 100 bytes
	r := MustRegistry(t, tools.Options{MaxResultBytes: 100},
		&funcTool{name: "fits", schema: optionalSchema, call: func(context.Context, json.RawMessage) (string, error) {
			return content, nil
		}})
	if res := r.Run(context.Background(), "fits", ""); res.IsError || res.Content != content {
		t.Fatalf("Run() = %+v, want the content unchanged", res)
	}
}

// MustBeTruncation checks that res holds a prefix of full cut at a rune
// boundary, followed by a note counting the bytes left out, within limit.
func MustBeTruncation(tb testing.TB, res tools.Result, full string, limit int) {
	tb.Helper()
	if res.IsError {
		tb.Fatalf("truncated result marked as error: %q", res.Content)
	}
	i := strings.LastIndex(res.Content, "… [truncated: ")
	if i < 0 || !strings.HasSuffix(res.Content, " more bytes]") {
		tb.Fatalf("result has no truncation note: %q", res.Content)
	}
	kept := res.Content[:i]
	n, err := strconv.Atoi(strings.TrimSuffix(res.Content[i+len("… [truncated: "):], " more bytes]"))
	if err != nil {
		tb.Fatalf("note count: %v in %q", err, res.Content[i:])
	}
	switch {
	case !strings.HasPrefix(full, kept):
		tb.Fatalf("kept text is not a prefix of the result")
	case !utf8.ValidString(kept):
		tb.Fatalf("kept text splits a rune: %q", kept[max(0, len(kept)-8):])
	case n != len(full)-len(kept):
		tb.Fatalf("note says %d more bytes, want %d", n, len(full)-len(kept))
	case len(res.Content) > limit && len(kept) > 0:
		tb.Fatalf("result is %d bytes, cap %d", len(res.Content), limit)
	}
}

func TestRun_Concurrent(t *testing.T) {
	r, echoRec, _ := newRunRegistry(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("W%d-%d", w, i)
				res := r.Run(context.Background(), "echo", `{"order_id":"`+id+`"}`)
				if res.IsError || res.Content != `got {"order_id":"`+id+`"}` {
					t.Errorf("Run(%s) = %+v", id, res)
				}
				_ = r.SetNeedsApproval("status", i%2 == 0)
				_ = r.Specs()
			}
		})
	}
	wg.Wait()
	if got := len(echoRec.calls()); got != workers*each {
		t.Fatalf("echo ran %d times, want %d", got, workers*each)
	}
}
