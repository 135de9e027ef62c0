package discord

import (
	"context"
	"strings"
	"testing"

	"kimibot/adapters/discord/discordtest"
	"kimibot/bot"
)

func TestRunIdentifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		shard     [2]int
		wantShard *[2]int
	}{
		{"OneShard", [2]int{0, 0}, nil},
		{"SecondOfTwo", [2]int{1, 2}, &[2]int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := MustFake(t, discordtest.Options{})
			a := MustAdapter(t, fake, func(c *Config) { c.ShardID, c.ShardCount = tt.shard[0], tt.shard[1] })
			MustRun(t, a, fake, newRecorder())
			ids := fake.Identifies()
			if len(ids) != 1 {
				t.Fatalf("%d identifies, want 1", len(ids))
			}
			id := ids[0]
			if id.Intents != int64(Intents) || id.Token != "Bot "+fake.Token() {
				t.Fatalf("identify intents %b (want %b), token ok %v", id.Intents, Intents, id.Token == "Bot "+fake.Token())
			}
			want := int64(discordtest.IntentGuilds | discordtest.IntentGuildMessages | discordtest.IntentDirectMessages | discordtest.IntentMessageContent)
			if id.Intents != want {
				t.Fatalf("intents %b, want guilds, guild messages, DMs and message content (%b)", id.Intents, want)
			}
			if (id.Shard == nil) != (tt.wantShard == nil) || (id.Shard != nil && *id.Shard != *tt.wantShard) {
				t.Fatalf("shard = %v, want %v", id.Shard, tt.wantShard)
			}
			if !a.Ready() || a.BotID() != fake.Bot().ID {
				t.Fatalf("ready %v, bot ID %q; want ready as %q", a.Ready(), a.BotID(), fake.Bot().ID)
			}
		})
	}
}

func TestRunDeliversEvents(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	guild := fake.AddGuild()
	ch := fake.AddTextChannel(guild, "general")
	userThread := fake.AddThread(ch, "chat")
	ada := fake.AddUser("ada", false)
	otherBot := fake.AddUser("helper", true)
	dm := fake.DMChannel(ada.ID)
	a := MustAdapter(t, fake, nil)
	rec := newRecorder()
	MustRun(t, a, fake, rec)

	m := fake.SendMessage(discordtest.Incoming{Channel: dm, Author: ada, Content: "hi there"})
	ev := rec.waitFor(t, "DM", byMessage(m.ID))
	if ev.Thread != (bot.ThreadRef{Platform: "discord", Channel: dm, DM: true}) || !ev.Addressed || ev.Text != "hi there" ||
		ev.User.ID != ada.ID || len(ev.DedupeKeys) != 1 || ev.DedupeKeys[0] != "discord:"+dm+":"+m.ID {
		t.Fatalf("DM event = %+v", ev)
	}

	m = mention(fake, ch, ada, "explain channels")
	ev = rec.waitFor(t, "mention", byMessage(m.ID))
	if ev.Thread != (bot.ThreadRef{Platform: "discord", Workspace: guild, Channel: ch, Thread: m.ID}) || !ev.Addressed || ev.Text != "explain channels" {
		t.Fatalf("mention event = %+v", ev)
	}
	if title := a.titles.take(m.ID); title != "explain channels" {
		t.Fatalf("thread title %q", title)
	}

	m = fake.SendMessage(discordtest.Incoming{Channel: userThread, Author: ada, Content: "in a thread"})
	ev = rec.waitFor(t, "thread message", byMessage(m.ID))
	if ev.Thread != (bot.ThreadRef{Platform: "discord", Workspace: guild, Channel: ch, Thread: userThread}) || ev.Addressed {
		t.Fatalf("thread event = %+v", ev)
	}

	// Unaddressed channel messages reach the engine, unaddressed, in the
	// thread that would start from them: support channels draft replies.
	m = fake.SendMessage(discordtest.Incoming{Channel: ch, Author: ada, Content: "just chatting"})
	ev = rec.waitFor(t, "channel message", byMessage(m.ID))
	if ev.Thread != (bot.ThreadRef{Platform: "discord", Workspace: guild, Channel: ch, Thread: m.ID}) || ev.Addressed {
		t.Fatalf("unaddressed channel event = %+v", ev)
	}

	// Messages the engine must not see: other bots, and the bot's own
	// answer (which the gateway echoes).
	ignored := []string{
		fake.SendMessage(discordtest.Incoming{Channel: dm, Author: otherBot, Content: "beep"}).ID,
	}
	r, _ := a.Reply(context.Background(), bot.ReplyTarget{Thread: bot.ThreadRef{Platform: "discord", Channel: dm, DM: true}})
	_ = r.Append(context.Background(), "my own answer")
	refs, err := r.Finish(context.Background(), bot.Footer{})
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	ignored = append(ignored, refs[0].ID)
	// Events arrive in order, so once a later message is in, the earlier
	// ones would have been too.
	barrier := fake.SendMessage(discordtest.Incoming{Channel: dm, Author: ada, Content: "barrier"})
	rec.waitFor(t, "barrier", byMessage(barrier.ID))
	for _, ev := range rec.all() {
		for _, id := range ignored {
			if ev.Message == id {
				t.Fatalf("event for message %s (%q) should have been ignored", id, ev.Text)
			}
		}
	}
}

