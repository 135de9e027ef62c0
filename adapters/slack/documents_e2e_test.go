package slack

import (
	"bytes"
	"strings"
	"testing"

	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
	"kimibot/internal/testkit"
)

func TestE2EDocumentGoesThroughFilesAPI(t *testing.T) {
	pdf := []byte("%PDF-1.4 Minutes: the launch moves to March 3.")
	e := MustE2E(t, nil, testkit.Options{Configure: func(c *bot.Config) { c.Files = c.Model.(bot.Files) }})
	f := e.fake.AddFile("minutes.pdf", "application/pdf", pdf)
	m := slacktest.UserMessage{User: "U1", Channel: "D1", ChannelType: "im", Text: "when is the launch?",
		TS: e.fake.NewTS(), SubType: "file_share", Files: []slacktest.File{f}}
	e.fake.PushEvent(e.fake.Callback(m.Message()).Body)
	e.answered(t, "D1", "", 1)

	if n := len(e.fake.Calls("files.download")); n != 1 {
		t.Fatalf("%d downloads from Slack, want 1", n)
	}
	files := e.stack.Kimi.Files()
	if len(files) != 1 || files[0].Filename != "minutes.pdf" || !bytes.Equal(files[0].Data, pdf) {
		t.Fatalf("files at Kimi = %+v, want minutes.pdf as downloaded from Slack", files)
	}
	msgs := e.stack.Kimi.ChatRequests()[0].Messages
	sys, user := msgs[len(msgs)-2], msgs[len(msgs)-1]
	if sys.Role != "system" || !strings.Contains(sys.Text(), "the launch moves to March 3") || user.Text() != "when is the launch?" {
		t.Fatalf("request ends with %s %q / %s %q, want the document's content before the question",
			sys.Role, sys.Text(), user.Role, user.Text())
	}
}
