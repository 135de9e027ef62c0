package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// maxOrderBody caps how much of an orders API response is read.
const maxOrderBody = 1 << 20

// Errors from the orders API, phrased for the model. None carries the token.
var (
	errOrdersUnauthorized = errors.New("the orders service rejected the bot's credentials, " +
		"so orders cannot be looked up right now; tell the user and suggest contacting support")
	errOrdersUnavailable = errors.New("the orders service is unavailable; try again later or tell the user")
	errOrdersBadResponse = errors.New("the orders service returned an unreadable response")
)

// httpOrders reads orders from the orders API.
type httpOrders struct {
	base   string
	token  string
	client *http.Client
	log    *slog.Logger
}

var _ orderSource = (*httpOrders)(nil)

func newHTTPOrders(cfg OrdersConfig, log *slog.Logger) (*httpOrders, error) {
	u, err := url.Parse(cfg.APIURL)
	if err != nil {
		return nil, errors.New("parse orders API URL: invalid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("orders API URL %s: want an http or https URL with a host", u.Redacted())
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	return &httpOrders{
		base:   strings.TrimRight(cfg.APIURL, "/"),
		token:  cfg.APIToken,
		client: client,
		log:    log,
	}, nil
}

// order implements orderSource with GET {base}/orders/{id}.
func (h *httpOrders) order(ctx context.Context, id string) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/orders/"+url.PathEscape(id), nil)
	if err != nil {
		return nil, errors.New("build orders request: invalid URL")
	}
	req.Header.Set("Accept", "application/json")
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.log.Warn("orders request failed", "err", err)
		return nil, errOrdersUnavailable
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxOrderBody+1))
	if err != nil {
		h.log.Warn("read orders response", "status", resp.StatusCode, "err", err)
		return nil, errOrdersUnavailable
	}
	return h.interpret(resp.StatusCode, body)
}

// interpret maps an orders API response to an order or a model-facing error.
func (h *httpOrders) interpret(status int, body []byte) (json.RawMessage, error) {
	switch {
	case status == http.StatusOK:
		return compactOrder(body, h.log)
	case status == http.StatusNotFound:
		return nil, errOrderNotFound
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		h.log.Error("orders API refused the token", "status", status)
		return nil, errOrdersUnauthorized
	case status == http.StatusTooManyRequests || status >= 500:
		h.log.Warn("orders API unavailable", "status", status)
		return nil, errOrdersUnavailable
	default:
		h.log.Warn("orders API rejected the request", "status", status)
		return nil, fmt.Errorf("the orders service rejected the request (HTTP %d)", status)
	}
}

// compactOrder checks a 200 body and returns it as compact JSON.
func compactOrder(body []byte, log *slog.Logger) (json.RawMessage, error) {
	if len(body) > maxOrderBody {
		log.Warn("orders API response too large", "limit_bytes", maxOrderBody)
		return nil, errOrdersBadResponse
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		log.Warn("orders API response is not JSON", "err", err)
		return nil, errOrdersBadResponse
	}
	return buf.Bytes(), nil
}

// fileOrders serves orders loaded once from a JSON file.
type fileOrders struct {
	byID map[string]json.RawMessage
}

var _ orderSource = (*fileOrders)(nil)

// loadFileOrders reads a JSON array of order objects, each with a unique
// string "id".
func loadFileOrders(path string) (*fileOrders, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read orders file: %w", err)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("parse orders file %s: want a JSON array of orders: %w", path, err)
	}
	f := &fileOrders{byID: make(map[string]json.RawMessage, len(list))}
	for i, raw := range list {
		id, err := orderID(raw)
		if err != nil {
			return nil, fmt.Errorf("parse orders file %s: order %d: %w", path, i, err)
		}
		if _, dup := f.byID[id]; dup {
			return nil, fmt.Errorf("parse orders file %s: order %d: duplicate id %q", path, i, id)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return nil, fmt.Errorf("parse orders file %s: order %d: %w", path, i, err)
		}
		f.byID[id] = buf.Bytes()
	}
	return f, nil
}

// orderID returns an order object's non-empty string "id".
func orderID(raw json.RawMessage) (string, error) {
	var head map[string]any
	if err := json.Unmarshal(raw, &head); err != nil {
		return "", errors.New("not a JSON object")
	}
	id, ok := head["id"].(string)
	if !ok || id == "" {
		return "", errors.New("no string \"id\"")
	}
	return id, nil
}

// order implements orderSource.
func (f *fileOrders) order(_ context.Context, id string) (json.RawMessage, error) {
	o, ok := f.byID[id]
	if !ok {
		return nil, errOrderNotFound
	}
	return o, nil
}
