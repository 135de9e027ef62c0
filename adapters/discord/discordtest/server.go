// Package discordtest is an in-repo fake of the Discord REST API and gateway
// for tests. discordgo talks to it over loopback: it serves the REST routes
// kimibot calls, speaks the gateway protocol (Hello, Identify, Resume, Ready,
// heartbeats, dispatches), enforces Discord's rate limits with real headers
// and 429 bodies, records every call with its time, and can drop the
// gateway connection to exercise resuming. It keeps registered application
// commands; tests act as users only as Discord's client allows (running a
// registered command, typing in an autocomplete option, clicking a button
// a message shows, submitting a modal the bot opened). It checks messages,
// embeds, components, modals and autocomplete answers against Discord's
// limits, answers repeated creates with the same nonce with the first
// message, and records each interaction's answers with their times.
package discordtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a fake Discord.
type Options struct {
	// Token is the bot token the fake accepts, without the "Bot " prefix.
	Token string
	// BotID, BotName and AppID describe the bot application.
	BotID, BotName, AppID string
	// HeartbeatInterval is sent in Hello (default 1 s).
	HeartbeatInterval time.Duration
	// MessageLimit writes (create, edit, delete) per MessageWindow are
	// allowed per channel, and the same for typing and thread creation
	// (default 5 per 5 s, what Discord enforces in practice).
	MessageLimit  int
	MessageWindow time.Duration
	// GlobalLimit is the requests per second per bot outside interaction
	// routes (default 50; negative disables it).
	GlobalLimit int
	// DenyMessageContent makes an Identify asking for the privileged
	// message content intent fail with close code 4014, as for a bot whose
	// intent is not switched on.
	DenyMessageContent bool
	// FetchOmitsNonce makes fetched messages carry no nonce, as on
	// Discord, which echoes a nonce only in the create response and in
	// MESSAGE_CREATE. By default the fake keeps it on stored messages.
	FetchOmitsNonce bool
}

func (o *Options) defaults() {
	if o.Token == "" {
		o.Token = "test-token"
	}
	if o.BotID == "" {
		o.BotID = "100000000000000001"
	}
	if o.BotName == "" {
		o.BotName = "kimibot"
	}
	if o.AppID == "" {
		o.AppID = "100000000000000002"
	}
	if o.HeartbeatInterval <= 0 {
		o.HeartbeatInterval = time.Second
	}
	if o.MessageLimit <= 0 {
		o.MessageLimit = 5
	}
	if o.MessageWindow <= 0 {
		o.MessageWindow = 5 * time.Second
	}
	if o.GlobalLimit == 0 {
		o.GlobalLimit = 50
	}
}

// Call is one REST request the fake served.
type Call struct {
	// Time is when the request arrived.
	Time   time.Time
	Method string
	// Path is the path below the API version, such as "/channels/1/messages".
	Path string
	// Route is the route template, such as "POST /channels/{id}/messages".
	Route string
	// Channel is the channel the route is about, if any.
	Channel string
	Status  int
	// Counted is true when the request took a slot of its rate-limit
	// bucket, whatever the answer.
	Counted bool
	// Body is the request body (at most 64 KiB).
	Body string
}

// Fault makes the fake answer matching requests with an error.
type Fault struct {
	// Route matches Call.Route ("" matches every route).
	Route string
	// Channel matches Call.Channel ("" matches every channel).
	Channel string
	// Status is the HTTP status to answer; 429 answers with Discord's rate
	// limit body and headers and RetryAfter.
	Status     int
	RetryAfter time.Duration
	// Times is how many requests to fail (at least 1).
	Times int
	// Lost makes the fake carry the request out and then answer with the
	// error anyway, as when a response is lost on the way back.
	Lost bool
}

// Stats counts what the fake answered.
type Stats struct {
	Requests int
	// RateLimited counts 429 answers, including injected ones.
	RateLimited int
	// Injected counts answers made by Faults.
	Injected int
}

// Server is a fake Discord on loopback.
type Server struct {
	opts Options
	http *httptest.Server
	ids  snowflakes

	mu          sync.Mutex
	changed     chan struct{}
	users       map[string]User
	guilds      []string
	channels    map[string]*channelState
	dms         map[string]string
	messages    map[string]*Message
	attachments map[string][]byte
	calls       []Call
	buckets     map[string]*slidingLog
	global      slidingLog
	faults      []*Fault
	stats       Stats
	gw          gatewayState
	inter       map[string]*Interaction
	// commands are the registered application commands by guild ("" for global).
	commands map[string][]Command
}

// channelState is a channel and what the fake keeps about it.
type channelState struct {
	Channel
	noThreads bool
	messages  []string
}

// NewServer starts a fake Discord that stops when the test ends.
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	opts.defaults()
	s := &Server{
		opts:        opts,
		changed:     make(chan struct{}),
		users:       map[string]User{},
		channels:    map[string]*channelState{},
		dms:         map[string]string{},
		messages:    map[string]*Message{},
		attachments: map[string][]byte{},
		buckets:     map[string]*slidingLog{},
		inter:       map[string]*Interaction{},
		commands:    map[string][]Command{},
	}
	s.gw.sessions = map[string]*session{}
	s.users[opts.BotID] = s.botUser()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/gw", s.serveGateway)
	mux.HandleFunc("/gw/", s.serveGateway)
	mux.HandleFunc("/attachments/", s.serveAttachment)
	s.http = httptest.NewUnstartedServer(mux)
	s.http.Start()
	tb.Cleanup(s.Close)
	return s
}

