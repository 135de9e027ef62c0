// Package kimi is kimibot's client for Kimi models on Moonshot's API or on
// OpenRouter. It uses go-openai for request marshalling and the HTTP and
// stream plumbing, and closes its gaps here: the request extras Kimi and
// OpenRouter need, SSE comment lines, reasoning fields, usage inside
// choices, in-stream error objects, retries and silence timeouts.
package kimi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
	"golang.org/x/sync/singleflight"

	"kimibot/bot"
	"kimibot/internal/tasks"
)

// Provider names the API kimibot talks to.
type Provider string

// The supported providers.
const (
	Moonshot   Provider = "moonshot"
	OpenRouter Provider = "openrouter"
)

// Default base URLs.
const (
	MoonshotBaseURL   = "https://api.moonshot.ai/v1"
	OpenRouterBaseURL = "https://openrouter.ai/api/v1"
)

// Config configures a Client. Zero durations and counts take the defaults.
type Config struct {
	// Provider defaults to Moonshot.
	Provider Provider
	// APIKey is sent as a bearer token; it never appears in errors or logs.
	APIKey string
	// BaseURL defaults to MoonshotBaseURL or OpenRouterBaseURL.
	BaseURL string
	// Referer and Title identify the app to OpenRouter (HTTP-Referer, X-Title).
	Referer, Title string
	// ProviderPrefs is OpenRouter's provider object, sent verbatim.
	ProviderPrefs json.RawMessage
	// FallbackModels is OpenRouter's models fallback chain.
	FallbackModels []string
	// ReasoningEffort is OpenRouter's reasoning.effort (and kimi-k3's reasoning_effort).
	ReasoningEffort string
	// MaxRetries bounds retries before the stream starts (default 4; negative for none).
	MaxRetries int
	// RetryBase and RetryMax shape the exponential backoff (defaults 500ms, 20s).
	RetryBase, RetryMax time.Duration
	// ConnectTimeout bounds dialing when HTTPClient is nil (default 10s).
	ConnectTimeout time.Duration
	// FirstTokenTimeout bounds the wait from sending a request to its first
	// streamed event, for every model (KIMI_FIRST_TOKEN_TIMEOUT). When zero,
	// the default is DefaultFirstToken, or DefaultThinkingFirstToken for a
	// model that thinks.
	FirstTokenTimeout time.Duration
	// IdleTimeout bounds the silence between streamed events, for every
	// model (KIMI_IDLE_TIMEOUT). When zero, the default is DefaultIdle, or
	// DefaultThinkingIdle for a model that thinks.
	IdleTimeout time.Duration
	// Limits bound the chat requests sent, shared by every caller of the
	// client; the zero value sets no limit.
	Limits Limits
	// ModelsTTL is how long the model list is cached (default 10m).
	ModelsTTL time.Duration
	// HTTPClient replaces the built-in HTTP client; the timeouts above
	// (except ConnectTimeout) still apply.
	HTTPClient *http.Client
	// Logger receives retry and model-list warnings (default slog.Default()).
	Logger *slog.Logger
}

// The default silence limits. A thinking model may reason for a long time
// before its first event and between bursts, so it gets longer ones.
const (
	DefaultFirstToken         = 45 * time.Second
	DefaultThinkingFirstToken = 90 * time.Second
	DefaultIdle               = 30 * time.Second
	DefaultThinkingIdle       = 60 * time.Second
)

// maxRetryAfter is the longest Retry-After honoured beyond RetryMax.
const maxRetryAfter = 60 * time.Second

// Client streams chat completions from Kimi and lists its models.
type Client struct {
	cfg  Config
	api  *openai.Client
	tr   *transport
	adm  *Admission
	log  *slog.Logger
	base string

	// wait sleeps between retries; tests replace it.
	wait func(ctx context.Context, d time.Duration) error

	mu       sync.Mutex
	models   []bot.ModelInfo
	loadedAt time.Time
	fetch    singleflight.Group
}

