package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"kimibot/adapters/console"
	"kimibot/adapters/discord"
	"kimibot/adapters/kimi"
	"kimibot/adapters/slack"
	"kimibot/bot"
	"kimibot/internal/buildinfo"
	"kimibot/internal/metrics"
	"kimibot/tools"
	"kimibot/tools/mcp"
)

// app is the wired program: storage, the Kimi client, tools and the engine.
type app struct {
	cfg    Config
	log    *slog.Logger
	store  appStore
	shared shared
	kimi   *kimi.Client
	tools  *tools.Registry
	engine *bot.Engine
	// metrics is served at /metrics and observes the engine and platforms.
	metrics *metrics.Metrics
	mcp     *mcp.Set
}

// newApp opens the database and builds everything the platforms share.
func newApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	store, sh, err := openStore(ctx, cfg.DB, cfg.Replica, log)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, store: store, shared: sh,
		metrics: metrics.New(metrics.Options{Build: buildinfo.Read(), Drafts: store})}
	if err := a.build(ctx); err != nil {
		store.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) build(ctx context.Context) error {
	client, err := kimi.New(kimi.Config{Provider: kimi.Provider(a.cfg.Provider), APIKey: a.cfg.APIKey,
		BaseURL: a.cfg.BaseURL, ProviderPrefs: []byte(a.cfg.OpenRouterProvider),
		FallbackModels: a.cfg.OpenRouterFallbacks, Title: a.cfg.Kimi.Title, Referer: a.cfg.Kimi.Referer,
		ReasoningEffort: a.cfg.Kimi.ReasoningEffort, Logger: a.log,
		FirstTokenTimeout: a.cfg.KimiFirstTokenTimeout, IdleTimeout: a.cfg.KimiIdleTimeout,
		Limits: kimi.Limits{MaxConcurrency: a.cfg.KimiMaxConcurrency, RequestsPerWindow: a.cfg.KimiRPM,
			TokensPerWindow: a.cfg.KimiTPM}})
	if err != nil {
		return fmt.Errorf("create kimi client: %w", err)
	}
	a.kimi = client
	model, err := pickModel(ctx, client, a.cfg.Model)
	if err != nil {
		return err
	}
	a.log.Info("default model", "model", model)
	if a.cfg.Kimi.Temperature != nil && kimi.LocksSampling(model) {
		return fmt.Errorf("KIMI_TEMPERATURE: %s accepts only its own temperature; unset KIMI_TEMPERATURE", model)
	}
	if a.tools, a.mcp, err = buildTools(ctx, a.cfg, a.log); err != nil {
		return err
	}
	a.engine = bot.NewEngine(a.kimiFeatures(bot.Config{Model: client, Catalog: client, Tools: a.tools,
		Threads: a.store, Events: a.store, Settings: a.store, Usage: a.store, Drafts: a.store,
		Inbox: a.store, Replies: a.store, Turns: a.store, Leaser: a.shared.leaser, LeaseTTL: a.cfg.LeaseTTL,
		DefaultModel: model, SystemPrompt: a.cfg.SystemPrompt, BotName: a.cfg.BotName, MaxSteps: a.cfg.MaxSteps,
		Admins: principals(a.cfg.Admins), Approvers: principals(a.cfg.Approvers), SupportRoutes: routes(a.cfg.SupportRoutes),
		ReminderAfter: a.cfg.ReminderAfter, ShutdownGrace: a.cfg.ShutdownGrace, Logger: a.log, Observer: a.metrics}))
	return nil
}

func principals(ps []Principal) []bot.Principal {
	out := make([]bot.Principal, len(ps))
	for i, p := range ps {
		out[i] = bot.Principal{Platform: p.Platform, Kind: p.Kind, ID: p.ID}
	}
	return out
}

func routes(rs []Route) []bot.Route {
	out := make([]bot.Route, len(rs))
	for i, r := range rs {
		out[i] = bot.Route{Platform: r.Platform, From: r.From, To: r.To}
	}
	return out
}

// buildTools registers the built-in tools the configuration enables and
// the tools of the MCP servers, then applies KIMIBOT_TOOLS_APPROVAL to all.
func buildTools(ctx context.Context, cfg Config, log *slog.Logger) (*tools.Registry, *mcp.Set, error) {
	reg := tools.NewRegistry(tools.Options{Logger: log})
	if cfg.OrdersAPIURL != "" || cfg.OrdersFile != "" {
		lookup, err := tools.NewLookupOrder(tools.OrdersConfig{APIURL: cfg.OrdersAPIURL, APIToken: cfg.OrdersAPIToken,
			File: cfg.OrdersFile})
		if err != nil {
			return nil, nil, fmt.Errorf("set up lookup_order: %w", err)
		}
		if err := reg.Register(lookup); err != nil {
			return nil, nil, fmt.Errorf("register lookup_order: %w", err)
		}
	}
	set, err := connectMCP(ctx, cfg, reg, log)
	if err != nil {
		return nil, nil, err
	}
	if len(reg.Specs()) == 0 && len(cfg.ToolsNeedingApproval) > 0 {
		return nil, nil, fmt.Errorf("KIMIBOT_TOOLS_APPROVAL names %v, but no tool is configured", cfg.ToolsNeedingApproval)
	}
	for _, name := range cfg.ToolsNeedingApproval {
		if err := reg.SetNeedsApproval(name, true); err != nil {
			_ = set.Close()
			return nil, nil, fmt.Errorf("KIMIBOT_TOOLS_APPROVAL: %w", err)
		}
	}
	return reg, set, nil
}

