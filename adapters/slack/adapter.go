package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"kimibot/bot"
	"kimibot/internal/tasks"
)

// Config configures the Slack adapter. Start from DefaultConfig.
type Config struct {
	// BotToken is the xoxb- token used for every Web API call.
	BotToken string
	// AppToken is the xapp- token; when set, events come over Socket Mode,
	// otherwise over HTTP at HTTPHandler.
	AppToken string
	// SigningSecret verifies HTTP requests from Slack.
	SigningSecret string
	// APIURL overrides the Web API base, such as "http://127.0.0.1:4321/api/".
	APIURL string
	// Footer adds the model, tokens and time under each answer.
	Footer bool
	// UpdatesPerMinute caps chat.update per workspace, shared by every
	// stream (50); AppendsPerMinute caps chat.appendStream (100).
	UpdatesPerMinute, AppendsPerMinute int
	// StreamCallsPerMinute caps chat.startStream and chat.stopStream, each,
	// per workspace (20, Slack's Tier 2).
	StreamCallsPerMinute int
	// LimitWindow is the window the per-minute limits count over, and
	// sixty times the pause between posts in a channel: one minute. Only
	// tests and benchmarks shorten it, to compress time against a fake
	// Slack whose window is shortened alike.
	LimitWindow time.Duration
	// NativeStreaming uses chat.startStream/appendStream/stopStream where
	// Slack allows them. DefaultConfig turns it on.
	NativeStreaming bool
	// MinEditInterval spaces the edits of one message (1s); the final edit
	// does not wait for it.
	MinEditInterval time.Duration
	// RetryWait is the first pause after a 429 without a usable Retry-After
	// header (2s); it doubles while such 429s repeat.
	RetryWait time.Duration
	// MaxDownload caps the size of a downloaded attachment (20 MiB).
	MaxDownload int64
	// Logger receives the adapter's logs (slog.Default()).
	Logger *slog.Logger
	// Requests counts Web API requests by method; optional.
	Requests RequestObserver
	// Budget, when set, shares the write limits with the other replicas
	// of the app, so that together they stay within Slack's limits.
	Budget Budget
}

