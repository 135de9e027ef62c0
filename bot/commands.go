package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"kimibot/conversation"
)

// Command is a slash command (/kimi on Slack, application commands on Discord).
type Command struct {
	// Thread is where the command was issued; Thread.Thread is empty for a
	// whole channel or DM.
	Thread ThreadRef
	User   User
	// Name is the subcommand: model, models, new, usage, pending, support, help.
	Name string
	Args []string
}

// CommandReply is the answer to a command.
type CommandReply struct {
	// Text is Markdown.
	Text string
	// Public replies are shown to everyone in the channel; others only to the user.
	Public bool
}

// Command runs a slash command and returns its answer. It never fails:
// problems are explained in the reply.
func (e *Engine) Command(ctx context.Context, c Command) CommandReply {
	if c.Name == "" {
		c.Name = "help"
	}
	spec, ok := LookupCommand(c.Name)
	if !ok {
		return CommandReply{Text: fmt.Sprintf("Unknown command `%s`.\n\n%s", c.Name, HelpText())}
	}
	return spec.run(e, ctx, c)
}

// IsAdmin reports whether u may change channel settings.
func (e *Engine) IsAdmin(ctx context.Context, platform string, u User) bool {
	return e.matches(ctx, platform, u, e.cfg.Admins)
}

// matches reports whether u is one of ps: by ID, Discord role or Slack user group.
func (e *Engine) matches(ctx context.Context, platform string, u User, ps []Principal) bool {
	for _, p := range ps {
		if p.Platform != platform || u.ID == "" {
			continue
		}
		switch p.Kind {
		case PrincipalRole:
			for _, r := range u.Roles {
				if r == p.ID {
					return true
				}
			}
		case PrincipalGroup:
			if e.inGroup(ctx, platform, p.ID, u.ID) {
				return true
			}
		default:
			if p.ID == u.ID {
				return true
			}
		}
	}
	return false
}

func (e *Engine) inGroup(ctx context.Context, platform, group, user string) bool {
	pl, ok := e.platform(platform)
	if !ok {
		return false
	}
	g, ok := pl.(GroupResolver)
	if !ok {
		return false
	}
	in, err := g.InGroup(ctx, group, user)
	if err != nil {
		e.log.Warn("check user group", "group", group, "err", err)
	}
	return in
}

func (e *Engine) cmdModel(ctx context.Context, c Command) CommandReply {
	if len(c.Args) == 0 {
		model, src := e.ResolveModel(ctx, c.Thread, c.User.ID)
		return CommandReply{Text: fmt.Sprintf("Model here: `%s` (%s).", model, sourceText(src))}
	}
	id, kind := c.Args[0], conversation.ScopeUser
	if len(c.Args) > 1 {
		switch strings.ToLower(c.Args[1]) {
		case "thread", "here", "conversation":
			kind = conversation.ScopeThread
		case "channel":
			kind = conversation.ScopeChannel
		case "me", "user":
		default:
			return CommandReply{Text: fmt.Sprintf("Unknown scope `%s`: use `me`, `thread` or `channel`.", c.Args[1])}
		}
	}
	return e.setModel(ctx, c, id, kind)
}

func sourceText(s ModelSource) string {
	switch s {
	case SourceThread:
		return "chosen for this conversation"
	case SourceUser:
		return "your own choice"
	case SourceChannel:
		return "this channel's default"
	}
	return "the bot's default"
}

// setModel validates and stores a model choice for one scope.
func (e *Engine) setModel(ctx context.Context, c Command, id string, kind conversation.ScopeKind) CommandReply {
	scope, deny := e.scopeFor(ctx, c, kind)
	if deny != "" {
		return CommandReply{Text: deny}
	}
	if strings.EqualFold(id, "default") || strings.EqualFold(id, "reset") {
		id = ""
	} else if reply, ok := e.checkModel(ctx, c, id, kind); !ok {
		return reply
	}
	if err := e.cfg.Settings.SetSetting(ctx, scope, SettingModel, id); err != nil {
		return e.commandFailed("store model choice", err)
	}
	where := map[conversation.ScopeKind]string{conversation.ScopeUser: "for your messages",
		conversation.ScopeThread: "for this conversation", conversation.ScopeChannel: "as this channel's default"}[kind]
	if id == "" {
		return CommandReply{Text: fmt.Sprintf("Model choice %s removed.", where), Public: kind != conversation.ScopeUser}
	}
	return CommandReply{Text: fmt.Sprintf("Using `%s` %s.", id, where), Public: kind != conversation.ScopeUser}
}

// scopeFor returns the settings scope of kind for c, or why it is refused.
func (e *Engine) scopeFor(ctx context.Context, c Command, kind conversation.ScopeKind) (conversation.Scope, string) {
	p := c.Thread.Platform
	switch kind {
	case conversation.ScopeChannel:
		if !e.IsAdmin(ctx, p, c.User) {
			return conversation.Scope{}, "Only admins can change a channel's default model. You can set your own with `model <id>`."
		}
		return conversation.Scope{Kind: kind, Platform: p, ID: c.Thread.Channel}, ""
	case conversation.ScopeThread:
		return conversation.Scope{Kind: kind, Platform: p, ID: string(c.Thread.Key())}, ""
	}
	return conversation.Scope{Kind: conversation.ScopeUser, Platform: p, ID: c.User.ID}, ""
}

