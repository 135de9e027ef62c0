package slack

import "testing"

func TestWebMethodAndWrites(t *testing.T) {
	for _, tc := range []struct {
		path, method string
		write        bool
	}{
		{"/api/chat.postMessage", "chat.postMessage", true},
		{"/api/chat.getPermalink", "chat.getPermalink", false},
		{"/api/assistant.threads.setStatus", "assistant.threads.setStatus", true},
		{"/api/users.info", "users.info", false},
		{"/api/views.open", "views.open", true},
		{"/files/F1/secret-name.png", "other", false},
		{"/api/", "other", false},
	} {
		if got := webMethod(tc.path); got != tc.method {
			t.Errorf("webMethod(%q) = %q, want %q", tc.path, got, tc.method)
		}
		if got := writes(tc.method); got != tc.write {
			t.Errorf("writes(%q) = %v, want %v", tc.method, got, tc.write)
		}
	}
}
