package discord

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/bot"
	"kimibot/conversation"
)

func TestReplyStreamsByEditing(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{MessageWindow: 500 * time.Millisecond})
	a := MustAdapter(t, fake, nil)
	to, ch := dmTarget(fake)
	ctx := context.Background()
	r, err := a.Reply(ctx, to)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	// The first text is posted as soon as it exists, before the answer ends.
	if err := r.Append(ctx, "Hello"); err != nil {
		t.Fatalf("append: %v", err)
	}
	waitContent(t, fake, ch, "Hello")
	// More text edits the same message.
	if err := r.Append(ctx, ", world."); err != nil {
		t.Fatalf("append: %v", err)
	}
	waitContent(t, fake, ch, "Hello, world.")
	if err := r.Append(ctx, " Bye."); err != nil {
		t.Fatalf("append: %v", err)
	}
	refs, err := r.Finish(ctx, bot.Footer{})
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	msgs := fake.BotMessages(ch)
	if len(msgs) != 1 || msgs[0].Content != "Hello, world. Bye." {
		t.Fatalf("bot messages = %q, want one reading %q", contents(fake, ch), "Hello, world. Bye.")
	}
	if msgs[0].Edits < 2 {
		t.Fatalf("message edited %d times, want at least 2", msgs[0].Edits)
	}
	want := []bot.MsgRef{{Platform: "discord", Channel: ch, ID: msgs[0].ID}}
	if len(refs) != 1 || refs[0] != want[0] {
		t.Fatalf("refs = %+v, want %+v", refs, want)
	}
	if _, err := r.Finish(ctx, bot.Footer{}); !errors.Is(err, errFinished) {
		t.Fatalf("second finish: err = %v, want errFinished", err)
	}
}

func TestReplyPacingKeepsToBuckets(t *testing.T) {
	t.Parallel()
	const window = 400 * time.Millisecond
	fake := MustFake(t, discordtest.Options{MessageLimit: 5, MessageWindow: window})
	a := MustAdapter(t, fake, nil)
	to, ch := dmTarget(fake)
	ctx := context.Background()
	r, err := a.Reply(ctx, to)
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	// A model streaming 300 small deltas over about 1.5 s.
	var want strings.Builder
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := range 300 {
		<-tick.C
		w := []string{"alpha ", "beta ", "gamma\n", "delta. "}[i%4]
		want.WriteString(w)
		if err := r.Append(ctx, w); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	checkMessages(t, want.String(), contents(fake, ch))
	if st := fake.Stats(); st.RateLimited != 0 {
		t.Fatalf("got %d 429s, want none", st.RateLimited)
	}
	if n, _ := fake.MaxWrites(window); n > 5 {
		t.Fatalf("%d writes within %v, bucket allows 5", n, window)
	}
}

func TestReplyWaitsOut429(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{MessageWindow: 500 * time.Millisecond})
	a := MustAdapter(t, fake, nil)
	to, ch := dmTarget(fake)
	ctx := context.Background()
	r, _ := a.Reply(ctx, to)
	if err := r.Append(ctx, "one"); err != nil {
		t.Fatalf("append: %v", err)
	}
	waitContent(t, fake, ch, "one")
	const retryAfter = 300 * time.Millisecond
	fake.Inject(discordtest.Fault{Route: discordtest.RouteEditMessage, Status: 429, RetryAfter: retryAfter})
	if err := r.Append(ctx, " two"); err != nil {
		t.Fatalf("append: %v", err)
	}
	if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if got := contents(fake, ch); len(got) != 1 || got[0] != "one two" {
		t.Fatalf("messages = %q, want [\"one two\"]", got)
	}
	var limitedAt time.Time
	for _, c := range fake.Calls() {
		switch {
		case c.Route != discordtest.RouteEditMessage:
		case c.Status == 429:
			limitedAt = c.Time
		case !limitedAt.IsZero() && c.Time.Sub(limitedAt) < retryAfter:
			t.Fatalf("edit sent %v after a 429 asking for %v", c.Time.Sub(limitedAt), retryAfter)
		}
	}
	if limitedAt.IsZero() {
		t.Fatal("the injected 429 was never hit")
	}
}

