package kimi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"kimibot/bot"
)

// ErrorKind classifies a failed model call.
type ErrorKind string

// The kinds of model errors.
const (
	// RateLimited means the account hit a request or token rate limit.
	RateLimited ErrorKind = "rate_limited"
	// Overloaded means the engine or provider is overloaded.
	Overloaded ErrorKind = "overloaded"
	// Quota means the account is out of quota or credits.
	Quota ErrorKind = "quota"
	// Auth means the API key was rejected.
	Auth ErrorKind = "auth"
	// ContextTooLong means the conversation exceeds the model's context window.
	ContextTooLong ErrorKind = "context_too_long"
	// ContentFilter means the provider's moderation refused the request.
	ContentFilter ErrorKind = "content_filter"
	// NotFound means the model does not exist or is not available to the key.
	NotFound ErrorKind = "not_found"
	// BadRequest means the provider rejected the request as invalid.
	BadRequest ErrorKind = "bad_request"
	// ProviderDown means a server error, an unreachable provider or an
	// error object inside the stream.
	ProviderDown ErrorKind = "provider_down"
	// Timeout means the provider went silent for too long.
	Timeout ErrorKind = "timeout"
	// Truncated means the stream ended without a finish reason.
	Truncated ErrorKind = "truncated"
	// Stream means the stream could not be read or decoded.
	Stream ErrorKind = "stream"
)

// Error is a classified failure of a model call. Its text never contains
// the API key or request headers.
type Error struct {
	Kind ErrorKind
	// Status is the HTTP status, 0 for errors inside a stream or before a response.
	Status int
	// Type and Code are the provider's error.type and error.code (or metadata.error_type).
	Type, Code string
	Message    string
	// RetryAfter is the wait the provider asked for, when it said.
	RetryAfter time.Duration
	// Wait tells which wait ran out, for Timeout errors.
	Wait TimeoutWait
	// After is how long that wait was, for Timeout errors.
	After time.Duration
}

// TimeoutWait names the wait of a Timeout error.
type TimeoutWait string

// The waits a Timeout error can report.
const (
	// WaitFirstToken is the wait from the request to the first streamed
	// event (KIMI_FIRST_TOKEN_TIMEOUT).
	WaitFirstToken TimeoutWait = "first_token"
	// WaitIdle is the wait between streamed events (KIMI_IDLE_TIMEOUT).
	WaitIdle TimeoutWait = "idle"
)

var _ bot.UserError = (*Error)(nil)

