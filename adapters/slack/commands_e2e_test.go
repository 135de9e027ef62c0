package slack

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
	"kimibot/internal/testkit"
)

const admin = "UADMIN"

// adminOptions makes UADMIN an admin.
func adminOptions(opts testkit.Options) testkit.Options {
	opts.Configure = func(c *bot.Config) {
		c.Admins = []bot.Principal{{Platform: "slack", Kind: "user", ID: admin}}
	}
	return opts
}

// run sends "/kimi text" as user in channel over Socket Mode and returns
// the answer. The fake holds answers until Slack has the ack: a command
// whose ack waited for its answer never gets one.
func (e *e2e) run(tb testing.TB, user, channel, text string) slacktest.Response {
	tb.Helper()
	release := e.fake.Hold(slacktest.ResponseURLs)
	defer release()
	cmd := e.fake.Slash(user, channel, text)
	acked, err := e.fake.WaitAcked(e.ctx, e.fake.PushSlashCommand(cmd))
	if err != nil {
		tb.Fatalf("/kimi %s was not acknowledged while its answer was held: %v", text, err)
	}
	release()
	resps, err := e.fake.WaitResponses(e.ctx, cmd.ResponseURL, 1)
	if err != nil {
		tb.Fatal(err)
	}
	if resps[0].Time.Before(acked.Acked) {
		tb.Fatalf("/kimi %s: answered at %v, before the ack at %v", text, resps[0].Time, acked.Acked)
	}
	return resps[0]
}

// mentionBy is mention by another user.
func (e *e2e) mentionBy(user, channel, threadTS, text string) slacktest.UserMessage {
	m := slacktest.UserMessage{User: user, Channel: channel, Text: "<@UKIMIBOT> " + text, TS: e.fake.NewTS(), ThreadTS: threadTS}
	e.fake.PushEvent(e.fake.Callback(m.Mention()).Body)
	e.fake.PushEvent(e.fake.Callback(m.Message()).Body)
	return m
}

// lastModel returns the model of the latest Kimi request.
func (e *e2e) lastModel(tb testing.TB) string {
	tb.Helper()
	reqs := e.stack.Kimi.ChatRequests()
	if len(reqs) == 0 {
		tb.Fatal("no Kimi request")
	}
	return reqs[len(reqs)-1].Model
}

// link is the "Copy link" of a message, as a slash command receives it.
func link(channel, ts string) string { return "<" + slacktest.Permalink(channel, ts, "") + ">" }

func TestE2ECommandModelThenMention(t *testing.T) {
	e := MustE2E(t, nil, adminOptions(testkit.Options{}))
	if r := e.run(t, "U1", "C1", "model kimi-k2-turbo-preview"); r.Shown() != "Using `kimi-k2-turbo-preview` for your messages." ||
		r.ResponseType != "ephemeral" {
		t.Fatalf("answer = %+v", r)
	}
	q := e.mention("C1", "", "which model are you?")
	e.answered(t, "C1", q.TS, 1)
	if got := e.lastModel(t); got != "kimi-k2-turbo-preview" {
		t.Fatalf("Kimi was asked with %s", got)
	}

	tests := []struct {
		name, user, text string
		want             []string
		public           bool
	}{
		{"ErrUnknownModel", "U1", "model kimi-k9", []string{"There is no model `kimi-k9`", "Closest: `kimi-k"}, false},
		{"ErrNonAdminChannelDefault", "U1", "model moonshot-v1-8k channel", []string{"Only admins"}, false},
		{"OKAdminChannelDefault", admin, "model moonshot-v1-8k channel", []string{"Using `moonshot-v1-8k` as this channel's default."}, true},
		{"OKShowModel", "U2", "model", []string{"`moonshot-v1-8k` (this channel's default)"}, false},
		{"OKModels", "U1", "models", []string{"`kimi-k2.6` — 256k context · images · thinking", "`kimi-k2-turbo-preview` — 256k context · *in use here*"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.run(t, tt.user, "C1", tt.text)
			for _, w := range tt.want {
				if !strings.Contains(r.Shown(), w) {
					t.Fatalf("answer %q lacks %q", r.Shown(), w)
				}
			}
			if public := r.ResponseType == "in_channel"; public != tt.public {
				t.Fatalf("response type %s, want public %v", r.ResponseType, tt.public)
			}
		})
	}
}

