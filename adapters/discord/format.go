package discord

import (
	"strings"

	"kimibot/internal/chattext"
)

// discordText is how Discord shows text: 2,000 characters a message,
// counted in UTF-16 units, code fenced with backticks, "-#" small print.
var discordText = chattext.Discord

// errorLine renders a user-facing failure as an italic line.
func errorLine(msg string) string {
	msg = strings.TrimSpace(strings.ReplaceAll(msg, "\n", " "))
	return "*" + strings.ReplaceAll(msg, "*", "\\*") + "*"
}
