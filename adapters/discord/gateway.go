package discord

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"kimibot/bot"
)

// Run connects to the gateway and delivers events to h until ctx ends,
// then closes the connection. After a dropped connection discordgo
// reconnects by itself and resumes the session (op 6), so missed events
// are replayed rather than lost; a replayed message has the same dedupe key
// as the first delivery.
func (a *Adapter) Run(ctx context.Context, h bot.Handler) error {
	remove := a.addHandlers(ctx, h)
	defer func() {
		for _, r := range remove {
			r()
		}
	}()
	if err := a.open(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	a.closing.Store(true)
	a.connected.Store(false)
	if err := a.session.Close(); err != nil {
		a.log.Warn("close gateway", "err", err)
	}
	return nil
}

// open connects, retrying with backoff until ctx ends. An invalid token or
// a privileged intent that is not switched on cannot succeed by retrying.
func (a *Adapter) open(ctx context.Context) error {
	a.closing.Store(false)
	backoff := time.Second
	for {
		err := a.session.Open()
		if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			return nil
		}
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
		a.log.Warn("open gateway failed, retrying", "err", err, "in", backoff)
		if _, err := wait(ctx, backoff, nil); err != nil {
			return nil
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// addHandlers registers the gateway event handlers and returns their
// removers. discordgo runs them in its read loop (SyncEvents), in order.
func (a *Adapter) addHandlers(ctx context.Context, h bot.Handler) []func() {
	s := a.session
	return []func(){
		s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { a.onReady(r) }),
		s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) { a.log.Info("gateway session resumed") }),
		s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Connect) { a.onConnect() }),
		s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) { a.connected.Store(false) }),
		s.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) { a.onGuild(g.Guild) }),
		s.AddHandler(func(_ *discordgo.Session, t *discordgo.ThreadCreate) { a.channels.putChannel(t.Channel) }),
		s.AddHandler(func(_ *discordgo.Session, c *discordgo.ChannelCreate) { a.channels.putChannel(c.Channel) }),
		s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { a.onMessage(ctx, h, m.Message) }),
		s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { a.onInteraction(ctx, i.Interaction) }),
	}
}

func (a *Adapter) onReady(r *discordgo.Ready) {
	if r.User != nil {
		a.botID.Store(r.User.ID)
	}
	if r.Application != nil {
		a.appID.Store(r.Application.ID)
	}
	a.log.Info("gateway ready", "bot", a.BotID(), "guilds", len(r.Guilds), "shard", r.Shard)
}

// onConnect marks the adapter ready. A connection made by discordgo's
// reconnect loop after Run ended is closed again.
func (a *Adapter) onConnect() {
	if a.closing.Load() {
		go a.session.Close()
		return
	}
	a.connected.Store(true)
}

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
		a.log.Warn("look up channel", "channel", id, "err", err)
		if status, _ := restCode(err); status == http.StatusForbidden || status == http.StatusNotFound {
			a.channels.put(id, channelInfo{})
		}
		return channelInfo{}
	}
	a.channels.putChannel(ch)
	info, _ := a.channels.get(id)
	return info
}
