package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Outcomes of a call that did not return on its own.
var (
	errPanicked = errors.New("tool panicked")
	errTimedOut = errors.New("tool timed out")
	errCanceled = errors.New("tool call canceled")
)

// maxEchoedName caps how much of an unknown tool name is repeated back.
const maxEchoedName = 64

// outcome is what a tool call's goroutine reports.
type outcome struct {
	content string
	err     error
}

// Run validates args against the named tool's schema and calls it under the
// registry's timeout with the arguments re-encoded as compact JSON (one value
// per key, keys sorted). It never panics and never fails: every problem
// becomes an error Result whose Content tells the model what to do next.
func (r *Registry) Run(ctx context.Context, name, args string) Result {
	e, ok := r.entry(name)
	if !ok {
		return r.result(r.unknownTool(name), true)
	}
	parsed, problem := parseArguments(e.schema, args)
	if problem != "" {
		r.log.Debug("tool arguments rejected", "tool", name, "problem", problem)
		return r.result(fmt.Sprintf("error: invalid arguments for %s: %s. "+
			"Call the tool again with arguments matching its schema.", name, problem), true)
	}
	content, err := r.call(ctx, e, parsed)
	if err != nil {
		return r.result(r.failure(name, err), true)
	}
	return r.result(content, false)
}

// call runs the tool in its own goroutine so that a tool ignoring its
// context still cannot hold the turn past the timeout.
func (r *Registry) call(ctx context.Context, e *entry, args json.RawMessage) (string, error) {
	callCtx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()

	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				r.log.Error("tool panicked", "tool", e.spec.Name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				done <- outcome{err: errPanicked}
			}
		}()
		content, err := e.tool.Call(callCtx, args)
		done <- outcome{content: content, err: err}
	}()

	select {
	case o := <-done:
		if o.err != nil && callCtx.Err() != nil {
			return "", contextOutcome(ctx)
		}
		return o.content, o.err
	case <-callCtx.Done():
		return "", contextOutcome(ctx)
	}
}

// contextOutcome tells a caller's cancellation from the call's own timeout.
func contextOutcome(parent context.Context) error {
	if parent.Err() != nil {
		return errCanceled
	}
	return errTimedOut
}

// failure phrases a failed call for the model and logs it once.
func (r *Registry) failure(name string, err error) string {
	switch {
	case errors.Is(err, errPanicked):
		return "error: " + name + " crashed before returning a result. " +
			"Do not retry it with the same arguments; tell the user the tool is not working."
	case errors.Is(err, errTimedOut):
		r.log.Warn("tool timed out", "tool", name, "timeout", r.opts.Timeout)
		return fmt.Sprintf("error: %s timed out after %s. Try again later or tell the user it is not responding.",
			name, r.opts.Timeout)
	case errors.Is(err, errCanceled):
		r.log.Debug("tool call canceled", "tool", name)
		return "error: the call to " + name + " was canceled."
	default:
		r.log.Info("tool call failed", "tool", name, "err", err)
		return "error: " + name + ": " + err.Error()
	}
}

// unknownTool names the tools the model may call instead.
func (r *Registry) unknownTool(name string) string {
	if len(name) > maxEchoedName {
		name = truncateUTF8(name, maxEchoedName)
	}
	msg := fmt.Sprintf("error: unknown tool %q.", name)
	if names := r.names(); len(names) > 0 {
		msg += " Available tools: " + strings.Join(names, ", ") + "."
	} else {
		msg += " No tools are available; answer without them."
	}
	return msg
}

// result caps content at MaxResultBytes.
func (r *Registry) result(content string, isErr bool) Result {
	return Result{Content: capResult(content, r.opts.MaxResultBytes), IsError: isErr}
}

// capResult cuts s at a UTF-8 boundary so that s plus the truncation note
// fits in limit bytes.
func capResult(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	// The note's length depends on the number it reports; the longest it
	// can be is with every byte of s cut.
	room := limit - len(truncationNote(len(s)))
	kept := ""
	if room > 0 {
		kept = truncateUTF8(s, room)
	}
	return kept + truncationNote(len(s)-len(kept))
}

func truncationNote(n int) string {
	return "… [truncated: " + strconv.Itoa(n) + " more bytes]"
}

// truncateUTF8 returns the longest prefix of s of at most n bytes that does
// not split a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
