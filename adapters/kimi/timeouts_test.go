package kimi

import (
	"strings"
	"testing"
	"time"
)

func TestTimeoutDefaultsDependOnThinking(t *testing.T) {
	tests := []struct {
		name              string
		first, idle       time.Duration
		thinks            bool
		wantFirst, wantId time.Duration
	}{
		{"Plain", 0, 0, false, DefaultFirstToken, DefaultIdle},
		{"Thinking", 0, 0, true, DefaultThinkingFirstToken, DefaultThinkingIdle},
		{"ConfiguredWins", 5 * time.Second, 7 * time.Second, true, 5 * time.Second, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MustRawClient(t, Config{BaseURL: "http://127.0.0.1:1", FirstTokenTimeout: tt.first, IdleTimeout: tt.idle})
			first, idle := c.timeouts(tt.thinks)
			if first != tt.wantFirst || idle != tt.wantId {
				t.Errorf("timeouts = %s, %s; want %s, %s", first, idle, tt.wantFirst, tt.wantId)
			}
		})
	}
	if DefaultThinkingFirstToken <= DefaultFirstToken || DefaultThinkingIdle <= DefaultIdle {
		t.Error("thinking models must get longer waits")
	}
}

func TestTimeoutUserMessages(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: Timeout, Wait: WaitFirstToken, After: 45 * time.Second},
			"Kimi did not start answering within 45 seconds, so I stopped waiting. Try again in a moment."},
		{&Error{Kind: Timeout, Wait: WaitIdle, After: time.Minute},
			"Kimi went silent for 60 seconds in the middle of the answer, so it is incomplete. Try again in a moment."},
		{&Error{Kind: Timeout}, "Kimi stopped responding."},
	}
	for _, tt := range tests {
		if got := tt.err.UserMessage(); got != tt.want {
			t.Errorf("UserMessage() = %q, want %q", got, tt.want)
		}
		if tt.err.Wait != "" && !strings.Contains(tt.err.Error(), string(tt.err.Wait)) {
			t.Errorf("Error() = %q does not name the wait", tt.err.Error())
		}
	}
}

func TestNegativeLimitsRejected(t *testing.T) {
	for _, cfg := range []Config{
		{APIKey: "k", FirstTokenTimeout: -time.Second},
		{APIKey: "k", Limits: Limits{RequestsPerWindow: -1}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted a negative value", cfg)
		}
	}
}
