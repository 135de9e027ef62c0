package slack

import (
	"os"
	"strings"
	"testing"
)

// TestManifestCoversAdapter checks that the app manifest subscribes to
// every event the adapter translates and grants the scopes its calls need,
// so that an app created from it works without manual changes.
func TestManifestCoversAdapter(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]bool{}
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		if item, ok := strings.CutPrefix(line, "- "); ok {
			items[item] = true
			line = item
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			items[k+":"+strings.TrimSpace(v)] = true
		}
	}
	want := []string{
		// Events translated in inbound.go.
		"app_mention", "message.channels", "message.groups", "message.im", "message.mpim", "reaction_added",
		// Scopes for those events and for the calls in outbound.go and adapter.go.
		"app_mentions:read", "channels:history", "groups:history", "im:history", "mpim:history",
		"reactions:read", "chat:write", "commands", "files:read",
		// Names on cards (people.go) and approvers named by user group.
		"users:read", "usergroups:read",
		// Socket Mode, interactivity (cards.go, interactions.go) and the command,
		// escaped so that channel mentions and links arrive as IDs (commands.go).
		"socket_mode_enabled:true", "is_enabled:true", "command:/kimi", "should_escape:true",
	}
	for _, w := range want {
		if !items[w] {
			t.Errorf("manifest lacks %q", w)
		}
	}
}
