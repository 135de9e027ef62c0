package discord

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"kimibot/adapters/discord/discordtest"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/internal/testkit"
)

// adminRole is the Discord role of admins in command tests.
const adminRole = "700000000000000001"

// commandE2E is the whole bot on Discord with a server channel, an admin
// role, and its slash commands registered.
type commandE2E struct {
	*e2e
	guild, general string
	bob            discordtest.User
}

// mustCommandE2E starts the bot; tune, if set, adjusts the adapter before
// it runs.
func mustCommandE2E(tb testing.TB, opts testkit.Options, tune ...func(*Adapter)) *commandE2E {
	tb.Helper()
	c := &commandE2E{}
	configure := opts.Configure
	c.e2e = mustE2EWith(tb, discordtest.Options{}, func(e *e2e) testkit.Options {
		for _, f := range tune {
			f(e.a)
		}
		c.guild = e.fake.AddGuild()
		c.general = e.fake.AddTextChannel(c.guild, "general")
		c.bob = e.fake.AddUser("bob", false)
		opts.Configure = func(cfg *bot.Config) {
			cfg.Admins = []bot.Principal{{Platform: "discord", Kind: "role", ID: adminRole}}
			if configure != nil {
				configure(cfg)
			}
		}
		return opts
	})
	c.waitCommands(tb, 1)
	return c
}

// waitCommands waits until the commands were registered n times.
func (e *e2e) waitCommands(tb testing.TB, n int) {
	tb.Helper()
	e.fake.WaitFor(tb, "slash commands registered", func() bool {
		puts := 0
		for _, call := range e.fake.Calls() {
			if call.Route == discordtest.RouteGlobalCommands && call.Status == 200 {
				puts++
			}
		}
		return puts >= n
	})
}

// ask mentions the bot in the general channel as u and waits for the
// answer in the thread started from the mention.
func (c *commandE2E) ask(tb testing.TB, u discordtest.User, text string) discordtest.Message {
	tb.Helper()
	m := mention(c.fake, c.general, u, text)
	c.waitAnswer(tb, m.ID, "You said: "+text)
	return m
}

// lastModel is the model of the last request the fake Kimi got.
func (c *commandE2E) lastModel(tb testing.TB) string {
	tb.Helper()
	reqs := c.stack.Kimi.ChatRequests()
	if len(reqs) == 0 {
		tb.Fatal("the model got no request")
	}
	return reqs[len(reqs)-1].Model
}

func TestE2EModelCommandThenMention(t *testing.T) {
	t.Parallel()
	c := mustCommandE2E(t, testkit.Options{})
	it := MustCommand(t, c.fake, member(c.general, c.user), "model", discordtest.Option{Name: "id", Value: "kimi-k2-turbo-preview"})
	text, private := commandAnswer(t, c.fake, it.ID)
	if text != "Using `kimi-k2-turbo-preview` for your messages." || !private {
		t.Fatalf("answer %q (private %v)", text, private)
	}
	if d := decodeCallback(t, c.fake.InteractionState(it.ID)); d.Flags != ephemeralFlag {
		t.Fatalf("deferred with flags %d, want a private placeholder", d.Flags)
	}
	c.ask(t, c.user, "which model are you?")
	if got := c.lastModel(t); got != "kimi-k2-turbo-preview" {
		t.Fatalf("request model = %s", got)
	}
}

func TestE2EModelAutocomplete(t *testing.T) {
	t.Parallel()
	live := kimitest.DefaultModels(kimitest.Moonshot)
	matching := func(typed string, limit int) []string {
		var out []string
		for _, m := range live {
			if strings.Contains(m.ID, typed) && len(out) < limit {
				out = append(out, m.ID)
			}
		}
		return out
	}
	extra := make([]string, 40)
	for i := range extra {
		extra[i] = fmt.Sprintf("kimi-extra-%02d", i)
	}
	// A stalled list is given up on quickly.
	impatient := func(a *Adapter) { a.choicesWithin = choicesWithin / 20 }
	tests := []struct {
		name    string
		catalog func(bot.Catalog) bot.Catalog
		tune    []func(*Adapter)
		typed   string
		want    []string
	}{
		{"Filtered", nil, nil, "k2", matching("k2", maxChoices)},
		{"Everything", nil, nil, "", matching("", maxChoices)},
		{"Nothing", nil, nil, "gpt", nil},
		{"AtMost25", func(c bot.Catalog) bot.Catalog { return moreModels{c, extra} }, nil, "kimi",
			append(matching("kimi", maxChoices), extra...)[:maxChoices]},
		{"SlowListAnswersEmptyInTime", func(bot.Catalog) bot.Catalog { return stalledCatalog{} },
			[]func(*Adapter){impatient}, "kimi", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts testkit.Options
			if tt.catalog != nil {
				opts.Configure = func(cfg *bot.Config) { cfg.Catalog = tt.catalog(cfg.Catalog) }
			}
			c := mustCommandE2E(t, opts, tt.tune...)
			it, err := c.fake.SendAutocomplete(member(c.general, c.user), "model",
				discordtest.Option{Name: "id", Value: tt.typed, Focused: true})
			if err != nil {
				t.Fatal(err)
			}
			// The fake refuses a callback after Discord's 3 s deadline.
			got := waitCallback(t, c.fake, it.ID)
			d := decodeCallback(t, got)
			if got.CallbackType != discordtest.CallbackAutocomplete {
				t.Fatalf("callback type %d, want autocomplete choices", got.CallbackType)
			}
			var ids []string
			for _, ch := range d.Choices {
				ids = append(ids, ch.Value)
			}
			if len(ids) > maxChoices || !slices.Equal(ids, tt.want) {
				t.Fatalf("choices %v, want %v", ids, tt.want)
			}
		})
	}
}

