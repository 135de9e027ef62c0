package kimi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// call carries one chat request's extras from Stream to the transport, and
// the response facts go-openai does not keep back to Stream.
type call struct {
	// top holds extra top-level request fields, merged over go-openai's.
	top map[string]any
	// msgs holds extra fields per message index; a nil value deletes the field.
	msgs map[int]map[string]any
	// firstByte and idle are the silence limits of this attempt.
	firstByte, idle time.Duration

	// status, header and body describe a failed response.
	status int
	header http.Header
	body   []byte
	// events is the body of a successful response, read by the stream.
	events io.Reader
}

type callKey struct{}

// withCall attaches c to ctx for the transport.
func withCall(ctx context.Context, c *call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// setMsg records an extra field for message i.
func (c *call) setMsg(i int, key string, v any) {
	if c.msgs == nil {
		c.msgs = make(map[int]map[string]any)
	}
	if c.msgs[i] == nil {
		c.msgs[i] = make(map[string]any)
	}
	c.msgs[i][key] = v
}

// transport is the openai.HTTPDoer under go-openai. For chat calls it merges
// the Kimi/OpenRouter extras into the body, records failed responses, and
// filters and watches the event stream with the call's silence limits.
type transport struct {
	base    *http.Client
	headers http.Header
}

var _ openai.HTTPDoer = (*transport)(nil)

// Do sends req.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	for k, v := range t.headers {
		req.Header[k] = v
	}
	c, _ := req.Context().Value(callKey{}).(*call)
	if c == nil {
		return t.base.Do(req)
	}
	if err := c.rewrite(req); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(req.Context())
	wd := newWatchdog(cmp.Or(c.firstByte, DefaultThinkingFirstToken), cmp.Or(c.idle, DefaultThinkingIdle), cancel)
	resp, err := t.base.Do(req.WithContext(ctx))
	if err != nil {
		wd.stop()
		cancel()
		if wd.fired.Load() {
			return nil, wd.timeoutError("no response headers in time")
		}
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		c.status, c.header = resp.StatusCode, resp.Header
		c.body, _ = io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		resp.Body.Close()
		wd.stop()
		cancel()
		resp.Body = io.NopCloser(bytes.NewReader(c.body))
		return resp, nil
	}
	body := newSSEBody(resp.Body, wd, cancel)
	c.events, resp.Body = body, body
	return resp, nil
}

// rewrite merges the extras into the JSON body go-openai built.
func (c *call) rewrite(req *http.Request) error {
	if req.Body == nil || (len(c.top) == 0 && len(c.msgs) == 0) {
		return nil
	}
	raw, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	out, err := mergeBody(raw, c.top, c.msgs)
	if err != nil {
		return fmt.Errorf("merge request extras: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(out))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out)), nil }
	req.ContentLength = int64(len(out))
	return nil
}

// mergeBody sets top-level fields and per-message fields in a chat request body.
func mergeBody(raw []byte, top map[string]any, msgs map[int]map[string]any) ([]byte, error) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, err
	}
	if err := setFields(body, top); err != nil {
		return nil, err
	}
	if len(msgs) > 0 {
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(body["messages"], &list); err != nil {
			return nil, err
		}
		for i, fields := range msgs {
			if i < 0 || i >= len(list) {
				return nil, fmt.Errorf("message %d out of range", i)
			}
			if err := setFields(list[i], fields); err != nil {
				return nil, err
			}
		}
		b, err := json.Marshal(list)
		if err != nil {
			return nil, err
		}
		body["messages"] = b
	}
	return json.Marshal(body)
}

// setFields sets (or, for nil values, deletes) fields of a JSON object.
func setFields(obj map[string]json.RawMessage, fields map[string]any) error {
	for k, v := range fields {
		if v == nil {
			delete(obj, k)
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("field %s: %w", k, err)
		}
		obj[k] = b
	}
	return nil
}

// watchdog cancels a request when the provider stays silent: firstByte
// until the first data event, then idle between data events.
type watchdog struct {
	timer           *time.Timer
	firstByte, idle time.Duration
	fired           atomic.Bool
	// streaming is set by the first data event; fired reads it to tell
	// which wait ran out.
	streaming atomic.Bool
	wait      atomic.Value // TimeoutWait, set when fired
}

func newWatchdog(firstByte, idle time.Duration, cancel context.CancelFunc) *watchdog {
	w := &watchdog{firstByte: firstByte, idle: idle}
	w.timer = time.AfterFunc(firstByte, func() {
		if w.streaming.Load() {
			w.wait.Store(WaitIdle)
		} else {
			w.wait.Store(WaitFirstToken)
		}
		w.fired.Store(true)
		cancel()
	})
	return w
}

// kick restarts the idle clock after a data event.
func (w *watchdog) kick() {
	if !w.fired.Load() {
		w.streaming.Store(true)
		w.timer.Reset(w.idle)
	}
}

// timeoutError describes the wait that ran out.
func (w *watchdog) timeoutError(msg string) *Error {
	wait, _ := w.wait.Load().(TimeoutWait)
	after := w.firstByte
	if wait == WaitIdle {
		after = w.idle
	}
	return &Error{Kind: Timeout, Message: msg, Wait: wait, After: after}
}

func (w *watchdog) stop() { w.timer.Stop() }