// TestE2EModelPrecedence sets a model at every level and checks which one
// each conversation uses: thread, then user, then channel, then KIMI_MODEL.
// TestE2ECommandAckedBeforeWork holds the first Web API call a command
// makes (looking up who typed it): Slack has the ack while nothing of the
// command has run, and the command takes effect once the call goes on.
func TestE2ECommandAckedBeforeWork(t *testing.T) {
	e := MustE2E(t, nil, testkit.Options{})
	e.fake.AddUser(slacktest.User{ID: "U7", Name: "Noor"})
	release := e.fake.Hold("users.info")
	defer release()
	cmd := e.fake.Slash("U7", "C1", "model kimi-k3")
	if _, err := e.fake.WaitAcked(e.ctx, e.fake.PushSlashCommand(cmd)); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.Wait(e.ctx, func() bool { return e.fake.Held("users.info") == 1 }); err != nil {
		t.Fatal(err)
	}
	chat := bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "C1"}
	if m, _ := e.stack.Engine.ResolveModel(e.ctx, chat, "U7"); m != "kimi-k2.6" || len(e.fake.Responses("")) != 0 {
		t.Fatalf("the command ran before its work was let through: model %s, %d answers", m, len(e.fake.Responses("")))
	}
	release()
	if _, err := e.fake.WaitResponses(e.ctx, cmd.ResponseURL, 1); err != nil {
		t.Fatal(err)
	}
	if m, src := e.stack.Engine.ResolveModel(e.ctx, chat, "U7"); m != "kimi-k3" || src != bot.SourceUser {
		t.Fatalf("after the command: %s from %s", m, src)
	}
}

func TestE2EModelPrecedence(t *testing.T) {
	e := MustE2E(t, nil, adminOptions(testkit.Options{}))
	e.run(t, admin, "C1", "model moonshot-v1-8k channel")
	e.run(t, "U1", "C1", "model kimi-k2-turbo-preview")
	q := e.mention("C1", "", "start a thread")
	e.answered(t, "C1", q.TS, 1)
	if r := e.run(t, "U1", "C1", "model kimi-k3 thread "+link("C1", q.TS)); !strings.Contains(r.Shown(), "for this conversation") {
		t.Fatalf("thread choice answer = %q", r.Shown())
	}
	tests := []struct {
		name, user, channel string
		inThread            bool
		want                string
	}{
		{"Thread", "U1", "C1", true, "kimi-k3"},
		{"User", "U1", "C1", false, "kimi-k2-turbo-preview"},
		{"Channel", "U2", "C1", false, "moonshot-v1-8k"},
		{"Default", "U2", "C2", false, "kimi-k2.6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			thread, answers := "", 1
			if tt.inThread {
				thread, answers = q.TS, 2
			}
			m := e.mentionBy(tt.user, tt.channel, thread, "which model?")
			if thread == "" {
				thread = m.TS
			}
			e.answered(t, tt.channel, thread, answers)
			if got := e.lastModel(t); got != tt.want {
				t.Fatalf("Kimi was asked with %s, want %s", got, tt.want)
			}
		})
	}
}

func TestE2EUsageSumsWhatKimiReported(t *testing.T) {
	e := MustE2E(t, nil, testkit.Options{Flavor: kimitest.OpenRouter})
	e.stack.Kimi.Enqueue(
		kimitest.Response{Content: "one", Usage: &kimitest.Usage{PromptTokens: 1200, CompletionTokens: 300, CachedTokens: 200, Cost: 0.0125}},
		kimitest.Response{Content: "two", Usage: &kimitest.Usage{PromptTokens: 1500, CompletionTokens: 400, Cost: 0.0175}},
	)
	for i, text := range []string{"first", "second"} {
		m := slacktest.UserMessage{User: "U1", Channel: "D1", ChannelType: "im", Text: text, TS: e.fake.NewTS()}
		e.fake.PushEvent(e.fake.Callback(m.Message()).Body)
		e.answered(t, "D1", "", i+1)
	}
	r := e.run(t, "U1", "D1", "usage")
	for _, want := range []string{"You, today: 2,700 in / 700 out (200 cached), $0.0300, 2 calls",
		"This conversation: 2,700 in / 700 out (200 cached), $0.0300, 2 calls"} {
		if !strings.Contains(r.Shown(), want) {
			t.Fatalf("usage = %s\nwant a line %q", r.Shown(), want)
		}
	}
}

func TestE2ESettingsSurviveRestart(t *testing.T) {
	e := MustE2E(t, nil, adminOptions(testkit.Options{}))
	e.run(t, "U1", "C1", "model kimi-k2-turbo-preview")
	e.run(t, admin, "C1", "model moonshot-v1-8k channel")
	e.restart(t)
	if r := e.run(t, "U1", "C1", "model"); !strings.Contains(r.Shown(), "`kimi-k2-turbo-preview` (your own choice)") {
		t.Fatalf("after restart: %q", r.Shown())
	}
	for user, want := range map[string]string{"U1": "kimi-k2-turbo-preview", "U2": "moonshot-v1-8k"} {
		m := e.mentionBy(user, "C1", "", "hello again")
		e.answered(t, "C1", m.TS, 1)
		if got := e.lastModel(t); got != want {
			t.Fatalf("%s's mention after restart went to %s, want %s", user, got, want)
		}
	}
}

