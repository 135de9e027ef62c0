// Package metrics exports kimibot's Prometheus metrics: turns, model
// calls (tokens, cost, latency), tool calls, platform writes and 429s,
// queue depth, active streams, drafts by state, the build and the Go
// runtime. It implements the observer interfaces of the bot engine and the
// platform adapters, and serves the registry at /metrics.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/internal/buildinfo"
)

// Options configures the metrics.
type Options struct {
	// Build labels kimibot_build_info.
	Build buildinfo.Info
	// Drafts, when set, is counted by state at each scrape.
	Drafts DraftLister
}

// Metrics holds kimibot's collectors in their own registry.
type Metrics struct {
	reg *prometheus.Registry

	turns         *prometheus.CounterVec
	turnSeconds   *prometheus.HistogramVec
	tokens        *prometheus.CounterVec
	cost          *prometheus.CounterVec
	modelCalls    *prometheus.CounterVec
	firstToken    *prometheus.HistogramVec
	modelSeconds  *prometheus.HistogramVec
	firstVisible  *prometheus.HistogramVec
	toolCalls     *prometheus.CounterVec
	platformCalls *prometheus.CounterVec
	writes        *prometheus.CounterVec
	rateLimited   *prometheus.CounterVec
	queueDepth    prometheus.Gauge
	queueWait     prometheus.Histogram
	streams       prometheus.Gauge
}

var _ bot.Observer = (*Metrics)(nil)

// Buckets of the latency histograms, in seconds.
var (
	firstBuckets = []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60}
	wholeBuckets = []float64{0.5, 1, 2, 5, 10, 20, 30, 60, 120, 180, 300, 600}
	waitBuckets  = []float64{0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300}
)

// New registers kimibot's metrics, the build info and the Go runtime and
// process collectors in a new registry.
func New(opts Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := factory{reg: m.reg}
	m.turns = f.counter("kimibot_turns_total", "Turns by platform and outcome (answered, drafted, failed).",
		"platform", "outcome")
	m.turnSeconds = f.histogram("kimibot_turn_duration_seconds", "Time from a user's message to the end of its turn.",
		wholeBuckets, "platform")
	m.tokens = f.counter("kimibot_tokens_total",
		"Tokens by model, channel and kind (prompt, cached, completion); direct messages are channel \"dm\".",
		"model", "channel", "kind")
	m.cost = f.counter("kimibot_cost_usd_total", "Estimated spend in USD by model and channel.", "model", "channel")
	m.modelCalls = f.counter("kimibot_model_calls_total", "Model calls by model.", "model")
	m.firstToken = f.histogram("kimibot_model_first_token_seconds",
		"Time from a model request to its first streamed chunk.", firstBuckets, "model")
	m.modelSeconds = f.histogram("kimibot_model_call_duration_seconds", "Time of a whole model call.",
		wholeBuckets, "model")
	m.firstVisible = f.histogram("kimibot_first_visible_seconds",
		"Time from a user's message to the first answer text shown.", firstBuckets, "platform")
	m.toolCalls = f.counter("kimibot_tool_calls_total", "Tool calls by tool and outcome (ok, error).", "tool", "outcome")
	m.platformCalls = f.counter("kimibot_platform_requests_total",
		"Platform API requests by platform and method.", "platform", "method")
	m.writes = f.counter("kimibot_platform_writes_total",
		"Platform API requests that write (post, edit, stream, status) by platform and method.", "platform", "method")
	m.rateLimited = f.counter("kimibot_platform_rate_limited_total",
		"Platform API requests answered 429 by platform and method.", "platform", "method")
	m.queueDepth = f.gauge("kimibot_queue_depth", "Events queued or being processed.")
	m.queueWait = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kimibot_queue_wait_seconds",
		Help: "Time an event waited in its thread's queue before its worker took it.", Buckets: waitBuckets})
	m.reg.MustRegister(m.queueWait)
	m.streams = f.gauge("kimibot_active_streams", "Replies being written.")
	m.registerBuild(opts.Build)
	if opts.Drafts != nil {
		m.reg.MustRegister(&draftCollector{drafts: opts.Drafts})
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) registerBuild(b buildinfo.Info) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kimibot_build_info",
		Help: "Always 1; the labels name the running build."}, []string{"version", "revision", "goversion"})
	g.WithLabelValues(b.Version, b.Revision, b.GoVersion).Set(1)
	m.reg.MustRegister(g)
}

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// TurnFinished implements bot.Observer.
func (m *Metrics) TurnFinished(platform, outcome string, d time.Duration) {
	m.turns.WithLabelValues(platform, outcome).Inc()
	m.turnSeconds.WithLabelValues(platform).Observe(d.Seconds())
}

// ModelCall implements bot.Observer.
func (m *Metrics) ModelCall(_, model, channel string, u conversation.Usage, firstToken, total time.Duration) {
	m.modelCalls.WithLabelValues(model).Inc()
	m.tokens.WithLabelValues(model, channel, "prompt").Add(float64(u.PromptTokens))
	m.tokens.WithLabelValues(model, channel, "cached").Add(float64(u.CachedTokens))
	m.tokens.WithLabelValues(model, channel, "completion").Add(float64(u.CompletionTokens))
	m.cost.WithLabelValues(model, channel).Add(max(u.Cost, 0))
	if firstToken > 0 {
		m.firstToken.WithLabelValues(model).Observe(firstToken.Seconds())
	}
	m.modelSeconds.WithLabelValues(model).Observe(total.Seconds())
}

// ToolCall implements bot.Observer.
func (m *Metrics) ToolCall(tool, outcome string) { m.toolCalls.WithLabelValues(tool, outcome).Inc() }

// QueueDepth implements bot.Observer.
func (m *Metrics) QueueDepth(n int) { m.queueDepth.Set(float64(n)) }

// QueueWait implements bot.Observer.
func (m *Metrics) QueueWait(d time.Duration) { m.queueWait.Observe(d.Seconds()) }

// Stream implements bot.Observer.
func (m *Metrics) Stream(delta int) { m.streams.Add(float64(delta)) }

// FirstVisible implements bot.Observer.
func (m *Metrics) FirstVisible(platform string, d time.Duration) {
	m.firstVisible.WithLabelValues(platform).Observe(d.Seconds())
}

// factory creates collectors and registers them.
type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}