// Error describes the failure for logs.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("kimi ")
	b.WriteString(string(e.Kind))
	if e.Status != 0 {
		fmt.Fprintf(&b, " (status %d)", e.Status)
	}
	if e.Type != "" {
		b.WriteString(" type=" + e.Type)
	}
	if e.Code != "" {
		b.WriteString(" code=" + e.Code)
	}
	if e.Wait != "" {
		fmt.Fprintf(&b, " wait=%s after=%s", e.Wait, e.After)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// UserMessage returns a short text, safe to show to chat users.
func (e *Error) UserMessage() string {
	switch e.Kind {
	case RateLimited:
		return "Kimi is busy right now (rate limited). Try again in a minute."
	case Overloaded:
		return "Kimi is overloaded right now. Try again in a minute."
	case Quota:
		return "The Kimi account is out of quota or credits. An admin needs to top it up."
	case Auth:
		return "The Kimi API key was rejected. An admin needs to check it."
	case ContextTooLong:
		return "This conversation is too long for the model. Start a new one with /kimi new."
	case ContentFilter:
		return "Kimi declined this request (content filter)."
	case NotFound:
		return "That model is not available. Pick another model."
	case BadRequest:
		return "Kimi rejected the request."
	case ProviderDown:
		return "The model provider is having trouble. Try again shortly."
	case Timeout:
		return e.timeoutMessage()
	case Truncated:
		return "The answer was cut off by the provider."
	default:
		return "The connection to Kimi broke off."
	}
}

// timeoutMessage says which wait ran out. The text already shown stays;
// the message is appended after it.
func (e *Error) timeoutMessage() string {
	switch e.Wait {
	case WaitFirstToken:
		return "Kimi did not start answering within " + seconds(e.After) +
			", so I stopped waiting. Try again in a moment."
	case WaitIdle:
		return "Kimi went silent for " + seconds(e.After) +
			" in the middle of the answer, so it is incomplete. Try again in a moment."
	}
	return "Kimi stopped responding."
}

// seconds writes a wait as whole seconds ("45 seconds").
func seconds(d time.Duration) string {
	s := int((d + time.Second/2) / time.Second)
	switch {
	case d <= 0:
		return "the time limit"
	case s <= 1:
		return "a second"
	}
	return strconv.Itoa(s) + " seconds"
}

// retryable reports whether a call that failed with e, before any token
// reached the caller, may be tried again.
func (e *Error) retryable() bool {
	switch e.Kind {
	case RateLimited, Overloaded, ProviderDown:
		return true
	}
	return false
}

// apiErrorBody is the error envelope of Moonshot and OpenRouter.
type apiErrorBody struct {
	Error *apiError `json:"error"`
}

// apiError is one provider error object. Code is a number (OpenRouter) or a
// string (OpenRouter streams, OpenAI style).
type apiError struct {
	Code     json.RawMessage `json:"code"`
	Message  string          `json:"message"`
	Type     string          `json:"type"`
	Metadata struct {
		ErrorType string          `json:"error_type"`
		Reasons   json.RawMessage `json:"reasons"`
	} `json:"metadata"`
}

// code returns the error code as text, without JSON quotes.
func (a *apiError) code() string {
	c := strings.TrimSpace(string(a.Code))
	if c == "null" {
		return ""
	}
	if uq, err := strconv.Unquote(c); err == nil {
		return uq
	}
	return c
}

// newAPIError classifies a provider error object. status is the HTTP status,
// or 0 when the object came inside a stream.
func newAPIError(status int, a *apiError, h http.Header) *Error {
	e := &Error{Status: status, Type: a.Type, Code: a.code(), Message: a.Message}
	if e.Code == "" {
		e.Code = a.Metadata.ErrorType
	} else if a.Metadata.ErrorType != "" && e.Type == "" {
		e.Type = a.Metadata.ErrorType
	}
	e.Kind = classify(status, a)
	e.RetryAfter = retryAfter(h, a.Message)
	return e
}

// classify picks the kind from the status and the provider's type, code and metadata.
func classify(status int, a *apiError) ErrorKind {
	kind := a.Type + " " + a.code() + " " + a.Metadata.ErrorType
	msg := strings.ToLower(a.Message)
	switch {
	case strings.Contains(kind, "exceeded_current_quota_error"), strings.Contains(kind, "payment_required"):
		return Quota
	case strings.Contains(kind, "content_filter"), strings.Contains(kind, "moderation"):
		return ContentFilter
	case isContextTooLong(kind, msg):
		return ContextTooLong
	case strings.Contains(kind, "engine_overloaded_error"), strings.Contains(kind, "provider_overloaded"):
		return Overloaded
	case strings.Contains(kind, "rate_limit"):
		return RateLimited
	}
	if status == 0 {
		// An error object inside the stream: OpenRouter puts the HTTP-like
		// status in code.
		status, _ = strconv.Atoi(a.code())
		if status == 0 || status == http.StatusOK {
			return ProviderDown
		}
	}
	return classifyStatus(status, a)
}

// classifyStatus maps an HTTP status to a kind.
func classifyStatus(status int, a *apiError) ErrorKind {
	switch {
	case status == http.StatusUnauthorized:
		return Auth
	case status == http.StatusPaymentRequired:
		return Quota
	case status == http.StatusForbidden:
		if len(a.Metadata.Reasons) > 0 || strings.Contains(strings.ToLower(a.Message), "moderat") {
			return ContentFilter
		}
		return Auth
	case status == http.StatusNotFound:
		return NotFound
	case status == http.StatusRequestTimeout:
		return Timeout
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status >= 500:
		return ProviderDown
	case status >= 400:
		return BadRequest
	}
	return ProviderDown
}

// isContextTooLong matches Moonshot's and OpenRouter's context-length errors.
func isContextTooLong(kind, msg string) bool {
	return strings.Contains(kind, "context_length_exceeded") ||
		strings.Contains(msg, "exceeded model token limit") ||
		strings.Contains(msg, "input token length too long") ||
		strings.Contains(msg, "context length") ||
		strings.Contains(msg, "context_length_exceeded")
}

var tryAgainAfter = regexp.MustCompile(`try again after (\d+) seconds?`)

// retryAfter reads Retry-After (seconds or an HTTP date), or else Moonshot's
// "try again after N seconds" hint in the message.
func retryAfter(h http.Header, msg string) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0)
		}
	}
	if m := tryAgainAfter.FindStringSubmatch(msg); m != nil {
		s, _ := strconv.Atoi(m[1])
		return time.Duration(s) * time.Second
	}
	return 0
}

// httpError classifies a failed HTTP response from its status, headers and body.
func httpError(status int, h http.Header, body []byte) *Error {
	var env apiErrorBody
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		e := &Error{Status: status, Message: http.StatusText(status)}
		e.Kind = classifyStatus(status, &apiError{})
		e.RetryAfter = retryAfter(h, "")
		return e
	}
	return newAPIError(status, env.Error, h)
}

// streamError converts an error from go-openai's stream reader.
func streamError(err error) *Error {
	var ke *Error
	if errors.As(err, &ke) {
		return ke
	}
	var ae *openai.APIError
	if errors.As(err, &ae) {
		// Moonshot's in-stream `data: {"error":...}`, parsed by go-openai.
		a := &apiError{Message: ae.Message, Type: ae.Type}
		if ae.Code != nil {
			a.Code, _ = json.Marshal(ae.Code)
		}
		return newAPIError(0, a, nil)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Kind: Truncated, Message: "stream cut off"}
	}
	if errors.Is(err, openai.ErrTooManyEmptyStreamMessages) {
		return &Error{Kind: Stream, Message: "too many empty stream messages"}
	}
	return &Error{Kind: Stream, Message: err.Error()}
}
