package slack

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"kimibot/adapters/slack/slacktest"
)

func TestHTTPReplayRefused(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	h := newFakeEngine()
	_, base := MustHTTP(t, fake, h.host())
	ctx := testContext(t)
	now := time.Now()

	t.Run("Command", func(t *testing.T) {
		form := fake.Form(fake.Slash("U1", "C1", "help"))
		for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
			req, err := slacktest.SignedRequest(ctx, base+"/slack/commands", testSecret, now, "application/x-www-form-urlencoded", form)
			if err != nil {
				t.Fatal(err)
			}
			if code, body := send(t, req); code != want {
				t.Fatalf("delivery %d: status %d (%s), want %d", i+1, code, body, want)
			}
		}
		h.waitCommands(t, ctx, 1)
		// A fresh signature of the same command (a user running it again) is accepted.
		req, _ := slacktest.SignedRequest(ctx, base+"/slack/commands", testSecret, now.Add(time.Second),
			"application/x-www-form-urlencoded", form)
		if code, _ := send(t, req); code != http.StatusOK {
			t.Fatalf("re-signed command: status %d", code)
		}
		if got := len(h.waitCommands(t, ctx, 2)); got != 2 {
			t.Fatalf("commands run = %d, want 2 (the replay not among them)", got)
		}
	})
	t.Run("Interaction", func(t *testing.T) {
		body := slacktest.InteractionForm([]byte(`{"type":"block_actions","user":{"id":"U1"},"actions":[]}`))
		for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
			req, _ := slacktest.SignedRequest(ctx, base+"/slack/interactions", testSecret, now, "application/x-www-form-urlencoded", body)
			if code, _ := send(t, req); code != want {
				t.Fatalf("delivery %d: status %d, want %d", i+1, code, want)
			}
		}
	})
	t.Run("EventAcknowledgedOnce", func(t *testing.T) {
		cb := fake.Callback(slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> once", TS: fake.NewTS()}.Mention())
		for i := range 2 {
			req, _ := slacktest.SignedRequest(ctx, base+"/slack/events", testSecret, now, "application/json", cb.Body)
			if code, _ := send(t, req); code != http.StatusOK {
				t.Fatalf("delivery %d: status %d, want 200", i+1, code)
			}
		}
		if ev := h.next(t, ctx); ev.Text != "once" {
			t.Fatalf("event = %+v", ev)
		}
		if n := len(h.all()); n != 1 {
			t.Fatalf("events handled = %d, want the repeat acknowledged but not handled", n)
		}
	})
	t.Run("RefusedRequestMayComeAgain", func(t *testing.T) {
		h.setErr(errors.New("queue full"))
		cb := fake.Callback(slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> later", TS: fake.NewTS()}.Mention())
		req, _ := slacktest.SignedRequest(ctx, base+"/slack/events", testSecret, now, "application/json", cb.Body)
		if code, _ := send(t, req); code < 500 {
			t.Fatalf("status = %d, want a 5xx", code)
		}
		h.setErr(nil)
		req, _ = slacktest.SignedRequest(ctx, base+"/slack/events", testSecret, now, "application/json", cb.Body)
		if code, _ := send(t, req); code != http.StatusOK {
			t.Fatalf("same request after a refusal: status %d", code)
		}
		if ev := h.next(t, ctx); ev.Text != "later" {
			t.Fatalf("event = %+v", ev)
		}
	})
}

func TestReplayGuardExpiresAndStaysBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	g := newReplayGuard(3, func() time.Time { return now })
	if !g.claim("a", now) || g.claim("a", now) {
		t.Fatal("a signature must be accepted once")
	}
	now = now.Add(signatureWindow + 2*time.Second)
	if !g.claim("a", now.Add(-time.Second)) {
		t.Fatal("an expired signature must be forgotten")
	}
	for i := range 10 {
		g.claim(fmt.Sprint("s", i), now)
	}
	if n := g.len(); n > 3 {
		t.Fatalf("remembered %d signatures, want at most 3", n)
	}
	if g.claim("s9", now) {
		t.Error("the newest signature was forgotten first")
	}
	now = now.Add(signatureWindow + 2*time.Second)
	g.claim("fresh", now)
	if n := g.len(); n != 1 {
		t.Errorf("remembered %d signatures after expiry, want 1", n)
	}
}
