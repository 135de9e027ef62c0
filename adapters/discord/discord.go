package discord

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"kimibot/bot"
	"kimibot/internal/tasks"
)

// DefaultAPIURL is Discord's REST base.
const DefaultAPIURL = "https://discord.com/api/v10/"

// Intents are the gateway intents the adapter asks for. Message content is
// privileged: it must be switched on in the developer portal.
const Intents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages |
	discordgo.IntentsDirectMessages | discordgo.IntentsMessageContent

// Config configures the adapter.
type Config struct {
	// Token is the bot token, with or without the "Bot " prefix.
	Token string
	// APIURL is the REST base (default DefaultAPIURL); the gateway URL is
	// discovered from it.
	APIURL string
	// ShardID and ShardCount split guilds between processes; ShardCount 0
	// or 1 means one shard.
	ShardID, ShardCount int
	// Footer adds a small line with model, tokens and time under answers.
	Footer bool
	Logger *slog.Logger
	// Requests counts REST requests by route; optional.
	Requests RequestObserver
}

// Adapter is the Discord platform.
type Adapter struct {
	cfg     Config
	log     *slog.Logger
	session *discordgo.Session
	client  *http.Client
	apiHost string
	limits  *limiter

	connected atomic.Bool
	botID     atomic.Value // string

	// gw coordinates reconnecting with the end of Run.
	gw struct {
		sync.Mutex
		stopping     bool
		reconnecting chan struct{}
	}

	channels channelCache
	titles   titleCache

	noThreadsMu sync.Mutex
	noThreads   map[string]bool

	// host is what Run was given: events, commands and the desk.
	host atomic.Pointer[bot.Host]
	// tasks counts the interactions being answered, for Run to wait on.
	tasks tasks.Group
	// seen drops interactions delivered twice.
	seen idSet

	appID atomic.Value // string
	// commands is the state of the command registration (commandsNone, ...).
	commands atomic.Int32
	// choicesWithin bounds the wait for autocomplete choices.
	choicesWithin time.Duration
}

var (
	_ bot.Platform  = (*Adapter)(nil)
	_ bot.Readiness = (*Adapter)(nil)
)

// New makes an adapter; Run connects it.
func New(cfg Config) (*Adapter, error) {
	token := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cfg.Token), "Bot "))
	if token == "" {
		return nil, errors.New("discord: token is empty")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	api, err := url.Parse(cfg.APIURL)
	if err != nil || api.Host == "" || (api.Scheme != "http" && api.Scheme != "https") {
		return nil, fmt.Errorf("discord: parse api url %q: not an http(s) URL", cfg.APIURL)
	}
	if cfg.ShardCount > 1 && (cfg.ShardID < 0 || cfg.ShardID >= cfg.ShardCount) {
		return nil, fmt.Errorf("discord: shard id %d is outside 0..%d", cfg.ShardID, cfg.ShardCount-1)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &Adapter{cfg: cfg, log: cfg.Logger.With("component", "discord"), apiHost: api.Host, noThreads: map[string]bool{},
		choicesWithin: choicesWithin}
	a.limits = newLimiter()
	a.client = &http.Client{Timeout: 30 * time.Second,
		Transport: newTransport(countRequests(http.DefaultTransport, api.Host, cfg.Requests), api, a.limits)}
	a.session = a.newSession("Bot " + token)
	a.botID.Store("")
	a.appID.Store("")
	return a, nil
}

func (a *Adapter) newSession(token string) *discordgo.Session {
	s, _ := discordgo.New(token)
	s.Client = a.client
	s.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: 10 * time.Second}
	s.Identify.Intents = Intents
	s.StateEnabled = false
	s.SyncEvents = true
	s.ShouldRetryOnRateLimit = false
	// The adapter reconnects itself (see onDisconnect) and logs through
	// slog; discordgo's logger writes to the standard logger.
	s.ShouldReconnectOnError = false
	s.LogLevel = -1
	if a.cfg.ShardCount > 1 {
		s.ShardID, s.ShardCount = a.cfg.ShardID, a.cfg.ShardCount
	}
	return s
}

// Name is the adapter name used in thread references.
func (a *Adapter) Name() string { return "discord" }

// Ready reports whether the gateway is connected.
func (a *Adapter) Ready() bool { return a.connected.Load() }

// BotID is the bot's user ID, known once the gateway sent READY.
func (a *Adapter) BotID() string { return a.botID.Load().(string) }

func (a *Adapter) markNoThreads(channel string) {
	a.noThreadsMu.Lock()
	defer a.noThreadsMu.Unlock()
	a.noThreads[channel] = true
}

func (a *Adapter) threadsForbidden(channel string) bool {
	a.noThreadsMu.Lock()
	defer a.noThreadsMu.Unlock()
	return a.noThreads[channel]
}

// InvitePermissions are the permissions the bot needs in a server: see
// channels, read their history (replies quote it; a reply is found again
// after a restart), send messages with embeds (review cards), start public
// threads from mentions and write in threads.
const InvitePermissions = discordgo.PermissionViewChannel | discordgo.PermissionReadMessageHistory |
	discordgo.PermissionSendMessages | discordgo.PermissionEmbedLinks | discordgo.PermissionCreatePublicThreads |
	discordgo.PermissionSendMessagesInThreads

// InviteURL is the link that adds the bot to a server with the permissions
// it needs and its slash commands.
func InviteURL(applicationID string) string {
	q := url.Values{}
	q.Set("client_id", applicationID)
	q.Set("scope", "bot applications.commands")
	q.Set("permissions", strconv.FormatInt(InvitePermissions, 10))
	return "https://discord.com/oauth2/authorize?" + q.Encode()
}
