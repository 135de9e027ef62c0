package discord

import (
	"strings"
	"testing"

	"kimibot/adapters/discord/discordtest"
	"kimibot/bot"
	"kimibot/internal/testkit"
)

func TestE2EDocumentGoesThroughFilesAPIAndIsReused(t *testing.T) {
	t.Parallel()
	e := mustE2EWith(t, discordtest.Options{}, func(*e2e) testkit.Options {
		return testkit.Options{Configure: func(c *bot.Config) { c.Files = c.Model.(bot.Files) }}
	})
	doc := []byte("Release checklist: tag v2.1, update the changelog, announce on Friday.")
	at := e.fake.AddAttachment("checklist.txt", "text/plain; charset=utf-8", doc)
	e.fake.SendMessage(discordtest.Incoming{Channel: e.dm, Author: e.user, Content: "what is on the list?",
		Attachments: []discordtest.Attachment{at}})
	e.waitAnswer(t, e.dm, "You said: what is on the list?")
	e.fake.SendMessage(discordtest.Incoming{Channel: e.dm, Author: e.user, Content: "and when?"})
	e.waitAnswer(t, e.dm, "You said: what is on the list?You said: and when?")

	files := e.stack.Kimi.Files()
	if len(files) != 1 || files[0].Filename != "checklist.txt" || e.stack.Kimi.Uploads() != 1 {
		t.Fatalf("files at Kimi = %+v after %d uploads, want checklist.txt uploaded once", files, e.stack.Kimi.Uploads())
	}
	for i, req := range e.stack.Kimi.ChatRequests() {
		if !strings.Contains(string(req.Messages[1].Content), "announce on Friday") {
			t.Fatalf("request %d does not carry the document: %s", i, req.Messages[1].Content)
		}
	}
}