func TestRunLooksUpUnknownThreads(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	guild := fake.AddGuild()
	ch := fake.AddTextChannel(guild, "general")
	ada := fake.AddUser("ada", false)
	a := MustAdapter(t, fake, nil)
	rec := newRecorder()
	MustRun(t, a, fake, rec)
	// A thread created after READY without THREAD_CREATE reaching the bot.
	th := fake.AddThread(ch, "late")
	m := fake.SendMessage(discordtest.Incoming{Channel: th, Author: ada, Content: "follow-up"})
	ev := rec.waitFor(t, "thread message", byMessage(m.ID))
	if ev.Thread.Channel != ch || ev.Thread.Thread != th {
		t.Fatalf("thread = %+v, want parent %s thread %s", ev.Thread, ch, th)
	}
}

func TestRunResumesAfterDrop(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	ada := fake.AddUser("ada", false)
	dm := fake.DMChannel(ada.ID)
	a := MustAdapter(t, fake, nil)
	rec := newRecorder()
	MustRun(t, a, fake, rec)
	before := fake.SendMessage(discordtest.Incoming{Channel: dm, Author: ada, Content: "before"})
	rec.waitFor(t, "message before the drop", byMessage(before.ID))

	if fake.DropConnection() != 1 {
		t.Fatal("no connection to drop")
	}
	// Sent while the bot is away: the session keeps it for the resume.
	during := fake.SendMessage(discordtest.Incoming{Channel: dm, Author: ada, Content: "during"})
	rec.waitFor(t, "message sent during the drop", byMessage(during.ID))

	resumes := fake.Resumes()
	if len(resumes) != 1 || !resumes[0].Accepted || resumes[0].Replayed < 1 {
		t.Fatalf("resumes = %+v, want one accepted resume that replayed the missed message", resumes)
	}
	if n := len(fake.Identifies()); n != 1 {
		t.Fatalf("%d identifies, want 1: the session must be resumed, not identified again", n)
	}
	count := 0
	for _, ev := range rec.all() {
		if ev.Message == before.ID {
			count++
		}
	}
	if count != 1 {
		t.Fatalf("message before the drop delivered %d times, want 1", count)
	}
}

func TestRunIdentifiesAgainWhenResumeIsRefused(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	ada := fake.AddUser("ada", false)
	dm := fake.DMChannel(ada.ID)
	a := MustAdapter(t, fake, nil)
	rec := newRecorder()
	MustRun(t, a, fake, rec)
	fake.ForgetSessions()
	fake.WaitFor(t, "a new session", func() bool { return len(fake.Identifies()) == 2 && a.Ready() })
	if rs := fake.Resumes(); len(rs) != 1 || rs[0].Accepted {
		t.Fatalf("resumes = %+v, want one refused", rs)
	}
	m := fake.SendMessage(discordtest.Incoming{Channel: dm, Author: ada, Content: "still there?"})
	rec.waitFor(t, "message on the new session", byMessage(m.ID))
}

func TestRunPassesReplaysWithSameDedupeKey(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	ada := fake.AddUser("ada", false)
	dm := fake.DMChannel(ada.ID)
	a := MustAdapter(t, fake, nil)
	rec := newRecorder()
	MustRun(t, a, fake, rec)
	m := fake.SendMessage(discordtest.Incoming{Channel: dm, Author: ada, Content: "once"})
	fake.ReplayMessage(m.ID)
	barrier := fake.SendMessage(discordtest.Incoming{Channel: dm, Author: ada, Content: "barrier"})
	rec.waitFor(t, "barrier", byMessage(barrier.ID))
	var keys []string
	for _, ev := range rec.all() {
		if ev.Message == m.ID {
			keys = append(keys, strings.Join(ev.DedupeKeys, ","))
		}
	}
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Fatalf("replayed deliveries carry keys %q, want the same key twice", keys)
	}
}

func TestRunFailsWithoutMessageContentIntent(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{DenyMessageContent: true})
	a := MustAdapter(t, fake, nil)
	err := a.Run(context.Background(), bot.Host{Events: newRecorder()})
	if err == nil || !strings.Contains(err.Error(), "Message Content intent") {
		t.Fatalf("run error = %v, want one naming the Message Content intent", err)
	}
}

func TestRunRejectsBadToken(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a, err := New(Config{Token: "wrong", APIURL: fake.APIURL(), Logger: discardLogger()})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	if err := a.Run(context.Background(), bot.Host{Events: newRecorder()}); err == nil || !strings.Contains(err.Error(), "token was rejected") {
		t.Fatalf("run error = %v, want a rejected token", err)
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"NoToken", Config{}},
		{"BadURL", Config{Token: "t", APIURL: "ftp://x"}},
		{"BadShard", Config{Token: "t", ShardID: 2, ShardCount: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
}