func TestReplyGivesUpAfterBoundedRetries(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	to, _ := dmTarget(fake)
	fake.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Status: 429, RetryAfter: 10 * time.Millisecond, Times: 100})
	ctx := context.Background()
	r, _ := a.Reply(ctx, to)
	_ = r.Append(ctx, "never shown")
	if _, err := r.Finish(ctx, bot.Footer{}); err == nil {
		t.Fatal("finish succeeded although every create was rate limited")
	}
	creates := 0
	for _, c := range fake.Calls() {
		if c.Route == discordtest.RouteCreateMessage {
			creates++
		}
	}
	if creates != 1+maxRateLimitRetries {
		t.Fatalf("%d create attempts, want %d", creates, 1+maxRateLimitRetries)
	}
}

func TestReplyLostResponseIsNotDoubled(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	to, ch := dmTarget(fake)
	// The create succeeds but its response is lost; the retry carries the
	// same nonce, so Discord returns the message already made.
	fake.Inject(discordtest.Fault{Route: discordtest.RouteCreateMessage, Status: 500, Lost: true})
	ctx := context.Background()
	r, _ := a.Reply(ctx, to)
	_ = r.Append(ctx, "only once")
	refs, err := r.Finish(ctx, bot.Footer{})
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	if got := contents(fake, ch); len(got) != 1 || got[0] != "only once" || len(refs) != 1 {
		t.Fatalf("messages = %q, refs %d; want one message", got, len(refs))
	}
	if fake.Stats().Injected != 1 {
		t.Fatalf("fault not hit")
	}
}

// longAnswer is a 5,000-character answer with a code block longer than a
// message.
func longAnswer() string {
	var b strings.Builder
	b.WriteString("Here is a complete program that prints a table of squares, with notes.\n\n")
	for i := range 8 {
		b.WriteString("Paragraph ")
		b.WriteString(strings.Repeat("lorem ipsum ", 8+i))
		b.WriteString("end.\n\n")
	}
	b.WriteString("```go\npackage main\n\nimport \"fmt\"\n\nfunc main() {\n")
	for i := 0; b.Len() < 4200; i++ {
		b.WriteString("\tfmt.Println(\"square\", " + strings.Repeat("1", i%5+1) + " * " + strings.Repeat("1", i%5+1) + ")\n")
	}
	b.WriteString("}\n```\n\nThat is all: run it with `go run main.go`.\n\n")
	for b.Len() < 5000 {
		b.WriteString("Closing words. ")
	}
	return b.String()
}

func TestReplySplitsLongAnswer(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{MessageWindow: 200 * time.Millisecond})
	a := MustAdapter(t, fake, nil)
	to, ch := dmTarget(fake)
	text := longAnswer()
	ctx := context.Background()
	r, _ := a.Reply(ctx, to)
	for i := 0; i < len(text); i += 7 {
		if err := r.Append(ctx, text[i:min(i+7, len(text))]); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	refs, err := r.Finish(ctx, bot.Footer{})
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	msgs := contents(fake, ch)
	if len(msgs) < 3 || len(refs) != len(msgs) {
		t.Fatalf("%d messages and %d refs for %d characters", len(msgs), len(refs), len(text))
	}
	checkMessages(t, text, msgs)
	if want := discordText.Split(text); !slices.Equal(msgs, want) {
		t.Fatalf("streamed messages differ from the split of the whole answer:\n%q\nwant\n%q", msgs, want)
	}
	if !strings.HasPrefix(msgs[len(msgs)-2], "```go\n") && !strings.Contains(msgs[len(msgs)-2], "\n```go\n") {
		t.Fatalf("the code block should continue into the next message: %.60q", msgs[len(msgs)-2])
	}
}

func TestReplyFail(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	tests := []struct{ name, text, want string }{
		{"AfterText", "partial answer", "partial answer\n\n*The model stopped: try again.*"},
		{"NoText", "", "*The model stopped: try again.*"},
		{"InsideCode", "```sh\nls", "```sh\nls\n```\n\n*The model stopped: try again.*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to, ch := dmTarget(fake)
			ctx := context.Background()
			r, _ := a.Reply(ctx, to)
			_ = r.Append(ctx, tt.text)
			if err := r.Fail(ctx, "The model stopped: try again."); err != nil {
				t.Fatalf("fail: %v", err)
			}
			if got := contents(fake, ch); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("messages = %q, want [%q]", got, tt.want)
			}
		})
	}
}