var (
	_ bot.Model   = (*Client)(nil)
	_ bot.Catalog = (*Client)(nil)
)

// New checks cfg, fills in defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = newHTTPClient(cfg.ConnectTimeout)
	}
	tr := &transport{base: hc, headers: http.Header{}}
	if cfg.Provider == OpenRouter {
		if cfg.Referer != "" {
			tr.headers.Set("HTTP-Referer", cfg.Referer)
		}
		if cfg.Title != "" {
			tr.headers.Set("X-Title", cfg.Title)
			tr.headers.Set("X-OpenRouter-Title", cfg.Title)
		}
	}
	oc := openai.DefaultConfig(cfg.APIKey)
	oc.BaseURL = cfg.BaseURL
	oc.HTTPClient = tr
	return &Client{
		cfg:  cfg,
		api:  openai.NewClientWithConfig(oc),
		tr:   tr,
		adm:  NewAdmission(cfg.Limits),
		wait: tasks.Sleep,
		log:  cfg.Logger.With("component", "kimi", "provider", string(cfg.Provider)),
		base: strings.TrimRight(cfg.BaseURL, "/"),
	}, nil
}

// setDefaults validates the config and fills in defaults.
func (cfg *Config) setDefaults() error {
	switch cfg.Provider {
	case Moonshot, "":
		cfg.Provider = Moonshot
		cfg.BaseURL = cmp.Or(cfg.BaseURL, MoonshotBaseURL)
	case OpenRouter:
		cfg.BaseURL = cmp.Or(cfg.BaseURL, OpenRouterBaseURL)
	default:
		return fmt.Errorf("unknown kimi provider %q", cfg.Provider)
	}
	if cfg.APIKey == "" {
		return errors.New("kimi api key is empty")
	}
	if len(cfg.ProviderPrefs) > 0 && !json.Valid(cfg.ProviderPrefs) {
		return errors.New("kimi provider preferences are not valid JSON")
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 4
	}
	cfg.RetryBase = cmp.Or(cfg.RetryBase, 500*time.Millisecond)
	cfg.RetryMax = cmp.Or(cfg.RetryMax, 20*time.Second)
	cfg.ConnectTimeout = cmp.Or(cfg.ConnectTimeout, 10*time.Second)
	if cfg.FirstTokenTimeout < 0 || cfg.IdleTimeout < 0 {
		return errors.New("kimi timeouts cannot be negative")
	}
	if err := cfg.Limits.check(); err != nil {
		return err
	}
	cfg.ModelsTTL = cmp.Or(cfg.ModelsTTL, 10*time.Minute)
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}

// timeouts returns the first-token and idle limits of a request to a model
// that thinks or not.
func (c *Client) timeouts(thinks bool) (firstToken, idle time.Duration) {
	firstToken, idle = DefaultFirstToken, DefaultIdle
	if thinks {
		firstToken, idle = DefaultThinkingFirstToken, DefaultThinkingIdle
	}
	return cmp.Or(c.cfg.FirstTokenTimeout, firstToken), cmp.Or(c.cfg.IdleTimeout, idle)
}

// Admission returns the client's admission control, shared by every call.
func (c *Client) Admission() *Admission { return c.adm }

// newHTTPClient builds the HTTP client used when the config has none.
func newHTTPClient(connect time.Duration) *http.Client {
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         d.DialContext,
		TLSHandshakeTimeout: connect,
		ForceAttemptHTTP2:   true,
		// Connections are kept for as many calls as may run at once (the
		// admission limits bound that), so that a busy workspace does not
		// dial and handshake per answer; idle ones close after 90 s.
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	}}
}

// redact removes the API key from the text of an *Error in err's chain.
func (c *Client) redact(err error) error {
	var e *Error
	if errors.As(err, &e) && strings.Contains(e.Message, c.cfg.APIKey) {
		e.Message = strings.ReplaceAll(e.Message, c.cfg.APIKey, "[redacted]")
	}
	return err
}
