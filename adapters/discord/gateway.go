package discord

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"kimibot/bot"
)

// Run connects to the gateway and delivers events to h.Events until ctx
// ends, then closes the connection and waits for the interactions being
// answered. With h.Commands it registers and answers the slash commands;
// with h.Desk, the buttons and forms of review cards. After a dropped
// connection the adapter reconnects and resumes the session (op 6), so
// that missed events are replayed rather than lost; a replayed message has
// the same dedupe key as its first delivery.
func (a *Adapter) Run(ctx context.Context, h bot.Host) error {
	a.host.Store(&h)
	defer a.tasks.Wait()
	remove := a.addHandlers(ctx, h.Events)
	defer func() {
		for _, r := range remove {
			r()
		}
	}()
	a.gw.Lock()
	a.gw.stopping = false
	a.gw.Unlock()
	if err := a.open(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	a.gw.Lock()
	a.gw.stopping = true
	reconnecting := a.gw.reconnecting
	a.gw.Unlock()
	if reconnecting != nil {
		<-reconnecting
	}
	a.connected.Store(false)
	if err := a.session.Close(); err != nil {
		a.log.Warn("close gateway", "err", err)
	}
	return nil
}

// open connects, retrying with backoff until ctx ends. An invalid token or
// a privileged intent that is not switched on cannot succeed by retrying.
func (a *Adapter) open(ctx context.Context) error {
	backoff := time.Second
	for {
		err := a.session.Open()
		if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			return nil
		}
		if err := permanent(err); err != nil {
			return err
		}
		a.log.Warn("open gateway failed, retrying", "err", err, "in", backoff)
		if _, err := wait(ctx, backoff, nil); err != nil {
			return nil
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// permanent returns an error explaining a connection failure that retrying
// cannot fix, or nil.
func permanent(err error) error {
	var closeErr *websocket.CloseError
	status, _ := restCode(err)
	switch {
	case status == http.StatusUnauthorized, errors.As(err, &closeErr) && closeErr.Code == 4004:
		return fmt.Errorf("open gateway: the bot token was rejected: %w", err)
	case errors.As(err, &closeErr) && closeErr.Code == 4014:
		return fmt.Errorf("open gateway: the Message Content intent is not enabled for this bot: %w", err)
	case errors.As(err, &closeErr) && (closeErr.Code == 4010 || closeErr.Code == 4011):
		return fmt.Errorf("open gateway: invalid sharding: %w", err)
	}
	return nil
}

// onDisconnect starts reconnecting after a connection was lost. discordgo's
// own reconnect loop is switched off: it cannot be stopped and would
// outlive Run.
func (a *Adapter) onDisconnect(ctx context.Context) {
	a.connected.Store(false)
	a.gw.Lock()
	defer a.gw.Unlock()
	if a.gw.stopping || a.gw.reconnecting != nil || ctx.Err() != nil {
		return
	}
	done := make(chan struct{})
	a.gw.reconnecting = done
	go func() {
		defer close(done)
		a.reconnect(ctx)
		a.gw.Lock()
		a.gw.reconnecting = nil
		a.gw.Unlock()
	}()
}

// reconnect opens the connection again until it succeeds or ctx ends.
// discordgo sends Resume since it keeps the session ID and sequence.
func (a *Adapter) reconnect(ctx context.Context) {
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		err := a.session.Open()
		if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			a.log.Info("gateway reconnected")
			return
		}
		a.log.Warn("reconnect gateway failed, retrying", "err", err, "in", backoff)
		jitter := time.Duration(rand.Int64N(int64(backoff) / 2))
		if _, err := wait(ctx, backoff/2+jitter, nil); err != nil {
			return
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// addHandlers registers the gateway event handlers and returns their
// removers. discordgo runs them in its read loop (SyncEvents), in order.
func (a *Adapter) addHandlers(ctx context.Context, h bot.Handler) []func() {
	s := a.session
	return []func(){
		s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { a.onReady(ctx, r) }),
		s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) { a.log.Info("gateway session resumed") }),
		s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Connect) { a.onConnect() }),
		s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) { a.onDisconnect(ctx) }),
		s.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) { a.onGuild(g.Guild) }),
		s.AddHandler(func(_ *discordgo.Session, t *discordgo.ThreadCreate) { a.channels.putChannel(t.Channel) }),
		s.AddHandler(func(_ *discordgo.Session, c *discordgo.ChannelCreate) { a.channels.putChannel(c.Channel) }),
		s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { a.onMessage(ctx, h, m.Message) }),
		s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { a.onInteraction(ctx, i.Interaction) }),
	}
}