// Close drops every gateway connection and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.abortAllLocked()
	s.mu.Unlock()
	s.http.CloseClientConnections()
	s.http.Close()
}

// URL is the fake's base URL, such as "http://127.0.0.1:1234".
func (s *Server) URL() string { return s.http.URL }

// APIURL is the REST base to configure clients with: URL() + "/api/v10/".
func (s *Server) APIURL() string { return s.http.URL + "/api/v10/" }

// Token is the bot token the fake accepts.
func (s *Server) Token() string { return s.opts.Token }

// Bot is the bot's user.
func (s *Server) Bot() User { return s.botUser() }

// AppID is the bot application's ID.
func (s *Server) AppID() string { return s.opts.AppID }

func (s *Server) botUser() User {
	return User{ID: s.opts.BotID, Username: s.opts.BotName, Discriminator: "0", Bot: true}
}

// AddUser registers a user (a human unless bot is set) and returns it.
func (s *Server) AddUser(name string, bot bool) User {
	u := User{ID: s.ids.next(), Username: name, GlobalName: strings.ToUpper(name[:1]) + name[1:], Discriminator: "0", Bot: bot}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
	s.bumpLocked()
	return u
}

// AddGuild registers a guild and returns its ID. A guild created before
// the bot connects is announced with GUILD_CREATE after READY.
func (s *Server) AddGuild() string {
	id := s.ids.next()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.guilds = append(s.guilds, id)
	return id
}

// AddTextChannel adds a text channel to a guild and returns its ID.
func (s *Server) AddTextChannel(guildID, name string) string {
	id := s.ids.next()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[id] = &channelState{Channel: Channel{ID: id, Type: ChannelText, GuildID: guildID, Name: name}}
	return id
}

// AddThread adds an existing thread under a text channel, as one created
// by a user, and returns its ID.
func (s *Server) AddThread(parentID, name string) string {
	id := s.ids.next()
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := s.channels[parentID]
	s.channels[id] = &channelState{Channel: Channel{ID: id, Type: ChannelThread, GuildID: parent.GuildID, ParentID: parentID, Name: name}}
	return id
}

// ForbidThreads makes thread creation in the channel fail with 403, as in
// a channel where the bot lacks the Create Public Threads permission.
func (s *Server) ForbidThreads(channelID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels[channelID].noThreads = true
}

// DMChannel returns the DM channel between the bot and a user, creating it.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmChannelLocked(userID)
}

func (s *Server) dmChannelLocked(userID string) string {
	if id, ok := s.dms[userID]; ok {
		return id
	}
	id := s.ids.next()
	s.channels[id] = &channelState{Channel: Channel{ID: id, Type: ChannelDM, Recipients: []User{s.users[userID]}}}
	s.dms[userID] = id
	return id
}

// AddAttachment stores a file the fake serves and returns it as an attachment.
func (s *Server) AddAttachment(name, contentType string, data []byte) Attachment {
	id := s.ids.next()
	url := s.http.URL + "/attachments/" + id + "/" + name
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attachments[id] = data
	return Attachment{ID: id, Filename: name, ContentType: contentType, Size: len(data), URL: url, ProxyURL: url}
}

func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request) {
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/attachments/"), "/")
	s.mu.Lock()
	data, ok := s.attachments[id]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write(data)
}

// Inject adds a fault for the next matching requests.
func (s *Server) Inject(f Fault) {
	if f.Times < 1 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// Calls returns every REST call served so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Stats returns the fake's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// MaxWrites returns the largest number of message writes (create, edit,
// delete) that counted against one channel's bucket within any span of
// window, and that channel.
func (s *Server) MaxWrites(window time.Duration) (n int, channel string) {
	byChannel := map[string][]time.Time{}
	for _, c := range s.Calls() {
		if isMessageWrite(c.Route) && c.Counted {
			byChannel[c.Channel] = append(byChannel[c.Channel], c.Time)
		}
	}
	for ch, times := range byChannel {
		slices.SortFunc(times, time.Time.Compare)
		lo := 0
		for hi := range times {
			for times[hi].Sub(times[lo]) >= window {
				lo++
			}
			if hi-lo+1 > n {
				n, channel = hi-lo+1, ch
			}
		}
	}
	return n, channel
}

func isMessageWrite(route string) bool {
	switch route {
	case routeCreateMessage, routeEditMessage, routeDeleteMessage:
		return true
	}
	return false
}

// Messages returns the messages of a channel, oldest first, with their
// current content.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channelID]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(ch.messages))
	for _, id := range ch.messages {
		if m, ok := s.messages[id]; ok {
			out = append(out, *m)
		}
	}
	return out
}

// BotMessages returns the bot's messages in a channel, oldest first.
func (s *Server) BotMessages(channelID string) []Message {
	var out []Message
	for _, m := range s.Messages(channelID) {
		if m.Author.ID == s.opts.BotID {
			out = append(out, m)
		}
	}
	return out
}

// Message returns a message by ID.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// Channel returns a channel by ID.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return ch.Channel, true
}

// WaitFor blocks until cond returns true, re-checking whenever the fake's
// state changes, and fails the test after 15 s. cond must not hold locks
// of its own across calls into the fake.
func (s *Server) WaitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			tb.Fatalf("discordtest: timed out waiting for %s", what)
		}
	}
}

// Wait blocks until cond returns true, re-checking whenever the fake's
// state changes, or until ctx ends. Unlike WaitFor it may run on any
// goroutine, such as another fake's handler.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// bumpLocked wakes WaitFor callers; s.mu must be held.
func (s *Server) bumpLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// readBody reads at most 1 MiB of a request body.
func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	return b
}
