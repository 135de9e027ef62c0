package kimi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
)

// sseBody is a streaming response body as go-openai's reader should see it:
// SSE comment lines (": OPENROUTER PROCESSING") and event, id and retry
// fields are dropped, and so are blank lines that do not end an event, so
// keep-alives never count as empty messages. Each data line restarts the watchdog; when the watchdog fires,
// reads fail with a Timeout error.
type sseBody struct {
	rc     io.ReadCloser
	r      *bufio.Reader
	wd     *watchdog
	cancel context.CancelFunc

	pending []byte // the rest of the line being handed out
	midLine bool   // the last slice read did not end its line
	drop    bool   // the current line is being dropped
	blank   bool   // the last line passed on was blank (or none yet)
	sawDone bool   // the stream sent its [DONE] line
	err     error
}

func newSSEBody(rc io.ReadCloser, wd *watchdog, cancel context.CancelFunc) *sseBody {
	return &sseBody{rc: rc, r: bufio.NewReaderSize(rc, 4<<10), wd: wd, cancel: cancel, blank: true}
}

// Read hands out the filtered lines.
func (b *sseBody) Read(p []byte) (int, error) {
	for len(b.pending) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		b.next()
	}
	n := copy(p, b.pending)
	b.pending = b.pending[n:]
	return n, nil
}

// next reads one line, or the next piece of a long line, and decides whether
// to pass it on.
func (b *sseBody) next() {
	line, err := b.r.ReadSlice('\n')
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		b.err = b.readErr(err)
	}
	if len(line) == 0 {
		return
	}
	start := !b.midLine
	b.midLine = errors.Is(err, bufio.ErrBufferFull)
	if start {
		b.drop = b.classify(line)
	}
	if !b.drop {
		b.pending = line
	}
}

// classify decides whether a line is dropped, and notes data lines.
func (b *sseBody) classify(line []byte) (drop bool) {
	switch {
	case line[0] == ':', isSSEField(line):
		return true
	case len(bytes.TrimSpace(line)) == 0:
		if b.blank {
			return true
		}
		b.blank = true
		return false
	}
	b.blank = false
	if bytes.HasPrefix(line, []byte("data:")) {
		b.wd.kick()
		b.sawDone = b.sawDone || bytes.Equal(bytes.TrimSpace(line[5:]), []byte("[DONE]"))
	}
	return false
}

// isSSEField matches the SSE fields go-openai does not read; it would
// count them as empty messages and keep them in its error buffer.
func isSSEField(line []byte) bool {
	return bytes.HasPrefix(line, []byte("event:")) || bytes.HasPrefix(line, []byte("id:")) ||
		bytes.HasPrefix(line, []byte("retry:"))
}

// readErr turns a read failure caused by the watchdog into a Timeout error.
func (b *sseBody) readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	if b.wd.fired.Load() {
		return b.wd.timeoutError("no data from the provider in time")
	}
	return err
}

// maxDrain bounds what Close reads after [DONE].
const maxDrain = 4 << 10

// Close stops the watchdog, cancels the request and closes the body. After
// [DONE] it first reads the body to its end, so the response is over on
// both sides (and counts no longer against the account's concurrency)
// before the admission slot is released.
func (b *sseBody) Close() error {
	if b.sawDone && b.err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(b.r, maxDrain))
	}
	b.wd.stop()
	b.cancel()
	return b.rc.Close()
}
