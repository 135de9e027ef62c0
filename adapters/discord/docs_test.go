package discord

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestSetupGuide keeps docs/discord.md in step with the code.
func TestSetupGuide(t *testing.T) {
	doc, err := os.ReadFile("../../docs/discord.md")
	if err != nil {
		t.Fatalf("read setup guide: %v", err)
	}
	perms := strconv.FormatInt(InvitePermissions, 10)
	for _, want := range []string{perms, "permissions=" + perms, "Message Content", "DISCORD_BOT_TOKEN", "DISCORD_API_URL",
		"DISCORD_SHARD_ID", "DISCORD_SHARD_COUNT", DefaultAPIURL} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/discord.md does not mention %q", want)
		}
	}
	if got := InviteURL("42"); !strings.Contains(got, "permissions="+perms) || !strings.Contains(got, "client_id=42") ||
		!strings.Contains(got, "applications.commands") {
		t.Errorf("InviteURL = %s", got)
	}
	for _, c := range appCommands() {
		if !strings.Contains(string(doc), "`/"+c.Name) {
			t.Errorf("docs/discord.md does not describe /%s", c.Name)
		}
	}
	for _, want := range []string{"Embed Links", "enforce_nonce", "KIMIBOT_APPROVERS", "global", noticeNotAllowed} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/discord.md does not mention %q", want)
		}
	}
}
