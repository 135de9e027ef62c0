package kimi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	openai "github.com/sashabaranov/go-openai"
)

// maxEmptyLines is how many lines without data one event may be preceded
// by, as go-openai allows by default.
const maxEmptyLines = 300

// eventReader reads the data payloads of a streamed response as
// go-openai's stream reader does (data lines, "[DONE]" at the end, an
// in-stream {"error": ...} object, a cap on lines without data), but
// without a regular expression and a copy for every line. A payload is
// valid until the next call.
type eventReader struct {
	r    *bufio.Reader
	long []byte
	errs bytes.Buffer
	done bool
}

// eventBuffer is the eventReader's buffer: the body it reads is buffered
// already, and longer lines are put together in eventReader.long.
const eventBuffer = 1 << 10

func newEventReader(body io.Reader) *eventReader {
	return &eventReader{r: bufio.NewReaderSize(body, eventBuffer)}
}

// next returns the next payload, or io.EOF after "[DONE]".
func (e *eventReader) next() ([]byte, error) {
	if e.done {
		return nil, io.EOF
	}
	empty, inError := 0, false
	for {
		line, readErr := e.line()
		if readErr != nil || inError {
			if err := e.streamError(); err != nil {
				return nil, err
			}
			return nil, readErr
		}
		line = bytes.TrimSpace(line)
		payload, isData := dataPayload(line)
		if isData && bytes.HasPrefix(payload, []byte(`{"error":`)) {
			inError = true
		}
		if !isData || inError {
			if inError {
				line = payload
			}
			e.errs.Write(line)
			if empty++; empty > maxEmptyLines {
				return nil, openai.ErrTooManyEmptyStreamMessages
			}
			continue
		}
		if string(payload) == "[DONE]" {
			e.done = true
			return nil, io.EOF
		}
		return payload, nil
	}
}

// line reads one line, whatever its length.
func (e *eventReader) line() ([]byte, error) {
	line, err := e.r.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, err
	}
	e.long = append(e.long[:0], line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = e.r.ReadSlice('\n')
		e.long = append(e.long, line...)
	}
	return e.long, err
}

// dataPayload returns what follows "data:" and any spaces on a data line.
func dataPayload(line []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return nil, false
	}
	return bytes.TrimLeft(rest, " \t\n\f\r"), true
}

// streamError is the error object the lines without data held, if any.
func (e *eventReader) streamError() error {
	if e.errs.Len() == 0 {
		return nil
	}
	var resp *openai.ErrorResponse
	if err := json.Unmarshal(e.errs.Bytes(), &resp); err != nil || resp == nil || resp.Error == nil {
		return nil
	}
	return fmt.Errorf("error, %w", resp.Error)
}
