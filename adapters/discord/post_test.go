package discord

import (
	"context"
	"strings"
	"testing"

	"kimibot/adapters/discord/discordtest"
	"kimibot/bot"
)

// postEnv is an adapter that is not connected (posting needs only REST)
// and a customer's question in a server channel.
type postEnv struct {
	fake     *discordtest.Server
	a        *Adapter
	guild    string
	channel  string
	question discordtest.Message
}

func mustPostEnv(tb testing.TB, opts discordtest.Options) *postEnv {
	tb.Helper()
	fake := MustFake(tb, opts)
	e := &postEnv{fake: fake, a: MustAdapter(tb, fake, nil), guild: fake.AddGuild()}
	e.channel = fake.AddTextChannel(e.guild, "help-desk")
	e.question = fake.SendMessage(discordtest.Incoming{Channel: e.channel, Author: fake.AddUser("carla", false), Content: "order?"})
	return e
}

func (e *postEnv) where() bot.ThreadRef {
	return bot.ThreadRef{Platform: "discord", Workspace: e.guild, Channel: e.channel, Thread: e.question.ID}
}

func TestPostIsFoundAndNotRepeated(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("A paragraph about the order, long enough to need several messages.\n\n", 80)
	tests := []struct {
		name            string
		fetchOmitsNonce bool
		found           bool
	}{
		{"NonceFetched", false, true},
		// As on Discord after a while: FindPosted cannot see the nonce, but
		// enforce_nonce still returns the messages already created.
		{"NonceNotFetched", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustPostEnv(t, discordtest.Options{FetchOmitsNonce: tt.fetchOmitsNonce})
			ctx := context.Background()
			if _, found, err := e.a.FindPosted(ctx, e.where(), "dkey1"); err != nil || found {
				t.Fatalf("found a post before posting (%v)", err)
			}
			ref, err := e.a.Post(ctx, e.where(), text, "dkey1")
			if err != nil {
				t.Fatal(err)
			}
			msgs := e.fake.BotMessages(e.question.ID)
			if len(msgs) < 3 || ref.Channel != e.question.ID || ref.ID != msgs[0].ID {
				t.Fatalf("post %+v, %d messages in the thread", ref, len(msgs))
			}
			checkMessages(t, text, contents(e.fake, e.question.ID))
			got, found, err := e.a.FindPosted(ctx, e.where(), "dkey1")
			if err != nil || found != tt.found || (found && got != ref) {
				t.Fatalf("FindPosted = %+v, %v, %v; want %+v found %v", got, found, err, ref, tt.found)
			}
			if _, found, _ := e.a.FindPosted(ctx, e.where(), "dother"); found {
				t.Fatal("found a post for another key")
			}
			again, err := e.a.Post(ctx, e.where(), text, "dkey1")
			if err != nil || again != ref || len(e.fake.BotMessages(e.question.ID)) != len(msgs) {
				t.Fatalf("posting again made %d messages (ref %+v)", len(e.fake.BotMessages(e.question.ID)), again)
			}
		})
	}
}

func TestPostWhereThreadsAreNotAllowedRepliesInTheChannel(t *testing.T) {
	t.Parallel()
	e := mustPostEnv(t, discordtest.Options{})
	e.fake.ForbidThreads(e.channel)
	ctx := context.Background()
	ref, err := e.a.Post(ctx, e.where(), "It shipped.", "dkey2")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.fake.Message(ref.ID)
	if ref.Channel != e.channel || m.MessageReference == nil || m.MessageReference.MessageID != e.question.ID {
		t.Fatalf("post %+v, want a reply to the question in the channel", m)
	}
	if got, found, err := e.a.FindPosted(ctx, e.where(), "dkey2"); err != nil || !found || got != ref {
		t.Fatalf("FindPosted = %+v, %v, %v", got, found, err)
	}
}

func TestUnkeyedPostRepliesToAMessage(t *testing.T) {
	t.Parallel()
	e := mustPostEnv(t, discordtest.Options{})
	// A reminder under a card: where.Thread is the card, which has no thread.
	ref, err := e.a.Post(context.Background(), e.where(), "Reminder: this reply has waited 30m for review.", "")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := e.fake.Message(ref.ID)
	if ref.Channel != e.channel || m.MessageReference == nil || m.MessageReference.MessageID != e.question.ID {
		t.Fatalf("reminder %+v, want a reply to the message", m)
	}
	if _, ok := e.fake.Channel(e.question.ID); ok {
		t.Fatal("a reminder started a thread")
	}
}

func TestPermalink(t *testing.T) {
	t.Parallel()
	e := mustPostEnv(t, discordtest.Options{})
	dm := e.fake.DMChannel(e.question.Author.ID)
	tests := []struct{ channel, want string }{
		{e.channel, "https://discord.com/channels/" + e.guild + "/" + e.channel + "/123"},
		{dm, "https://discord.com/channels/@me/" + dm + "/123"},
	}
	for _, tt := range tests {
		got, err := e.a.Permalink(context.Background(), bot.MsgRef{Platform: "discord", Channel: tt.channel, ID: "123"})
		if err != nil || got != tt.want {
			t.Errorf("Permalink = %q, %v; want %q", got, err, tt.want)
		}
	}
}
