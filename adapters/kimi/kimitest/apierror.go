package kimitest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// APIError is an error the fake returns, written in the flavour's format:
// Moonshot {"error":{"message","type"}}, OpenRouter
// {"error":{"code","message","metadata"}} with the HTTP status as code.
type APIError struct {
	// Status is the HTTP status; default 500.
	Status int
	// Type is Moonshot's error.type.
	Type    string
	Message string
	// Code is OpenRouter's error.code; default Status. On Moonshot it is
	// written only when set.
	Code any
	// Metadata is OpenRouter's error.metadata.
	Metadata map[string]any
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
}

// Error returns the status, type and message.
func (e *APIError) Error() string {
	return fmt.Sprintf("kimitest: %d %s: %s", e.Status, e.Type, e.Message)
}

// RateLimited is Moonshot's 429 rate_limit_reached_error for concurrency.
func RateLimited() *APIError {
	return &APIError{Status: http.StatusTooManyRequests, Type: "rate_limit_reached_error",
		Message: "Your account org-kimitest<ak-kimitest> request reached max organization concurrency: 1, " +
			"please try again after 1 seconds"}
}

// EngineOverloaded is Moonshot's 429 engine_overloaded_error.
func EngineOverloaded() *APIError {
	return &APIError{Status: http.StatusTooManyRequests, Type: "engine_overloaded_error",
		Message: "The engine is currently overloaded, please try again later"}
}

// QuotaExceeded is Moonshot's 429 exceeded_current_quota_error; it must
// not be retried.
func QuotaExceeded() *APIError {
	return &APIError{Status: http.StatusTooManyRequests, Type: "exceeded_current_quota_error",
		Message: "You exceeded your current token quota: org-kimitest, please check your account balance"}
}

// QuotaInactive is Moonshot's 403 exceeded_current_quota_error for an
// account that is not active.
func QuotaInactive() *APIError {
	return &APIError{Status: http.StatusForbidden, Type: "exceeded_current_quota_error",
		Message: "Your account org-kimitest<ak-kimitest> is not active, current state: suspended"}
}

// ContextTooLong is Moonshot's 400 for a request over the model's token limit.
func ContextTooLong(limit int) *APIError {
	return invalidRequest(fmt.Sprintf("Your request exceeded model token limit : %d", limit))
}

// ContentFilter is Moonshot's 400 content_filter rejection.
func ContentFilter() *APIError {
	return &APIError{Status: http.StatusBadRequest, Type: "content_filter",
		Message: "The request was rejected because it was considered high risk"}
}

// ServerError is Moonshot's 500 server_error.
func ServerError() *APIError {
	return &APIError{Status: http.StatusInternalServerError, Type: "server_error",
		Message: "The server had an error while processing your request, please try again later"}
}

// Unauthorized is Moonshot's 401 invalid_authentication_error.
func Unauthorized() *APIError {
	return &APIError{Status: http.StatusUnauthorized, Type: "invalid_authentication_error",
		Message: "Invalid Authentication"}
}

// ORError is an OpenRouter-shaped error: code = status, and
// metadata.error_type = errorType when errorType is not empty.
func ORError(status int, errorType, msg string) *APIError {
	e := &APIError{Status: status, Type: errorType, Code: status, Message: msg}
	if errorType != "" {
		e.Metadata = map[string]any{"error_type": errorType}
	}
	return e
}

func invalidRequest(msg string) *APIError {
	return &APIError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: msg}
}

// moonshotError is the body of a Moonshot error.
type moonshotError struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    any    `json:"code,omitempty"`
}

// orError is the body of an OpenRouter error.
type orError struct {
	Code     any            `json:"code"`
	Message  string         `json:"message"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

func (e *APIError) status() int {
	if e.Status == 0 {
		return http.StatusInternalServerError
	}
	return e.Status
}

func (e *APIError) moonshot() moonshotError {
	return moonshotError{Message: e.Message, Type: e.Type, Code: e.Code}
}

func (e *APIError) openRouter() *orError {
	code := e.Code
	if code == nil {
		code = e.status()
	}
	return &orError{Code: code, Message: e.Message, Metadata: e.Metadata}
}

// writeError writes e as a pre-stream HTTP error in the flavour's format.
func (s *Server) writeError(w http.ResponseWriter, e *APIError) {
	if e.RetryAfter != "" {
		w.Header().Set("Retry-After", e.RetryAfter)
	}
	var body any = map[string]any{"error": e.moonshot()}
	if s.opts.Flavor == OpenRouter {
		body = map[string]any{"error": e.openRouter()}
	}
	writeJSON(w, e.status(), body)
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(v))
}

// mustJSON encodes v. The fake only encodes its own types and caller
// metadata; a value that cannot be encoded is a bug in the test.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("kimitest: encode %T: %v", v, err))
	}
	return b
}