// moreModels adds models to a catalog's live list.
type moreModels struct {
	bot.Catalog
	ids []string
}

func (m moreModels) Models(ctx context.Context) ([]bot.ModelInfo, error) {
	list, err := m.Catalog.Models(ctx)
	for _, id := range m.ids {
		list = append(list, bot.ModelInfo{ID: id, ContextLength: 131072})
	}
	return list, err
}

// stalledCatalog never answers before its context ends.
type stalledCatalog struct{}

func (stalledCatalog) Models(ctx context.Context) ([]bot.ModelInfo, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestE2EUnknownModelIsRefusedWithSuggestions(t *testing.T) {
	t.Parallel()
	c := mustCommandE2E(t, testkit.Options{})
	it := MustCommand(t, c.fake, member(c.general, c.user), "model", discordtest.Option{Name: "id", Value: "kimi-k2.66"})
	text, private := commandAnswer(t, c.fake, it.ID)
	if !strings.Contains(text, "There is no model `kimi-k2.66`") || !strings.Contains(text, "`kimi-k2.6`") || !private {
		t.Fatalf("answer %q (private %v), want a refusal with suggestions", text, private)
	}
	if m, _ := c.stack.Engine.ResolveModel(context.Background(), bot.ThreadRef{Platform: "discord", Workspace: c.guild,
		Channel: c.general}, c.user.ID); m != "kimi-k2.6" {
		t.Fatalf("model after a refused choice = %s", m)
	}
}

func TestE2EChannelDefaultNeedsAdmin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		roles   []string
		want    string
		public  bool
		current string
	}{
		{"Member", []string{"700000000000000099"}, "Only admins can change a channel's default model", false, "kimi-k2.6"},
		{"AdminRole", []string{adminRole}, "Using `moonshot-v1-8k` as this channel's default.", true, "moonshot-v1-8k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustCommandE2E(t, testkit.Options{})
			it := MustCommand(t, c.fake, member(c.general, c.user, tt.roles...), "model",
				discordtest.Option{Name: "id", Value: "moonshot-v1-8k"}, discordtest.Option{Name: "scope", Value: "channel"})
			text, private := commandAnswer(t, c.fake, it.ID)
			if !strings.Contains(text, tt.want) || private == tt.public {
				t.Fatalf("answer %q (private %v), want %q (public %v)", text, private, tt.want, tt.public)
			}
			// A channel change is announced: the placeholder was public. A
			// refusal replaced it with a private answer.
			st := c.fake.InteractionState(it.ID)
			if d := decodeCallback(t, st); d.Flags != 0 || st.OriginalDeleted == tt.public {
				t.Fatalf("placeholder flags %d, deleted %v", d.Flags, st.OriginalDeleted)
			}
			c.ask(t, c.bob, "hello")
			if got := c.lastModel(t); got != tt.current {
				t.Fatalf("request model = %s, want %s", got, tt.current)
			}
		})
	}
}

func TestE2EModelPrecedence(t *testing.T) {
	t.Parallel()
	c := mustCommandE2E(t, testkit.Options{})
	set := func(m discordtest.Member, id, scope string) {
		t.Helper()
		opts := []discordtest.Option{{Name: "id", Value: id}}
		if scope != "" {
			opts = append(opts, discordtest.Option{Name: "scope", Value: scope})
		}
		if text, _ := commandAnswer(t, c.fake, MustCommand(t, c.fake, m, "model", opts...).ID); !strings.HasPrefix(text, "Using") {
			t.Fatalf("/model %s %s: %q", id, scope, text)
		}
	}
	c.ask(t, c.user, "first")
	if got := c.lastModel(t); got != "kimi-k2.6" {
		t.Fatalf("without settings: %s, want KIMI_MODEL", got)
	}
	set(member(c.general, c.bob, adminRole), "moonshot-v1-8k", "channel")
	set(member(c.general, c.user), "kimi-k2-turbo-preview", "")
	thread := c.ask(t, c.user, "second").ID
	steps := []struct {
		name, want string
		send       func()
	}{
		{"UserOverChannel", "kimi-k2-turbo-preview", func() { c.ask(t, c.user, "third") }},
		{"ChannelOverDefault", "moonshot-v1-8k", func() { c.ask(t, c.bob, "fourth") }},
		{"ThreadOverUser", "kimi-k3", func() {
			set(member(thread, c.bob), "kimi-k3", "thread")
			c.fake.SendMessage(discordtest.Incoming{Channel: thread, Author: c.user, Content: "fifth"})
			c.waitMessage(t, thread, "You said: fifth")
		}},
	}
	for _, s := range steps {
		s.send()
		if got := c.lastModel(t); got != s.want {
			t.Fatalf("%s: request model = %s, want %s", s.name, got, s.want)
		}
	}
}