// onReady learns the bot's identity and registers the application
// commands once, in the background: handlers run in the read loop.
func (a *Adapter) onReady(ctx context.Context, r *discordgo.Ready) {
	if r.User != nil {
		a.botID.Store(r.User.ID)
	}
	if r.Application != nil && r.Application.ID != "" {
		a.appID.Store(r.Application.ID)
	}
	a.log.Info("gateway ready", "bot", a.BotID(), "guilds", len(r.Guilds), "shard", shardLabel(r.Shard))
	if h := a.host.Load(); h != nil && h.Commands != nil && a.appID.Load().(string) != "" {
		appID := a.appID.Load().(string)
		a.tasks.Go(func() { a.registerCommands(ctx, appID) })
	}
}

// onConnect marks the adapter ready.
func (a *Adapter) onConnect() { a.connected.Store(true) }

func (a *Adapter) onGuild(g *discordgo.Guild) {
	if g == nil {
		return
	}
	for _, ch := range g.Channels {
		a.channels.putChannel(ch)
	}
	for _, th := range g.Threads {
		a.channels.putChannel(th)
	}
}

// onMessage translates a message and hands it to the engine.
func (a *Adapter) onMessage(ctx context.Context, h bot.Handler, m *discordgo.Message) {
	if m == nil || m.Author == nil || m.Author.Bot {
		return
	}
	botID := a.BotID()
	var info channelInfo
	if m.GuildID != "" && (mentions(m, botID) || repliesTo(m, botID) || a.mayBeThread(m.ChannelID)) {
		info = a.channelInfo(ctx, m.ChannelID)
	}
	ev, ok := toEvent(m, botID, info)
	if !ok {
		return
	}
	if ev.Thread.Thread == m.ID {
		a.titles.put(m.ID, threadTitle(ev.Text))
	}
	if err := h.HandleEvent(ctx, ev); err != nil {
		a.log.Error("handle event", "message", m.ID, "err", err)
	}
}

// mayBeThread is false for channels known not to be threads.
func (a *Adapter) mayBeThread(id string) bool {
	info, ok := a.channels.get(id)
	return !ok || info.thread
}

// channelInfo tells whether a guild channel is a thread, asking Discord
// when the gateway has not said.
func (a *Adapter) channelInfo(ctx context.Context, id string) channelInfo {
	if info, ok := a.channels.get(id); ok {
		return info
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var ch *discordgo.Channel
	err := a.call(ctx, http.MethodGet, discordgo.EndpointChannel(id), urgentPace, func(opts ...discordgo.RequestOption) error {
		var err error
		ch, err = a.session.Channel(id, opts...)
		return err
	})
	if err != nil {
		// Not found is expected for the thread of a message that has none yet.
		status, _ := restCode(err)
		if status != http.StatusNotFound {
			a.log.Warn("look up channel", "channel", id, "err", err)
		}
		if status == http.StatusForbidden || status == http.StatusNotFound {
			a.channels.put(id, channelInfo{})
		}
		return channelInfo{}
	}
	a.channels.putChannel(ch)
	info, _ := a.channels.get(id)
	return info
}

// shardLabel writes a READY's shard as "id/count", or "0/1" when the
// gateway sent none (a single shard).
func shardLabel(s *[2]int) string {
	if s == nil {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s[0], s[1])
}