// checkModel refuses unknown models (with the closest matches) and
// text-only models for a conversation that holds images.
func (e *Engine) checkModel(ctx context.Context, c Command, id string, kind conversation.ScopeKind) (CommandReply, bool) {
	if e.cfg.Catalog == nil {
		return CommandReply{}, true
	}
	list, err := e.cfg.Catalog.Models(ctx)
	if err != nil {
		return e.commandFailed("list models", err), false
	}
	var info *ModelInfo
	ids := make([]string, 0, len(list))
	for i := range list {
		ids = append(ids, list[i].ID)
		if list[i].ID == id {
			info = &list[i]
		}
	}
	if info == nil && strings.HasPrefix(id, "~") {
		return CommandReply{}, true // an OpenRouter alias, such as ~moonshotai/kimi-latest
	}
	if info == nil {
		return CommandReply{Text: fmt.Sprintf("There is no model `%s`. Closest: %s. See `models` for the full list.",
			id, codeList(closest(id, ids, 3)))}, false
	}
	if !info.Vision && kind == conversation.ScopeThread && e.threadHasImages(ctx, c.Thread.Key()) {
		return CommandReply{Text: fmt.Sprintf("This conversation holds images and `%s` cannot see images. "+
			"Pick a vision model (see `models`) or start a new conversation with `new`.", id)}, false
	}
	return CommandReply{}, true
}

func (e *Engine) threadHasImages(ctx context.Context, key conversation.ThreadKey) bool {
	msgs, err := e.cfg.Threads.Messages(ctx, key)
	if err != nil {
		return false
	}
	for _, m := range msgs {
		if m.HasImages() {
			return true
		}
	}
	return false
}

func codeList(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return "`" + strings.Join(ids, "`, `") + "`"
}

// closest returns up to n ids nearest to want: containing it first, then by edit distance.
func closest(want string, ids []string, n int) []string {
	w := strings.ToLower(want)
	type cand struct {
		id   string
		dist int
	}
	cs := make([]cand, 0, len(ids))
	for _, id := range ids {
		d := editDistance(w, strings.ToLower(id))
		if strings.Contains(strings.ToLower(id), w) || strings.Contains(w, strings.ToLower(id)) {
			d -= 100
		}
		cs = append(cs, cand{id, d})
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].dist < cs[j].dist })
	var out []string
	for i := 0; i < len(cs) && i < n; i++ {
		out = append(out, cs[i].id)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func (e *Engine) cmdModels(ctx context.Context, c Command) CommandReply {
	if e.cfg.Catalog == nil {
		return CommandReply{Text: "The model list is not available."}
	}
	list, err := e.cfg.Catalog.Models(ctx)
	if err != nil {
		return e.commandFailed("list models", err)
	}
	current, _ := e.ResolveModel(ctx, c.Thread, c.User.ID)
	var b strings.Builder
	b.WriteString("*Models*\n")
	for _, m := range list {
		fmt.Fprintf(&b, "• `%s` — %s context", m.ID, tokensShort(m.ContextLength))
		if m.Vision {
			b.WriteString(" · images")
		}
		if m.Reasoning {
			b.WriteString(" · thinking")
		}
		if m.ID == current {
			b.WriteString(" · *in use here*")
		}
		b.WriteByte('\n')
	}
	return CommandReply{Text: strings.TrimRight(b.String(), "\n")}
}

func tokensShort(n int) string {
	switch {
	case n <= 0:
		return "unknown"
	case n >= 1024 && n%1024 == 0:
		return fmt.Sprintf("%dk", n/1024)
	case n >= 1000:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// ModelChoices returns up to limit live model IDs containing typed, for autocomplete.
func (e *Engine) ModelChoices(ctx context.Context, typed string, limit int) []string {
	if e.cfg.Catalog == nil {
		return nil
	}
	list, err := e.cfg.Catalog.Models(ctx)
	if err != nil {
		e.log.Warn("list models for autocomplete", "err", err)
		return nil
	}
	typed = strings.ToLower(strings.TrimSpace(typed))
	var out []string
	for _, m := range list {
		if len(out) == limit {
			break
		}
		if strings.Contains(strings.ToLower(m.ID), typed) {
			out = append(out, m.ID)
		}
	}
	return out
}

func (e *Engine) cmdNew(ctx context.Context, c Command) CommandReply {
	e.deleteThreadFiles(ctx, c.Thread.Key())
	if err := e.cfg.Threads.Reset(ctx, c.Thread.Key()); err != nil && !errors.Is(err, conversation.ErrNotFound) {
		return e.commandFailed("reset conversation", err)
	}
	return CommandReply{Text: "Started a new conversation here. Earlier messages are forgotten."}
}

// commandFailed logs err with a reference and returns a short explanation.
func (e *Engine) commandFailed(action string, err error) CommandReply {
	ref := newRef()
	e.log.Error("command failed", "action", action, "ref", ref, "err", err)
	return CommandReply{Text: userMessage(err) + " (ref " + ref + ")"}
}
