package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
)

const (
	frozenText  = "The first half of an answer that a crash will cut"
	restartText = "The answer given after the restart."
	notice      = "interrupted by a restart"
)

// crashScript makes the fake Kimi stream frozenText and then hang, as a
// model does while the process dies; the next call answers restartText.
func crashScript(tb testing.TB, k *kimitest.Server) {
	tb.Helper()
	hold := make(chan struct{})
	tb.Cleanup(func() { close(hold) })
	k.Enqueue(kimitest.Response{Content: frozenText + ", and the rest.", ChunkSize: 6, Hold: hold},
		kimitest.Response{Content: restartText})
}

// killMidStream waits until the bot has recorded its reply's message and
// shown text, then kills it with SIGKILL.
func killMidStream(tb testing.TB, b *servedBot, shown func() bool, wait func(func() bool) error) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.logs.wait(ctx, "reply message recorded"); err != nil {
		tb.Fatalf("%v\n%s", err, b.logs.String())
	}
	if err := wait(shown); err != nil {
		tb.Fatalf("no partial answer shown: %v\n%s", err, b.logs.String())
	}
	if err := b.cmd.Process.Kill(); err != nil {
		tb.Fatal(err)
	}
	<-b.done
	b.done <- nil
}

func TestServeSIGKILLMidStreamSlack(t *testing.T) {
	k := kimitest.New(t, kimitest.Options{})
	sf := slacktest.Start(t, slacktest.Options{})
	env := []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + k.BaseURL(),
		"KIMIBOT_DB=" + filepath.Join(t.TempDir(), "crash.db"), "KIMIBOT_HTTP_ADDR=127.0.0.1:0",
		"KIMIBOT_LOG_LEVEL=debug", "SLACK_BOT_TOKEN=" + sf.Options().BotToken,
		"SLACK_APP_TOKEN=" + sf.Options().AppToken, "SLACK_API_URL=" + sf.APIURL()}
	crashScript(t, k)
	first := MustServe(t, env)
	first.waitReady(t)
	m := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> tell me a story", TS: sf.NewTS()}
	sf.PushEvent(sf.Callback(m.Mention()).Body)
	sf.PushEvent(sf.Callback(m.Message()).Body)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wait := func(cond func() bool) error { return sf.Wait(ctx, cond) }
	killMidStream(t, first, func() bool { return slackShows(sf.Thread("C1", m.TS), frozenText) }, wait)

	second := MustServe(t, env)
	err := sf.Wait(ctx, func() bool {
		msgs := sf.Thread("C1", m.TS)
		return slackShows(msgs, notice) && slackShows(msgs, restartText)
	})
	msgs := sf.Thread("C1", m.TS)
	if err != nil {
		t.Fatalf("after restart: %v\nthread: %+v\n%s", err, msgs, second.logs.String())
	}
	if len(msgs) != 2 {
		t.Fatalf("bot messages in the thread = %d, want the interrupted one and one answer: %+v", len(msgs), msgs)
	}
	if s := msgs[0].Shown(); !strings.Contains(s, frozenText) || !strings.Contains(s, notice) || msgs[0].Streaming {
		t.Errorf("interrupted message = %q (streaming %v), want its text, a notice and its stream stopped", s, msgs[0].Streaming)
	}
	if s := msgs[1].Shown(); strings.Count(s, restartText) != 1 {
		t.Errorf("answer after restart = %q, want the answer once", s)
	}
	if n := len(k.ChatRequests()); n != 2 {
		t.Errorf("Kimi calls = %d, want 2 (the interrupted one and the answer)", n)
	}
}

func slackShows(msgs []slacktest.Message, text string) bool {
	for _, m := range msgs {
		if strings.Contains(m.Shown(), text) {
			return true
		}
	}
	return false
}

func TestServeSIGKILLMidStreamDiscord(t *testing.T) {
	k := kimitest.New(t, kimitest.Options{})
	df := discordtest.NewServer(t, discordtest.Options{})
	env := []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + k.BaseURL(),
		"KIMIBOT_DB=" + filepath.Join(t.TempDir(), "crash.db"), "KIMIBOT_HTTP_ADDR=127.0.0.1:0",
		"KIMIBOT_LOG_LEVEL=debug", "DISCORD_BOT_TOKEN=" + df.Token(), "DISCORD_API_URL=" + df.APIURL()}
	crashScript(t, k)
	first := MustServe(t, env)
	first.waitReady(t)
	user := df.AddUser("ada", false)
	dm := df.DMChannel(user.ID)
	df.SendMessage(discordtest.Incoming{Channel: dm, Author: user, Content: "tell me a story"})
	wait := func(cond func() bool) error { df.WaitFor(t, "partial answer", cond); return nil }
	killMidStream(t, first, func() bool { return discordShows(df.BotMessages(dm), frozenText) }, wait)

	second := MustServe(t, env)
	df.WaitFor(t, "notice and answer after restart", func() bool {
		msgs := df.BotMessages(dm)
		return discordShows(msgs, notice) && discordShows(msgs, restartText)
	})
	msgs := df.BotMessages(dm)
	if len(msgs) != 2 {
		t.Fatalf("bot messages = %d, want the interrupted one and one answer: %+v\n%s", len(msgs), msgs, second.logs.String())
	}
	if c := msgs[0].Content; !strings.Contains(c, frozenText) || !strings.Contains(c, notice) {
		t.Errorf("interrupted message = %q, want its text and a notice", c)
	}
	if c := msgs[1].Content; strings.Count(c, restartText) != 1 {
		t.Errorf("answer after restart = %q, want the answer once", c)
	}
	if n := len(k.ChatRequests()); n != 2 {
		t.Errorf("Kimi calls = %d, want 2", n)
	}
}

func discordShows(msgs []discordtest.Message, text string) bool {
	for _, m := range msgs {
		if strings.Contains(m.Content, text) {
			return true
		}
	}
	return false
}