func TestE2ENewCommand(t *testing.T) {
	e := MustE2E(t, nil, testkit.Options{})
	askedWithBanana := func(t *testing.T) bool {
		t.Helper()
		reqs := e.stack.Kimi.ChatRequests()
		for _, m := range reqs[len(reqs)-1].Messages {
			if strings.Contains(m.Text(), "banana") {
				return true
			}
		}
		return false
	}
	t.Run("DM", func(t *testing.T) {
		for i, text := range []string{"remember banana", "what fruit?"} {
			if i == 1 {
				if r := e.run(t, "U1", "D1", "new"); !strings.Contains(r.Shown(), "Started a new conversation") {
					t.Fatalf("answer = %q", r.Shown())
				}
			}
			m := slacktest.UserMessage{User: "U1", Channel: "D1", ChannelType: "im", Text: text, TS: e.fake.NewTS()}
			e.fake.PushEvent(e.fake.Callback(m.Message()).Body)
			e.answered(t, "D1", "", i+1)
		}
		if askedWithBanana(t) {
			t.Fatal("the DM kept its history after /kimi new")
		}
	})
	t.Run("ChannelNeedsLink", func(t *testing.T) {
		if r := e.run(t, "U1", "C1", "new"); r.Shown() != newInChannelText {
			t.Fatalf("answer = %q", r.Shown())
		}
	})
	t.Run("ChannelThreadByLink", func(t *testing.T) {
		q := e.mention("C1", "", "remember banana")
		e.answered(t, "C1", q.TS, 1)
		e.run(t, "U1", "C1", "new "+link("C1", q.TS))
		follow := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "what fruit?", TS: e.fake.NewTS(), ThreadTS: q.TS}
		e.fake.PushEvent(e.fake.Callback(follow.Message()).Body)
		e.answered(t, "C1", q.TS, 2)
		if askedWithBanana(t) {
			t.Fatal("the thread kept its history after /kimi new <link>")
		}
	})
}

func TestE2EHelpAndUnknownCommand(t *testing.T) {
	e := MustE2E(t, nil, testkit.Options{})
	tests := []struct{ name, text, want string }{
		{"OKHelp", "", "`models`"},
		{"OKHelpWord", "help", "React with :hand:"},
		{"OKUnknown", "frobnicate", "Unknown command `frobnicate`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.run(t, "U1", "C1", tt.text)
			if !strings.Contains(r.Shown(), tt.want) || !strings.Contains(r.Shown(), slackHelpText) || r.ResponseType != "ephemeral" {
				t.Fatalf("answer = %+v", r)
			}
		})
	}
}

// TestE2ECommandOverHTTP runs a command through the signed HTTP endpoint:
// Slack gets an empty 200 at once and the answer arrives at the response_url.
func TestE2ECommandOverHTTP(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, nil)
	testkit.Start(t, a, testkit.Options{})
	waitReady(t, a)
	srv := httptest.NewServer(a.HTTPHandler())
	t.Cleanup(srv.Close)
	ctx := testContext(t)
	release := fake.Hold(slacktest.ResponseURLs)
	defer release()
	cmd := fake.Slash("U1", "C1", "model kimi-k2-turbo-preview")
	ack, err := fake.PostSlashCommand(ctx, srv.URL+"/slack/commands", testSecret, cmd)
	if err != nil || ack.Status != http.StatusOK || len(ack.Body) != 0 {
		t.Fatalf("ack = %d %q, err %v; want an empty 200", ack.Status, ack.Body, err)
	}
	release()
	resps, err := fake.WaitResponses(ctx, cmd.ResponseURL, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r := resps[0]; r.Shown() != "Using `kimi-k2-turbo-preview` for your messages." || r.ResponseType != "ephemeral" ||
		r.Time.Before(ack.Time) {
		t.Fatalf("answer = %+v, ack at %v", r, ack.Time)
	}
	forged := fake.Slash("U1", "C1", "model kimi-k3")
	if ack, err := fake.PostSlashCommand(ctx, srv.URL+"/slack/commands", "not-the-secret", forged); err != nil || ack.Status != http.StatusUnauthorized {
		t.Fatalf("forged command: status %d, err %v", ack.Status, err)
	}
}