func TestE2EUsageSumsWhatTheFakeReported(t *testing.T) {
	t.Parallel()
	c := mustCommandE2E(t, testkit.Options{Flavor: kimitest.OpenRouter})
	c.stack.Kimi.Enqueue(
		kimitest.Response{Content: "one", Usage: &kimitest.Usage{PromptTokens: 1200, CompletionTokens: 300, CachedTokens: 200, Cost: 0.0125}},
		kimitest.Response{Content: "two", Usage: &kimitest.Usage{PromptTokens: 1500, CompletionTokens: 400, Cost: 0.0175}},
	)
	m := mention(c.fake, c.general, c.user, "first")
	c.waitAnswer(t, m.ID, "one")
	c.fake.SendMessage(discordtest.Incoming{Channel: m.ID, Author: c.user, Content: "second"})
	c.waitAnswer(t, m.ID, "onetwo")
	text, private := commandAnswer(t, c.fake, MustCommand(t, c.fake, member(m.ID, c.user), "usage").ID)
	for _, want := range []string{"You, today: 2,700 in / 700 out (200 cached), $0.0300, 2 calls",
		"This conversation: 2,700 in / 700 out (200 cached), $0.0300, 2 calls"} {
		if !strings.Contains(text, want) || !private {
			t.Fatalf("usage = %s (private %v)\nwant a line %q", text, private, want)
		}
	}
}

func TestE2ESettingsAndCommandsSurviveRestart(t *testing.T) {
	t.Parallel()
	c := mustCommandE2E(t, testkit.Options{})
	before := c.fake.Commands("")
	it := MustCommand(t, c.fake, member(c.general, c.user), "model", discordtest.Option{Name: "id", Value: "kimi-k2-turbo-preview"})
	if text, _ := commandAnswer(t, c.fake, it.ID); !strings.HasPrefix(text, "Using") {
		t.Fatalf("/model = %q", text)
	}
	c.restart(t, nil)
	c.waitCommands(t, 2)
	// Registering again overwrites: the same commands keep their IDs.
	after := c.fake.Commands("")
	if len(after) != len(before) {
		t.Fatalf("%d commands after restart, %d before", len(after), len(before))
	}
	for i := range after {
		if after[i].ID != before[i].ID || after[i].Name != before[i].Name {
			t.Fatalf("command %d changed: %+v -> %+v", i, before[i], after[i])
		}
	}
	text, _ := commandAnswer(t, c.fake, MustCommand(t, c.fake, member(c.general, c.user), "model").ID)
	if !strings.Contains(text, "`kimi-k2-turbo-preview` (your own choice)") {
		t.Fatalf("/model after restart = %q", text)
	}
	c.ask(t, c.user, "still there?")
	if got := c.lastModel(t); got != "kimi-k2-turbo-preview" {
		t.Fatalf("request model after restart = %s", got)
	}
}

func TestE2ERegisteredCommands(t *testing.T) {
	t.Parallel()
	c := mustCommandE2E(t, testkit.Options{})
	byName := map[string]discordtest.Command{}
	for _, cmd := range c.fake.Commands("") {
		byName[cmd.Name] = cmd
	}
	for _, name := range []string{"model", "models", "new", "usage", "pending", "support", "help"} {
		if _, ok := byName[name]; !ok {
			t.Fatalf("/%s is not registered (got %v)", name, byName)
		}
	}
	model := byName["model"].Options
	if len(model) != 2 || model[0].Name != "id" || !model[0].Autocomplete || model[1].Name != "scope" || len(model[1].Choices) != 3 {
		t.Fatalf("/model options = %+v", model)
	}
	support := byName["support"].Options
	if len(support) != 2 || support[0].Type != discordtest.OptionChannel || support[1].Type != discordtest.OptionBoolean {
		t.Fatalf("/support options = %+v", support)
	}
}

func TestE2ESimpleCommandsAnswerPrivately(t *testing.T) {
	t.Parallel()
	c := mustCommandE2E(t, testkit.Options{})
	tests := []struct{ command, want string }{
		{"help", "`models`"},
		{"models", "`kimi-k2.6` — 256k context · images · thinking · *in use here*"},
		{"new", "Started a new conversation here."},
		{"pending", "Only approvers can list pending drafts."},
		{"usage", "You, today:"},
	}
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			text, private := commandAnswer(t, c.fake, MustCommand(t, c.fake, member(c.general, c.user), tt.command).ID)
			if !strings.Contains(text, tt.want) || !private {
				t.Fatalf("/%s = %q (private %v), want %q", tt.command, text, private, tt.want)
			}
		})
	}
	// In a DM, too.
	text, private := commandAnswer(t, c.fake, MustCommand(t, c.fake, member(c.dm, c.user), "help").ID)
	if !strings.Contains(text, "`models`") || !private {
		t.Fatalf("/help in a DM = %q", text)
	}
}
