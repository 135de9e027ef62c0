package bot_test

import (
	"strings"
	"testing"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/bot/bottest"
	"kimibot/internal/testkit"
)

var admin = bot.User{ID: "UADMIN", Name: "Ada"}

func adminConfig(c *bot.Config) {
	c.Admins = []bot.Principal{{Platform: "test", Kind: "user", ID: admin.ID}}
}

func TestModelCommandsScopesAndValidation(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: adminConfig})
	ctx := testCtx(t)
	chat := bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "C1", Thread: "TM"}
	user := bot.User{ID: "U1", Name: "ana"}
	run := func(u bot.User, args ...string) bot.CommandReply {
		t.Helper()
		return h.Engine.Commands().Command(ctx, bot.Command{Thread: chat, User: u, Name: "model", Args: args})
	}
	if r := run(user); !strings.Contains(r.Text, "`kimi-k2.6`") || !strings.Contains(r.Text, "default") || r.Public {
		t.Fatalf("model = %+v", r)
	}
	if r := run(user, "kimi-k2.66"); !strings.Contains(r.Text, "no model `kimi-k2.66`") || !strings.Contains(r.Text, "`kimi-k2.6`") {
		t.Fatalf("unknown model reply = %q, want suggestions", r.Text)
	}
	if r := run(user, "moonshot-v1-8k", "channel"); !strings.Contains(r.Text, "Only admins") {
		t.Fatalf("non-admin channel default = %q", r.Text)
	}
	if r := run(admin, "moonshot-v1-8k", "channel"); !r.Public || !strings.Contains(r.Text, "channel's default") {
		t.Fatalf("admin channel default = %+v", r)
	}
	if r := run(user, "kimi-k2-turbo-preview"); r.Public || !strings.Contains(r.Text, "your messages") {
		t.Fatalf("user choice = %+v", r)
	}
	if r := run(user); !strings.Contains(r.Text, "`kimi-k2-turbo-preview`") || !strings.Contains(r.Text, "your own choice") {
		t.Fatalf("model after user choice = %q", r.Text)
	}
	// The next turn by this user in this channel uses the user's model.
	h.ask(t, message("TM", "hi"), 1)
	if got := h.Kimi.ChatRequests()[0].Model; got != "kimi-k2-turbo-preview" {
		t.Fatalf("request model = %s", got)
	}
	if r := run(user, "default"); !strings.Contains(r.Text, "removed") {
		t.Fatalf("remove choice = %q", r.Text)
	}
	if m, src := h.Engine.ResolveModel(ctx, chat, user.ID); m != "moonshot-v1-8k" || src != bot.SourceChannel {
		t.Fatalf("after removing the user choice: %s from %s", m, src)
	}
}

func TestModelChoiceSurvivesRestart(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	ctx := testCtx(t)
	chat := bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "C1", Thread: "TR"}
	h.Engine.Commands().Command(ctx, bot.Command{Thread: chat, User: bot.User{ID: "U1"}, Name: "model", Args: []string{"kimi-k3", "thread"}})
	p2 := bottest.NewPlatform("test")
	h2 := &harness{Stack: h.Restart(t, p2), p: p2, logs: h.logs}
	if m, src := h2.Engine.ResolveModel(ctx, chat, "U9"); m != "kimi-k3" || src != bot.SourceThread {
		t.Fatalf("after restart: %s from %s", m, src)
	}
}

func TestThreadWithImagesKeepsToVisionModels(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	h.p.AddFile("https://files.example/a.png", []byte("\x89PNG\r\n\x1a\nimage"))
	ev := message("TV", "look")
	ev.Attachments = []bot.Attachment{{Name: "a.png", MIME: "image/png", URL: "https://files.example/a.png"}}
	h.ask(t, ev, 1)
	r := h.Engine.Commands().Command(testCtx(t), bot.Command{Thread: ev.Thread, User: ev.User, Name: "model",
		Args: []string{"kimi-k2-turbo-preview", "thread"}})
	if !strings.Contains(r.Text, "cannot see images") {
		t.Fatalf("text-only model for a thread with images = %q", r.Text)
	}
}

func TestModelsListAndAutocomplete(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	ctx := testCtx(t)
	r := h.Engine.Commands().Command(ctx, bot.Command{Thread: bot.ThreadRef{Platform: "test", Channel: "C1"}, User: bot.User{ID: "U1"}, Name: "models"})
	if !strings.Contains(r.Text, "`kimi-k2.6` — 256k context · images · thinking · *in use here*") ||
		!strings.Contains(r.Text, "`moonshot-v1-8k` — 8k context") {
		t.Fatalf("models = %s", r.Text)
	}
	got := h.Engine.Commands().ModelChoices(ctx, "K2", 25)
	if len(got) == 0 || len(got) > 25 {
		t.Fatalf("choices = %v", got)
	}
	for _, id := range got {
		if !strings.Contains(id, "k2") {
			t.Fatalf("choice %q does not match what was typed", id)
		}
	}
	if got := h.Engine.Commands().ModelChoices(ctx, "", 2); len(got) != 2 {
		t.Fatalf("limit not applied: %v", got)
	}
}

func TestUsageSumsWhatTheProviderReported(t *testing.T) {
	h := MustStart(t, testkit.Options{Flavor: kimitest.OpenRouter})
	h.Kimi.Enqueue(
		kimitest.Response{Content: "one", Usage: &kimitest.Usage{PromptTokens: 1200, CompletionTokens: 300, CachedTokens: 200, Cost: 0.0125}},
		kimitest.Response{Content: "two", Usage: &kimitest.Usage{PromptTokens: 1500, CompletionTokens: 400, Cost: 0.0175}},
	)
	h.ask(t, message("TU", "first"), 1)
	h.ask(t, message("TU", "second"), 2)
	h.WaitIdle(t)
	r := h.Engine.Commands().Command(testCtx(t), bot.Command{Thread: bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "C1", Thread: "TU"},
		User: bot.User{ID: "U1"}, Name: "usage"})
	for _, want := range []string{"You, today: 2,700 in / 700 out (200 cached), $0.0300, 2 calls",
		"This conversation: 2,700 in / 700 out (200 cached), $0.0300, 2 calls"} {
		if !strings.Contains(r.Text, want) {
			t.Fatalf("usage = %s\nwant a line %q", r.Text, want)
		}
	}
}

func TestHelpAndUnknownCommands(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	ctx := testCtx(t)
	for _, name := range []string{"help", "", "frobnicate"} {
		r := h.Engine.Commands().Command(ctx, bot.Command{Thread: bot.ThreadRef{Platform: "test", Channel: "C1"}, User: bot.User{ID: "U1"}, Name: name})
		if !strings.Contains(r.Text, "`models`") || r.Public {
			t.Fatalf("%q: %+v", name, r)
		}
		if name == "frobnicate" && !strings.Contains(r.Text, "Unknown command `frobnicate`") {
			t.Fatalf("unknown command reply = %q", r.Text)
		}
	}
}

func TestNewCommandResetsConversation(t *testing.T) {
	h := MustStart(t, testkit.Options{})
	h.ask(t, message("TN", "remember banana"), 1)
	h.Engine.Commands().Command(testCtx(t), bot.Command{Thread: bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "C1", Thread: "TN"},
		User: bot.User{ID: "U1"}, Name: "new"})
	h.ask(t, message("TN", "what fruit?"), 2)
	reqs := h.Kimi.ChatRequests()
	for _, m := range reqs[len(reqs)-1].Messages {
		if strings.Contains(m.Text(), "banana") {
			t.Fatal("history kept after new")
		}
	}
}