func TestReplyFooter(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	footer := bot.Footer{Model: "kimi-k2.6", Usage: conversation.Usage{TotalTokens: 1234}, Elapsed: 3200 * time.Millisecond}
	tests := []struct {
		name   string
		on     bool
		footer bot.Footer
		want   string
	}{
		{"On", true, footer, "Answer.\n-# kimi-k2.6 · 1,234 tokens · 3.2s"},
		{"CachedAndCost", true, bot.Footer{Model: "kimi-k2.6", Elapsed: 3240 * time.Millisecond,
			Usage: conversation.Usage{TotalTokens: 12345, CachedTokens: 1024, Cost: 0.00123}},
			"Answer.\n-# kimi-k2.6 · 12,345 tokens (1,024 cached) · $0.0012 · 3.2s"},
		{"Off", false, footer, "Answer."},
		{"NoModel", true, bot.Footer{}, "Answer."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := MustAdapter(t, fake, func(c *Config) { c.Footer = tt.on })
			to, ch := dmTarget(fake)
			ctx := context.Background()
			r, _ := a.Reply(ctx, to)
			_ = r.Append(ctx, "Answer.")
			if _, err := r.Finish(ctx, tt.footer); err != nil {
				t.Fatalf("finish: %v", err)
			}
			if got := contents(fake, ch); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("messages = %q, want [%q]", got, tt.want)
			}
		})
	}
}

func TestReplyTyping(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	to, ch := dmTarget(fake)
	ctx := context.Background()
	r, _ := a.Reply(ctx, to)
	if err := r.Status(ctx, "thinking…"); err != nil {
		t.Fatalf("status: %v", err)
	}
	typing := func() bool {
		for _, c := range fake.Calls() {
			if c.Route == discordtest.RouteTyping && c.Channel == ch && c.Status == 204 {
				return true
			}
		}
		return false
	}
	fake.WaitFor(t, "typing indicator", typing)
	_ = r.Append(ctx, "done")
	if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	if got := contents(fake, ch); len(got) != 1 || got[0] != "done" {
		t.Fatalf("messages = %q", got)
	}
}

// mention posts a user's message mentioning the bot in a channel.
func mention(fake *discordtest.Server, channel string, user discordtest.User, text string) discordtest.Message {
	return fake.SendMessage(discordtest.Incoming{Channel: channel, Author: user, Content: "<@" + fake.Bot().ID + "> " + text})
}

func TestReplyStartsThreadFromMention(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	guild := fake.AddGuild()
	ch := fake.AddTextChannel(guild, "general")
	user := fake.AddUser("ada", false)
	m := mention(fake, ch, user, "what is Go?")
	a.titles.put(m.ID, threadTitle("what is Go?"))
	ctx := context.Background()
	r, _ := a.Reply(ctx, bot.ReplyTarget{Thread: bot.ThreadRef{Platform: "discord", Workspace: guild, Channel: ch, Thread: m.ID}, Message: m.ID})
	_ = r.Append(ctx, "A language.")
	refs, err := r.Finish(ctx, bot.Footer{})
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	th, ok := fake.Channel(m.ID)
	if !ok || th.Type != discordtest.ChannelThread || th.ParentID != ch || th.Name != "what is Go?" {
		t.Fatalf("thread = %+v (exists %v), want a thread named after the question under %s", th, ok, ch)
	}
	if got := contents(fake, m.ID); len(got) != 1 || got[0] != "A language." {
		t.Fatalf("thread messages = %q", got)
	}
	if len(refs) != 1 || refs[0].Channel != m.ID {
		t.Fatalf("refs = %+v, want the message in the thread", refs)
	}
}

func TestReplyInChannelWhereThreadsAreNotAllowed(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	guild := fake.AddGuild()
	ch := fake.AddTextChannel(guild, "announcements")
	fake.ForbidThreads(ch)
	user := fake.AddUser("ada", false)
	ctx := context.Background()
	for i, q := range []string{"first?", "second?"} {
		m := mention(fake, ch, user, q)
		r, _ := a.Reply(ctx, bot.ReplyTarget{Thread: bot.ThreadRef{Platform: "discord", Workspace: guild, Channel: ch, Thread: m.ID}, Message: m.ID})
		_ = r.Append(ctx, "answer "+q)
		refs, err := r.Finish(ctx, bot.Footer{})
		if err != nil {
			t.Fatalf("finish %d: %v", i, err)
		}
		got, _ := fake.Message(refs[0].ID)
		if got.ChannelID != ch || got.MessageReference == nil || got.MessageReference.MessageID != m.ID || got.Content != "answer "+q {
			t.Fatalf("answer %d = %+v, want a reply to %s in %s", i, got, m.ID, ch)
		}
	}
	threadCalls := 0
	for _, c := range fake.Calls() {
		if c.Route == discordtest.RouteThreadFromMessage {
			threadCalls++
		}
	}
	if threadCalls != 1 {
		t.Fatalf("%d thread creations tried, want 1 (the channel is remembered)", threadCalls)
	}
}

