package discord

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"kimibot/adapters/discord/discordtest"
)

func TestCallRedactsInteractionTokens(t *testing.T) {
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	fake.Inject(discordtest.Fault{Route: discordtest.RouteCallback, Status: 429, RetryAfter: time.Millisecond, Times: 100})
	const token = "aW50ZXJhY3Rpb246c2VjcmV0LXRva2VuLXZhbHVl"
	i := &discordgo.Interaction{ID: "1", AppID: fake.AppID(), Token: token}
	endpoint := discordgo.EndpointInteractionResponse(i.ID, i.Token)
	err := a.call(context.Background(), "POST", endpoint, urgentPace, func(opts ...discordgo.RequestOption) error {
		return a.session.InteractionRespond(i, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource}, opts...)
	})
	var rl *discordgo.RateLimitError
	if err == nil || !errors.As(err, &rl) {
		t.Fatalf("err = %v, want a rate limit error after the retries", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Fatalf("error shows the interaction token: %v", err)
	}
}
