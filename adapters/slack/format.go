package slack

import (
	"regexp"
	"strings"

	"github.com/slack-go/slack"

	"kimibot/internal/chattext"
)

// slackText is how Slack shows text: slackText.Limit is the Markdown one
// message or stream shows, leaving room under 12,000 for the footer and
// status lines.
var slackText = chattext.Slack

// Message size limits, in slackText.Len units. A markdown block takes
// standard Markdown up to 12,000; several blocks in one message hit an
// undocumented cap near 13,200, so a message keeps all its text under 12,000.
const (
	// maxAppend is the most markdown_text one streaming call may carry.
	maxAppend = 12_000
	// fallbackLimit caps the plain text sent beside blocks for
	// notifications; Slack advises keeping text under 4,000.
	fallbackLimit = 3_000
)

var (
	reHeading = regexp.MustCompile(`^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$`)
	reBullet  = regexp.MustCompile(`^(\s*)[-*+]\s+`)
	reLink    = regexp.MustCompile(`\[([^\]\n]+)\]\((\S+?)\)`)
	reBold    = regexp.MustCompile(`\*\*(\S(?:.*?\S)?)\*\*|__(\S(?:.*?\S)?)__`)
	reItalic  = regexp.MustCompile(`\*(\S(?:[^*]*?\S)?)\*`)
	reStrike  = regexp.MustCompile(`~~(\S(?:.*?\S)?)~~`)
)

// mrkdwn converts Markdown to Slack's mrkdwn, for the plain text that goes
// with blocks (notifications, clients without markdown blocks) and for
// context lines. Code spans and fenced blocks keep their text.
func mrkdwn(md string) string {
	lines := strings.Split(md, "\n")
	var f chattext.Fence
	for i, ln := range lines {
		next := slackText.NextFence(f, ln)
		switch {
		case next.Open() != f.Open():
			lines[i] = fenceMarker(ln)
		case f.Open():
			lines[i] = escape(ln)
		default:
			lines[i] = mrkdwnLine(ln)
		}
		f = next
	}
	return strings.Join(lines, "\n")
}

// mrkdwnLine converts one line outside code fences.
func mrkdwnLine(ln string) string {
	if m := reHeading.FindStringSubmatch(ln); m != nil {
		return "*" + strings.ReplaceAll(escape(m[1]), "**", "") + "*"
	}
	ln = reBullet.ReplaceAllString(ln, "$1• ")
	parts := strings.Split(ln, "`")
	for i, p := range parts {
		if i%2 == 0 {
			parts[i] = inline(p)
		} else {
			parts[i] = escape(p)
		}
	}
	return strings.Join(parts, "`")
}

// inline converts emphasis and links in text outside code spans.
func inline(s string) string {
	s = escape(s)
	s = reLink.ReplaceAllString(s, "<$2|$1>")
	s = reBold.ReplaceAllString(s, "\x00$1$2\x00")
	s = reItalic.ReplaceAllString(s, "_${1}_")
	s = reStrike.ReplaceAllString(s, "~$1~")
	return strings.ReplaceAll(s, "\x00", "*")
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// fenceMarker is the run of backticks or tildes of a fence line, without
// its indentation and info string.
func fenceMarker(line string) string {
	t := strings.TrimSpace(line)
	return t[:len(t)-len(strings.TrimLeft(t, t[:1]))]
}

// escape applies the three escapes Slack requires in message text.
func escape(s string) string { return escaper.Replace(s) }

// fallbackText is the plain text sent with a message's blocks.
func fallbackText(md string) string {
	text := mrkdwn(md)
	if slackText.Len(text) <= fallbackLimit {
		return text
	}
	return text[:slackText.Count.Within(text, fallbackLimit-1)] + "…"
}

// contentBlocks is a message showing Markdown text, with an optional
// footer line under it.
func contentBlocks(md, footer string) []slack.Block {
	var blocks []slack.Block
	if md != "" {
		blocks = append(blocks, slack.NewMarkdownBlock("", md))
	}
	if footer != "" {
		blocks = append(blocks, footerBlock(footer))
	}
	return blocks
}

func footerBlock(footer string) slack.Block {
	return slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, escape(footer), false, false))
}

// statusLine is how a status shows inside a message: an italic line.
func statusLine(status string) string {
	if status == "" {
		return ""
	}
	return "_" + strings.TrimRight(status, ".…") + "…_"
}

// errorLine is the italic line that ends a failed reply.
func errorLine(userMsg string) string {
	return "_⚠️ " + strings.TrimSpace(userMsg) + "_"
}