func TestReplyToMissingThreadFallsBack(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	guild := fake.AddGuild()
	ch := fake.AddTextChannel(guild, "general")
	user := fake.AddUser("ada", false)
	first := mention(fake, ch, user, "first")
	followUp := fake.SendMessage(discordtest.Incoming{Channel: ch, Author: user, Content: "and then?", ReplyTo: first.ID})
	// A conversation whose thread was never created (replies in the
	// channel), continued after a restart that forgot the channel.
	ctx := context.Background()
	r, _ := a.Reply(ctx, bot.ReplyTarget{Thread: bot.ThreadRef{Platform: "discord", Workspace: guild, Channel: ch, Thread: first.ID}, Message: followUp.ID})
	_ = r.Append(ctx, "then this")
	refs, err := r.Finish(ctx, bot.Footer{})
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	got, _ := fake.Message(refs[0].ID)
	if got.ChannelID != ch || got.MessageReference == nil || got.MessageReference.MessageID != followUp.ID {
		t.Fatalf("answer = %+v, want a reply to %s in %s", got, followUp.ID, ch)
	}
}

func TestDownload(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	png := []byte("\x89PNG\r\n\x1a\nfake image")
	at := fake.AddAttachment("cat.png", "image/png", png)
	got, err := a.Download(context.Background(), bot.Attachment{Name: at.Filename, MIME: at.ContentType, URL: at.URL})
	if err != nil || string(got) != string(png) {
		t.Fatalf("download = %q, %v; want the attachment", got, err)
	}
	if _, err := a.Download(context.Background(), bot.Attachment{Name: "x", URL: "http://169.254.169.254/latest"}); err == nil {
		t.Fatal("download from a foreign host succeeded")
	}
}

func TestReplySendsNoPings(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	to, _ := dmTarget(fake)
	ctx := context.Background()
	r, _ := a.Reply(ctx, to)
	_ = r.Append(ctx, "@everyone look")
	if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	for _, c := range fake.Calls() {
		if c.Route != discordtest.RouteCreateMessage {
			continue
		}
		var body struct {
			AllowedMentions *struct {
				Parse []string `json:"parse"`
			} `json:"allowed_mentions"`
		}
		if err := json.Unmarshal([]byte(c.Body), &body); err != nil || body.AllowedMentions == nil || len(body.AllowedMentions.Parse) != 0 {
			t.Fatalf("create body %s: want allowed_mentions.parse = []", c.Body)
		}
	}
}

func TestReplyCreatesAndEditsShareTheChannelBucket(t *testing.T) {
	t.Parallel()
	const window = time.Second
	fake := MustFake(t, discordtest.Options{MessageLimit: 5, MessageWindow: window})
	a := MustAdapter(t, fake, nil)
	to, ch := dmTarget(fake)
	ctx := context.Background()
	r, _ := a.Reply(ctx, to)
	// Each step passes a 2,000-character boundary: an edit finalising one
	// message and a create starting the next, seven writes in all.
	line := strings.Repeat("x", 99) + "\n"
	var text strings.Builder
	for i := 1; i <= 4; i++ {
		chunk := strings.Repeat(line, 19)
		text.WriteString(chunk)
		if err := r.Append(ctx, chunk); err != nil {
			t.Fatalf("append: %v", err)
		}
		fake.WaitFor(t, "message", func() bool { return len(fake.BotMessages(ch)) == i })
	}
	if _, err := r.Finish(ctx, bot.Footer{}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	checkMessages(t, text.String(), contents(fake, ch))
	if n := fake.Stats().RateLimited; n != 0 {
		t.Fatalf("got %d 429s: creates and edits must be paced together", n)
	}
	if n, _ := fake.MaxWrites(window); n > 5 {
		t.Fatalf("%d writes within %v", n, window)
	}
}
