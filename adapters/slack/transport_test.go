package slack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
	"kimibot/conversation"
)

// MustSocketAdapter runs an adapter in Socket Mode against fake.
func MustSocketAdapter(tb testing.TB, fake *slacktest.Server, h bot.Host) *Adapter {
	tb.Helper()
	a := MustAdapter(tb, fake, func(c *Config) { c.AppToken = fake.Options().AppToken })
	MustRun(tb, a, h)
	return a
}

func TestSocketModeDeliversAndAcks(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	h := newFakeEngine("UREV")
	a := MustSocketAdapter(t, fake, h.host())
	ctx := testContext(t)

	ignored := fake.PushEvent(fake.Callback(slacktest.UserMessage{User: "U2", BotID: "BOTHER", Channel: "C1",
		Text: "<@UKIMIBOT> beep", TS: fake.NewTS()}.Mention()).Body)
	unknown := fake.PushEvent([]byte(`{"type":"event_callback","team_id":"T0KIMI","event_id":"Ev9","event":{"type":"future_thing"}}`))
	cb := fake.Callback(slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> hi", TS: fake.NewTS()}.Mention())
	id := fake.PushEvent(cb.Body)
	ev := h.next(t, ctx)
	if ev.Text != "hi" || ev.DedupeKeys[0] != "slack:event:"+cb.EventID || ev.Thread.Workspace != "T0KIMI" {
		t.Fatalf("event = %+v", ev)
	}
	for _, env := range []string{ignored, unknown, id} {
		if _, err := fake.WaitAcked(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(h.all()); n != 1 {
		t.Fatalf("handler got %d events, want 1", n)
	}

	t.Run("SlashCommand", func(t *testing.T) {
		release := fake.Hold(slacktest.ResponseURLs)
		defer release()
		cmd := fake.Slash("U1", "D1", "new")
		env := fake.PushSlashCommand(cmd)
		acked, err := fake.WaitAcked(ctx, env)
		if err != nil {
			t.Fatalf("not acknowledged while the answer was held: %v", err)
		}
		release()
		c := h.waitCommands(t, ctx, 1)[0]
		if c.Name != "new" || c.Thread != (bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "D1", DM: true}) || c.User.ID != "U1" {
			t.Fatalf("command = %+v", c)
		}
		resps, err := fake.WaitResponses(ctx, cmd.ResponseURL, 1)
		if err != nil {
			t.Fatal(err)
		}
		if acked.Acks == 0 || (len(acked.AckPayload) != 0 && string(acked.AckPayload) != "null") {
			t.Fatalf("ack = %d acks, payload %s; want an empty ack", acked.Acks, acked.AckPayload)
		}
		if r := resps[0]; r.Shown() != "ran `new`" || r.ResponseType != "ephemeral" || r.Time.Before(acked.Acked) {
			t.Fatalf("response = %+v, ack at %v", r, acked.Acked)
		}
	})
	t.Run("Interaction", func(t *testing.T) {
		h.addDraft(conversation.Draft{ID: "d1", State: conversation.DraftPending})
		card, err := a.PostCard(ctx, bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "CREV"},
			bot.Card{DraftID: "d1", Customer: "U9", Question: "hi?", Draft: "hello", Actions: []bot.ActionKind{bot.ActionApprove}})
		if err != nil {
			t.Fatal(err)
		}
		payload, err := fake.Click("UREV", "CREV", card.ID, actionApprove)
		if err != nil {
			t.Fatal(err)
		}
		env := fake.PushInteraction(payload)
		act := h.waitActions(t, ctx, 1)[0]
		var cb slack.InteractionCallback
		_ = json.Unmarshal(payload, &cb)
		if act.Kind != bot.ActionApprove || act.DraftID != "d1" || act.User.ID != "UREV" || act.DedupeKey != "slack:interaction:"+cb.TriggerID {
			t.Fatalf("action = %+v", act)
		}
		if _, err := fake.WaitAcked(ctx, env); err != nil {
			t.Fatal(err)
		}
		other := fake.PushInteraction([]byte(`{"type":"block_actions","user":{"id":"U1"},"trigger_id":"t2","actions":[]}`))
		if _, err := fake.WaitAcked(ctx, other); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSocketModeRedeliversWhenHandlerFails(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{AckTimeout: 100 * time.Millisecond})
	h := newRecorder()
	h.setErr(errors.New("engine stopping"))
	MustSocketAdapter(t, fake, h.host())
	ctx := testContext(t)
	id := fake.PushEvent(fake.Callback(slacktest.UserMessage{User: "U1", Channel: "D1", ChannelType: "im", Text: "hi", TS: fake.NewTS()}.Message()).Body)
	if err := fake.Wait(ctx, func() bool { e, _ := fake.Envelope(id); return len(e.Sent) >= 2 }); err != nil {
		t.Fatal(err)
	}
	h.setErr(nil)
	env, err := fake.WaitAcked(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if env.RetryAttempt == 0 || len(h.all()) != 1 {
		t.Fatalf("retry attempt %d, %d events", env.RetryAttempt, len(h.all()))
	}
}

// gate is a handler that holds each event until released, like an engine
// that is slow to queue.
type gate struct {
	*recorder
	open chan struct{}
}

func (g gate) HandleEvent(ctx context.Context, ev bot.Event) error {
	<-g.open
	return g.recorder.HandleEvent(ctx, ev)
}

func TestSocketModeRefreshLosesNothing(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{AckTimeout: 500 * time.Millisecond})
	g := gate{recorder: newRecorder(), open: make(chan struct{})}
	a := MustSocketAdapter(t, fake, bot.Host{Events: g})
	ctx := testContext(t)
	push := func(text string) (string, string) {
		ts := fake.NewTS()
		return fake.PushEvent(fake.Callback(slacktest.UserMessage{User: "U1", Channel: "D1", ChannelType: "im", Text: text, TS: ts}.Message()).Body), ts
	}
	// One envelope is being handled when Slack asks for a refresh, and
	// others arrive while the client reconnects.
	first, firstTS := push("before")
	if err := fake.Wait(ctx, func() bool { e, _ := fake.Envelope(first); return len(e.Sent) == 1 }); err != nil {
		t.Fatal(err)
	}
	fake.Disconnect("refresh_requested", 2*time.Second)
	during, duringTS := push("during")
	close(g.open)
	if err := fake.Wait(ctx, func() bool { n, up := fake.Connections(); return n >= 2 && up }); err != nil {
		t.Fatal(err)
	}
	fake.Disconnect("warning", 2*time.Second)
	after, afterTS := push("after")
	fake.DropConnection()
	last, lastTS := push("last")

	for _, id := range []string{first, during, after, last} {
		if _, err := fake.WaitAcked(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, ev := range g.all() {
		seen[ev.Message] = true
	}
	for _, ts := range []string{firstTS, duringTS, afterTS, lastTS} {
		if !seen[ts] {
			t.Fatalf("message %s never reached the handler", ts)
		}
	}
	if n, _ := fake.Connections(); n < 3 {
		t.Fatalf("%d connections, want a reconnect after each disconnect", n)
	}
	waitReady(t, a)
}

// MustHTTP serves the adapter's HTTP handler on loopback.
func MustHTTP(tb testing.TB, fake *slacktest.Server, h bot.Host) (*Adapter, string) {
	tb.Helper()
	a := MustAdapter(tb, fake, nil)
	MustRun(tb, a, h)
	srv := httptest.NewServer(a.HTTPHandler())
	tb.Cleanup(srv.Close)
	return a, srv.URL
}

func send(tb testing.TB, req *http.Request) (int, string) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestHTTPEvents(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	h := newFakeEngine()
	_, base := MustHTTP(t, fake, h.host())
	ctx := testContext(t)
	events := base + "/slack/events"
	cb := fake.Callback(slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> hi", TS: fake.NewTS()}.Mention())
	signed := func(at time.Time, body []byte) *http.Request {
		req, err := slacktest.SignedRequest(ctx, events, testSecret, at, "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		return req
	}

	t.Run("ErrBadSignature", func(t *testing.T) {
		req := signed(time.Now(), cb.Body)
		req.Header.Set("X-Slack-Signature", slacktest.Sign("wrong-secret", time.Now().Unix(), cb.Body))
		if code, _ := send(t, req); code != http.StatusUnauthorized {
			t.Fatalf("status = %d", code)
		}
	})
	t.Run("ErrStaleTimestamp", func(t *testing.T) {
		if code, _ := send(t, signed(time.Now().Add(-6*time.Minute), cb.Body)); code != http.StatusUnauthorized {
			t.Fatalf("status = %d", code)
		}
	})
	t.Run("ErrUnsigned", func(t *testing.T) {
		req := signed(time.Now(), cb.Body)
		req.Header.Del("X-Slack-Signature")
		if code, _ := send(t, req); code != http.StatusUnauthorized {
			t.Fatalf("status = %d", code)
		}
	})
	if n := len(h.all()); n != 0 {
		t.Fatalf("rejected requests delivered %d events", n)
	}
	t.Run("OKURLVerification", func(t *testing.T) {
		code, body := send(t, signed(time.Now(), []byte(`{"token":"x","challenge":"c-123","type":"url_verification"}`)))
		if code != http.StatusOK || !strings.Contains(body, `"challenge":"c-123"`) {
			t.Fatalf("status %d, body %s", code, body)
		}
	})
	t.Run("OKEventAndRetry", func(t *testing.T) {
		if code, _ := send(t, signed(time.Now(), cb.Body)); code != http.StatusOK {
			t.Fatalf("status = %d", code)
		}
		if ev := h.next(t, ctx); ev.Text != "hi" {
			t.Fatalf("event = %+v", ev)
		}
		retry := signed(time.Now(), cb.Body)
		retry.Header.Set("X-Slack-Retry-Num", "1")
		retry.Header.Set("X-Slack-Retry-Reason", "http_timeout")
		if code, _ := send(t, retry); code != http.StatusOK {
			t.Fatalf("retry status = %d", code)
		}
		if ev := h.next(t, ctx); ev.DedupeKeys[0] != "slack:event:"+cb.EventID {
			t.Fatalf("retry event = %+v", ev)
		}
	})
	t.Run("OKCommand", func(t *testing.T) {
		cmd := fake.Slash("U1", "C1", "support <#CREV|review>")
		ack, err := fake.PostSlashCommand(ctx, base+"/slack/commands", testSecret, cmd)
		if err != nil || ack.Status != http.StatusOK || len(ack.Body) != 0 {
			t.Fatalf("ack = %d %q, err %v; want an empty 200", ack.Status, ack.Body, err)
		}
		if c := h.waitCommands(t, ctx, 1)[0]; c.Name != "support" || !reflect.DeepEqual(c.Args, []string{"CREV"}) {
			t.Fatalf("command = %+v", c)
		}
		resps, err := fake.WaitResponses(ctx, cmd.ResponseURL, 1)
		if err != nil {
			t.Fatal(err)
		}
		if r := resps[0]; r.Shown() != "ran `support`" || r.ResponseType != "in_channel" {
			t.Fatalf("response = %+v", r)
		}
	})
	t.Run("OKInteraction", func(t *testing.T) {
		body := slacktest.InteractionForm([]byte(`{"type":"block_actions","user":{"id":"U1"},"actions":[]}`))
		req, _ := slacktest.SignedRequest(ctx, base+"/slack/interactions", testSecret, time.Now(), "application/x-www-form-urlencoded", body)
		if code, _ := send(t, req); code != http.StatusOK {
			t.Fatalf("status = %d", code)
		}
	})
	t.Run("ErrHandlerAsksForRetry", func(t *testing.T) {
		h.setErr(errors.New("queue full"))
		defer h.setErr(nil)
		if code, _ := send(t, signed(time.Now(), fake.Callback(slacktest.UserMessage{User: "U1", Channel: "D1", ChannelType: "im", Text: "x", TS: fake.NewTS()}.Message()).Body)); code < 500 {
			t.Fatalf("status = %d, want a 5xx so Slack retries", code)
		}
	})
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"a":1}`)
	header := func(ts int64, sig string) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		h.Set("X-Slack-Signature", sig)
		return h
	}
	at := func(skew time.Duration) http.Header {
		ts := now.Add(skew).Unix()
		return header(ts, slacktest.Sign("s3cret", ts, body))
	}
	tests := []struct {
		name string
		h    http.Header
		want error
	}{
		{"OK", at(0), nil},
		{"OKEdgeOfWindow", at(-5 * time.Minute), nil},
		{"ErrStale", at(-5*time.Minute - time.Second), errStale},
		{"ErrFuture", at(5*time.Minute + time.Second), errStale},
		{"ErrTampered", header(now.Unix(), slacktest.Sign("s3cret", now.Unix(), []byte(`{"a":2}`))), errBadSignature},
		{"ErrNoVersion", header(now.Unix(), strings.TrimPrefix(slacktest.Sign("s3cret", now.Unix(), body), "v0=")), errBadSignature},
		{"ErrMissing", http.Header{}, errUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := verifySignature("s3cret", tt.h, body, now); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDownload(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, func(c *Config) { c.MaxDownload = 64 })
	ctx := testContext(t)
	f := fake.AddFile("cat.png", "image/png", []byte("\x89PNG\r\n\x1a\nfake image"))
	t.Run("OK", func(t *testing.T) {
		data, err := a.Download(ctx, bot.Attachment{Name: f.Name, MIME: f.Mimetype, Size: int64(f.Size), URL: f.URLPrivate})
		if err != nil || string(data) != "\x89PNG\r\n\x1a\nfake image" {
			t.Fatalf("data %q, err %v", data, err)
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		big := fake.AddFile("big.png", "image/png", make([]byte, 100))
		if _, err := a.Download(ctx, bot.Attachment{Name: big.Name, URL: big.URLPrivate}); err == nil {
			t.Fatal("oversized download succeeded")
		}
	})
	t.Run("ErrForeignHost", func(t *testing.T) {
		if _, err := a.Download(ctx, bot.Attachment{Name: "x", URL: "http://files.example.invalid/x.png"}); err == nil {
			t.Fatal("download from a foreign host succeeded")
		}
	})
}