// DefaultConfig returns a configuration with the defaults set and no tokens.
func DefaultConfig() Config {
	return Config{UpdatesPerMinute: 50, AppendsPerMinute: 100, StreamCallsPerMinute: 20, LimitWindow: time.Minute,
		NativeStreaming: true,
		MinEditInterval: time.Second, RetryWait: 2 * time.Second, MaxDownload: 20 << 20}
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.UpdatesPerMinute <= 0 {
		c.UpdatesPerMinute = d.UpdatesPerMinute
	}
	if c.AppendsPerMinute <= 0 {
		c.AppendsPerMinute = d.AppendsPerMinute
	}
	if c.StreamCallsPerMinute <= 0 {
		c.StreamCallsPerMinute = d.StreamCallsPerMinute
	}
	if c.LimitWindow <= 0 {
		c.LimitWindow = d.LimitWindow
	}
	if c.MinEditInterval <= 0 {
		c.MinEditInterval = d.MinEditInterval
	}
	if c.RetryWait <= 0 {
		c.RetryWait = d.RetryWait
	}
	if c.MaxDownload <= 0 {
		c.MaxDownload = d.MaxDownload
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// callTimeout bounds one Web API call or file download.
const callTimeout = 45 * time.Second

// Adapter is the Slack platform.
type Adapter struct {
	cfg    Config
	log    *slog.Logger
	api    *slack.Client
	pacing pacing

	self  atomic.Pointer[identity]
	ready atomic.Bool
	host  atomic.Pointer[bot.Host]
	// known is closed once auth.test has told the adapter who it is.
	known     chan struct{}
	knownOnce sync.Once
	// people caches names, group members and permalinks.
	people people
	// hooks posts to response_urls.
	hooks *http.Client
	// tasks counts the work started after acknowledging an interaction.
	tasks tasks.Group
}

var (
	_ bot.Platform   = (*Adapter)(nil)
	_ bot.Downloader = (*Adapter)(nil)
	_ bot.Readiness  = (*Adapter)(nil)
)

// New returns a Slack adapter. It makes no calls until Run.
func New(cfg Config) (*Adapter, error) {
	cfg.fill()
	if cfg.BotToken == "" {
		return nil, errors.New("slack: bot token is required")
	}
	if cfg.AppToken == "" && cfg.SigningSecret == "" {
		return nil, errors.New("slack: an app token (Socket Mode) or a signing secret (HTTP events) is required")
	}
	// slack-go's default client never times out; a hung call would stall a reply.
	opts := []slack.Option{slack.OptionAppLevelToken(cfg.AppToken),
		slack.OptionHTTPClient(&http.Client{Timeout: callTimeout, Transport: countRequests(http.DefaultTransport, cfg.Requests)})}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	a := &Adapter{
		cfg: cfg,
		log: cfg.Logger.With("component", "slack"),
		api: slack.New(cfg.BotToken, opts...),
		pacing: pacing{
			updates: cfg.UpdatesPerMinute, appends: cfg.AppendsPerMinute, streams: cfg.StreamCallsPerMinute,
			window: cfg.LimitWindow, workspaces: map[string]*workspace{}, channels: map[string]*channel{},
			budget: cfg.Budget,
		},
		known:  make(chan struct{}),
		people: newPeople(),
		hooks:  &http.Client{Timeout: callTimeout},
	}
	return a, nil
}

// Name is the platform name used in thread references.
func (a *Adapter) Name() string { return platformName }

// Ready reports whether events can arrive: the Socket Mode connection is
// up, or in HTTP mode the bot knows who it is.
func (a *Adapter) Ready() bool { return a.ready.Load() }

// Run learns the bot's identity with auth.test, then receives events over
// Socket Mode (reconnecting with backoff) or, in HTTP mode, waits while
// HTTPHandler serves them. Events go to h.Events; /kimi goes to
// h.Commands and review-card buttons to h.Desk. It returns when ctx ends,
// once the work it started has finished.
func (a *Adapter) Run(ctx context.Context, h bot.Host) error {
	a.host.Store(&h)
	defer a.tasks.Wait()
	if err := a.identify(ctx); err != nil {
		return err
	}
	if a.cfg.AppToken != "" {
		return a.runSocketMode(ctx)
	}
	a.ready.Store(true)
	<-ctx.Done()
	a.ready.Store(false)
	return nil
}

// taskTimeout bounds the work done after acknowledging a command or click.
const taskTimeout = 30 * time.Second

// hold counts f as begun, so that Run waits for it, and returns what
// starts it, to call once Slack has its acknowledgement. f runs bounded
// by taskTimeout; a nil f does nothing.
func (a *Adapter) hold(f func(ctx context.Context)) (start func()) {
	if f == nil {
		return func() {}
	}
	a.tasks.Add(1)
	return func() {
		go func() {
			defer a.tasks.Done()
			ctx, cancel := context.WithTimeout(context.Background(), taskTimeout)
			defer cancel()
			f(ctx)
		}()
	}
}

// team is the bot's own workspace, once known.
func (a *Adapter) team() string {
	if self := a.self.Load(); self != nil {
		return self.TeamID
	}
	return ""
}

// identify calls auth.test until it succeeds, giving up only on bad
// credentials or when ctx ends.
func (a *Adapter) identify(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		resp, err := a.api.AuthTestContext(ctx)
		if err == nil {
			a.self.Store(&identity{UserID: resp.UserID, BotID: resp.BotID, TeamID: resp.TeamID})
			a.knownOnce.Do(func() { close(a.known) })
			a.log.Info("connected to slack", "team", resp.TeamID, "bot_user", resp.UserID)
			return nil
		}
		if fatalAuth(err) {
			return fmt.Errorf("slack auth.test: %w", err)
		}
		wait := backoff(attempt, 500*time.Millisecond, 30*time.Second)
		a.log.Warn("auth.test failed, retrying", "err", err, "in", wait)
		if err := tasks.Sleep(ctx, wait); err != nil {
			return nil
		}
	}
}

// fatalAuth reports whether an error means the token is not usable.
func fatalAuth(err error) bool {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	switch se.Err {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return true
	}
	return false
}

// backoff returns base·2^attempt, capped at limit.
func backoff(attempt int, base, limit time.Duration) time.Duration {
	d := base
	for range attempt {
		d *= 2
		if d >= limit {
			return limit
		}
	}
	return d
}

// Download fetches an attachment with the bot token. slack-go only sends
// the token to Slack's own hosts or the configured API host.
func (a *Adapter) Download(ctx context.Context, at bot.Attachment) ([]byte, error) {
	if at.Size > a.cfg.MaxDownload {
		return nil, fmt.Errorf("download %s: %d bytes is over the %d limit", at.Name, at.Size, a.cfg.MaxDownload)
	}
	w := &cappedBuffer{limit: a.cfg.MaxDownload}
	if err := a.api.GetFileContext(ctx, at.URL, w); err != nil {
		return nil, fmt.Errorf("download %s: %w", at.Name, err)
	}
	return w.buf.Bytes(), nil
}

// cappedBuffer is a buffer that refuses to grow past limit.
type cappedBuffer struct {
	buf   bytes.Buffer
	limit int64
}

// Write appends p, or fails if that would pass the limit.
func (c *cappedBuffer) Write(p []byte) (int, error) {
	if int64(c.buf.Len()+len(p)) > c.limit {
		return 0, fmt.Errorf("file is over the %d byte limit", c.limit)
	}
	return c.buf.Write(p)
}

// identity returns who the bot is, waiting for Run's auth.test if needed.
func (a *Adapter) identity(ctx context.Context) (identity, error) {
	select {
	case <-a.known:
		return *a.self.Load(), nil
	case <-ctx.Done():
		return identity{}, ctx.Err()
	}
}