// pickModel checks the configured model against the provider's live list,
// or picks a current Kimi model from it when none is configured.
func pickModel(ctx context.Context, c *kimi.Client, want string) (string, error) {
	if strings.HasPrefix(want, "~") {
		return want, nil // a provider alias, such as ~moonshotai/kimi-latest, which model lists omit
	}
	list, err := c.Models(ctx)
	if err != nil {
		if want != "" {
			return want, nil
		}
		return "", fmt.Errorf("list models (set KIMI_MODEL to skip the choice): %w", err)
	}
	ids := make([]string, 0, len(list))
	for _, m := range list {
		if m.ID == want {
			return want, nil
		}
		ids = append(ids, m.ID)
	}
	if want != "" {
		return "", fmt.Errorf("KIMI_MODEL %q is not in the provider's model list (%s)", want, strings.Join(ids, ", "))
	}
	if best := bestKimi(list); best != "" {
		return best, nil
	}
	return "", errors.New("the provider lists no Kimi model; set KIMI_MODEL")
}

// bestKimi prefers Kimi models that both think and see, then the newest name.
func bestKimi(list []bot.ModelInfo) string {
	var cands []bot.ModelInfo
	for _, m := range list {
		id := strings.ToLower(m.ID)
		if strings.Contains(id, "kimi") && !strings.Contains(id, "code") && !strings.HasSuffix(id, ":free") {
			cands = append(cands, m)
		}
	}
	score := func(m bot.ModelInfo) int {
		s := 0
		if m.Vision {
			s += 2
		}
		if m.Reasoning {
			s++
		}
		return s
	}
	sort.Slice(cands, func(i, j int) bool {
		if si, sj := score(cands[i]), score(cands[j]); si != sj {
			return si > sj
		}
		return cands[i].ID > cands[j].ID
	})
	if len(cands) == 0 {
		return ""
	}
	return cands[0].ID
}

// Close stops the MCP servers and closes the database.
func (a *app) Close() {
	if err := a.mcp.Close(); err != nil {
		a.log.Warn("close mcp servers", "err", err)
	}
	if err := a.store.Close(); err != nil {
		a.log.Error("close database", "err", err)
	}
}

// chat runs the terminal platform until end of input.
func (a *app) chat(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	con := console.New(console.Options{In: stdin, Out: stdout, Err: stderr, Prompt: isTerminal(stdin),
		Footer: a.cfg.Footer})
	return a.engine.Run(ctx, con)
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// serve runs the configured chat platforms and the HTTP endpoints.
func (a *app) serve(ctx context.Context) error {
	ps, mux, err := a.platforms()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.HTTPAddr, err)
	}
	a.log.Info("http listening", "addr", ln.Addr().String())
	srv := &http.Server{Handler: a.routes(mux, ps), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server", "err", err)
		}
	}()
	go a.store.RunExpiry(ctx, time.Hour)
	go a.engine.ExpireFiles(ctx, time.Hour)
	if stop, err := a.serveBackups(ctx); err != nil {
		a.log.Warn("backups over the socket are off", "err", err)
	} else {
		defer stop()
	}
	err = a.engine.Run(ctx, ps...)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return err
}

// platforms builds the configured adapters; Slack's HTTP endpoints go on mux.
func (a *app) platforms() ([]bot.Platform, *http.ServeMux, error) {
	mux := http.NewServeMux()
	var ps []bot.Platform
	if a.cfg.SlackBotToken != "" {
		sc := slack.DefaultConfig()
		sc.BotToken, sc.AppToken, sc.SigningSecret = a.cfg.SlackBotToken, a.cfg.SlackAppToken, a.cfg.SlackSigningSecret
		sc.APIURL, sc.Footer, sc.Logger = a.cfg.SlackAPIURL, a.cfg.Footer, a.log
		sc.Requests = a.metrics.Requests("slack")
		if a.shared.budgets != nil {
			sc.Budget = a.shared.budgets
		}
		s, err := slack.New(sc)
		if err != nil {
			return nil, nil, fmt.Errorf("set up slack: %w", err)
		}
		mux.Handle("/slack/", s.HTTPHandler())
		ps = append(ps, s)
	}
	if a.cfg.DiscordBotToken != "" {
		dc := discord.Config{Token: a.cfg.DiscordBotToken, APIURL: a.cfg.DiscordAPIURL,
			ShardID: a.cfg.DiscordShardID, ShardCount: a.cfg.DiscordShardCount, Footer: a.cfg.Footer,
			Logger: a.log, Requests: a.metrics.Requests("discord")}
		if a.shared.budgets != nil {
			dc.Budget = a.shared.budgets
		}
		d, err := discord.New(dc)
		if err != nil {
			return nil, nil, fmt.Errorf("set up discord: %w", err)
		}
		ps = append(ps, d)
	}
	return ps, mux, nil
}

// routes adds /healthz, /readyz and /metrics to mux.
func (a *app) routes(mux *http.ServeMux, ps []bot.Platform) http.Handler {
	mux.Handle("GET /metrics", a.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		for _, p := range ps {
			if rd, ok := p.(bot.Readiness); ok && !rd.Ready() {
				http.Error(w, p.Name()+" not connected", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	return mux
}
