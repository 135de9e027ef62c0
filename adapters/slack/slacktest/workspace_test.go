package slacktest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"kimibot/adapters/slack/slacktest"
)

// call posts a Web API call with token and returns the response with its "ok" and "error".
func call(tb testing.TB, s *slacktest.Server, method, token string, params url.Values) (*http.Response, string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+method, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, string(body)
}

func TestScopesHeader(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	resp, _ := call(t, s, "auth.test", s.Options().BotToken, nil)
	if got := resp.Header.Get("X-OAuth-Scopes"); got != strings.Join(slacktest.DefaultScopes, ",") {
		t.Fatalf("X-OAuth-Scopes = %q, want the manifest's scopes", got)
	}
	resp, _ = call(t, s, "apps.connections.open", s.Options().AppToken, nil)
	if got := resp.Header.Get("X-OAuth-Scopes"); got != "" {
		t.Fatalf("app token call: X-OAuth-Scopes = %q, want none", got)
	}
	few := slacktest.Start(t, slacktest.Options{Scopes: []string{"chat:write"}})
	if resp, _ := call(t, few, "auth.test", few.Options().BotToken, nil); resp.Header.Get("X-OAuth-Scopes") != "chat:write" {
		t.Fatalf("configured scopes not sent: %q", resp.Header.Get("X-OAuth-Scopes"))
	}
}

func TestConversationsInfo(t *testing.T) {
	for _, tc := range []struct {
		scopes  []string
		channel string
		want    string
	}{
		{nil, "CSUPPORT", `"error":"missing_scope"`},
		{[]string{"channels:read"}, "CSUPPORT", `"name":"support"`},
		{[]string{"channels:read"}, "CNONE", `"error":"channel_not_found"`},
	} {
		s := slacktest.Start(t, slacktest.Options{Scopes: tc.scopes})
		s.AddChannel("CSUPPORT", "support")
		if _, body := call(t, s, "conversations.info", s.Options().BotToken, url.Values{"channel": {tc.channel}}); !strings.Contains(body, tc.want) {
			t.Errorf("scopes %v channel %s: %s, want %s", tc.scopes, tc.channel, body, tc.want)
		}
	}
}
