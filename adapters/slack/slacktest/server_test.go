package slacktest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"kimibot/adapters/slack/slacktest"
)

func MustClient(tb testing.TB, s *slacktest.Server) *slack.Client {
	tb.Helper()
	o := s.Options()
	return slack.New(o.BotToken, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken(o.AppToken))
}

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	tb.Cleanup(cancel)
	return ctx
}

func TestAuthTest(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	t.Run("OK", func(t *testing.T) {
		resp, err := MustClient(t, s).AuthTestContext(testContext(t))
		if err != nil {
			t.Fatal(err)
		}
		if resp.UserID != "UKIMIBOT" || resp.BotID != "BKIMIBOT" || resp.TeamID != "T0KIMI" {
			t.Fatalf("auth.test = %+v", resp)
		}
	})
	t.Run("ErrInvalidAuth", func(t *testing.T) {
		api := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
		_, err := api.AuthTestContext(testContext(t))
		if err == nil || err.Error() != "invalid_auth" {
			t.Fatalf("err = %v, want invalid_auth", err)
		}
	})
}

func TestPostAndUpdateShowBlocks(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api, ctx := MustClient(t, s), testContext(t)
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("_thinking…_", false), slack.MsgOptionTS("100.1"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, err = api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("hi", false),
		slack.MsgOptionBlocks(slack.NewMarkdownBlock("", "**hi** there"),
			slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, "kimi · 12 tokens", false, false))))
	if err != nil {
		t.Fatal(err)
	}
	msgs := s.Thread("C1", "100.1")
	if len(msgs) != 1 {
		t.Fatalf("thread has %d messages", len(msgs))
	}
	m := msgs[0]
	if m.Shown() != "**hi** there" || m.Footer != "kimi · 12 tokens" || m.Text != "hi" {
		t.Fatalf("message = %+v", m)
	}
	if len(m.States) != 2 || m.States[0].Text != "_thinking…_" {
		t.Fatalf("states = %+v", m.States)
	}
}

func TestBlockLimits(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api, ctx := MustClient(t, s), testContext(t)
	tests := []struct {
		name   string
		blocks []slack.Block
		want   string
	}{
		{"ErrMarkdownBlockTooLong", []slack.Block{slack.NewMarkdownBlock("", strings.Repeat("a", 12_001))}, "invalid_blocks"},
		{"ErrCumulativeCap", []slack.Block{slack.NewMarkdownBlock("", strings.Repeat("a", 7000)), slack.NewMarkdownBlock("", strings.Repeat("b", 7000))}, "msg_blocks_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(tt.blocks...))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v, want %s", err, tt.want)
			}
		})
	}
	t.Run("OKAtLimit", func(t *testing.T) {
		_, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionBlocks(slack.NewMarkdownBlock("", strings.Repeat("é", 12_000))))
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestStreamShowsAppendedText(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api, ctx := MustClient(t, s), testContext(t)
	_, _, err := api.StartStreamContext(ctx, "C1", slack.MsgOptionTS("100.1"), slack.MsgOptionMarkdownText("a"))
	if err == nil || err.Error() != "missing_recipient_user_id" {
		t.Fatalf("start without recipient: err = %v", err)
	}
	_, ts, err := api.StartStreamContext(ctx, "C1", slack.MsgOptionTS("100.1"), slack.MsgOptionMarkdownText("Hel"),
		slack.MsgOptionRecipientUserID("U1"), slack.MsgOptionRecipientTeamID("T0KIMI"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.AppendStreamContext(ctx, "C1", ts, slack.MsgOptionMarkdownText("lo")); err != nil {
		t.Fatal(err)
	}
	_, _, err = api.StopStreamContext(ctx, "C1", ts, slack.MsgOptionMarkdownText(" world"),
		slack.MsgOptionBlocks(slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, "footer", false, false))))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.AppendStreamContext(ctx, "C1", ts, slack.MsgOptionMarkdownText("late")); err == nil {
		t.Fatal("append after stop succeeded")
	}
	m := s.Thread("C1", "100.1")[0]
	if m.Shown() != "Hello world" || m.Footer != "footer" || m.Streaming || !m.Streamed {
		t.Fatalf("stream = %+v", m)
	}
	if got := len(m.States); got != 3 {
		t.Fatalf("states = %d, want 3", got)
	}
}

func TestDisableStreaming(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	s.DisableStreaming("method_not_supported_for_channel_type")
	_, _, err := MustClient(t, s).StartStreamContext(testContext(t), "D1", slack.MsgOptionTS("1.1"))
	if err == nil || err.Error() != "method_not_supported_for_channel_type" {
		t.Fatalf("err = %v", err)
	}
}

func TestInjectedFaults(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api, ctx := MustClient(t, s), testContext(t)
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	if err != nil {
		t.Fatal(err)
	}
	update := func() error {
		_, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("y", false))
		return err
	}
	t.Run("RateLimitedWithHeader", func(t *testing.T) {
		s.Inject(slacktest.Fault{Method: "chat.update", Status: 429, RetryAfter: "1"})
		var rl *slack.RateLimitedError
		if err := update(); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
			t.Fatalf("err = %v, want RateLimitedError 1s", err)
		}
		before := len(s.Violations())
		if err := update(); err == nil {
			t.Fatal("update inside the Retry-After pause succeeded")
		}
		if got := len(s.Violations()); got != before+1 {
			t.Fatalf("violations = %d, want %d", got, before+1)
		}
	})
	t.Run("RateLimitedUnparseable", func(t *testing.T) {
		s.Inject(slacktest.Fault{Method: "auth.test", Status: 429, RetryAfter: "1.5"})
		_, err := api.AuthTestContext(ctx)
		var rl *slack.RateLimitedError
		if err == nil || errors.As(err, &rl) {
			t.Fatalf("err = %v, want a non-RateLimitedError", err)
		}
	})
	t.Run("ServerError", func(t *testing.T) {
		s.Inject(slacktest.Fault{Method: "users.info", Status: 503})
		_, err := api.GetUserInfoContext(ctx, "U1")
		var sc slack.StatusCodeError
		if !errors.As(err, &sc) || sc.Code != 503 {
			t.Fatalf("err = %v, want 503", err)
		}
	})
}

func TestUpdateLimitCountsViolations(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{UpdatesPerWindow: 3})
	api, ctx := MustClient(t, s), testContext(t)
	_, ts, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
	if err != nil {
		t.Fatal(err)
	}
	var errs int
	for range 5 {
		if _, _, _, err := api.UpdateMessageContext(ctx, "C1", ts, slack.MsgOptionText("y", false)); err != nil {
			errs++
		}
	}
	if errs != 2 || len(s.Violations()) != 2 {
		t.Fatalf("failed updates = %d, violations = %d; want 2 and 2", errs, len(s.Violations()))
	}
}

func TestPostPaceCountsViolations(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{PostBurst: 2, PostInterval: time.Hour})
	api, ctx := MustClient(t, s), testContext(t)
	for i := range 3 {
		_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false))
		if (err != nil) != (i == 2) {
			t.Fatalf("post %d: err = %v", i, err)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, "C2", slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("other channel: %v", err)
	}
	if v := s.Violations(); len(v) != 1 || v[0].Channel != "C1" {
		t.Fatalf("violations = %+v", v)
	}
}

func TestFileDownloadNeedsBotToken(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	f := s.AddFile("cat photo.png", "image/png", []byte("\x89PNG fake"))
	var buf bytes.Buffer
	if err := MustClient(t, s).GetFileContext(testContext(t), f.URLPrivate, &buf); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "\x89PNG fake" {
		t.Fatalf("downloaded %q", buf.String())
	}
	anon := slack.New("xoxb-wrong", slack.OptionAPIURL(s.APIURL()))
	if err := anon.GetFileContext(testContext(t), f.URLPrivate, &bytes.Buffer{}); err == nil {
		t.Fatal("download with a wrong token succeeded")
	}
}

// socketClient runs slack-go's Socket Mode client against s and acks every
// envelope it receives, reporting each one on the returned channel.
func socketClient(tb testing.TB, s *slacktest.Server) <-chan socketmode.Event {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sm := socketmode.New(MustClient(tb, s))
	got := make(chan socketmode.Event, 16)
	done := make(chan struct{})
	go func() { _ = sm.RunContext(ctx) }()
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-sm.Events:
				if ev.Request != nil && ev.Request.EnvelopeID != "" {
					_ = sm.Ack(*ev.Request)
					got <- ev
				}
			}
		}
	}()
	tb.Cleanup(func() { cancel(); <-done })
	return got
}

func TestSocketModeDeliversAndRecordsAcks(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	events := socketClient(t, s)
	cb := s.Callback(slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> hi", TS: s.NewTS()}.Mention())
	id := s.PushEvent(cb.Body)
	ev := <-events
	if ev.Type != socketmode.EventTypeEventsAPI || ev.Request.EnvelopeID != id {
		t.Fatalf("event = %+v", ev)
	}
	env, err := s.WaitAcked(testContext(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if env.Acks != 1 || env.Acked.Before(env.Sent[0]) {
		t.Fatalf("envelope = %+v", env)
	}
}

func TestSocketModeRefreshRedeliversUnacked(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{AckTimeout: 200 * time.Millisecond})
	ctx := testContext(t)
	// Queue an envelope before any client connects: it must arrive once one does.
	early := s.PushEvent(s.Callback(slacktest.Reaction("U1", "hand", "C1", "1.1")).Body)
	events := socketClient(t, s)
	if ev := <-events; ev.Request.EnvelopeID != early {
		t.Fatalf("first delivery = %s, want %s", ev.Request.EnvelopeID, early)
	}
	s.Disconnect("refresh_requested", time.Second)
	if err := s.Wait(ctx, func() bool { n, up := s.Connections(); return n == 2 && up }); err != nil {
		t.Fatal(err)
	}
	later := s.PushEvent(s.Callback(slacktest.Reaction("U1", "hand", "C1", "1.2")).Body)
	if ev := <-events; ev.Request.EnvelopeID != later {
		t.Fatalf("after refresh got %s, want %s", ev.Request.EnvelopeID, later)
	}
	if _, err := s.WaitAcked(ctx, later); err != nil {
		t.Fatal(err)
	}
}

func TestUnackedEnvelopeIsRetried(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{AckTimeout: 50 * time.Millisecond, MaxRetries: 2})
	ctx := testContext(t)
	sm := socketmode.New(MustClient(t, s))
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = sm.RunContext(runCtx) }()
	id := s.PushEvent(s.Callback(slacktest.Reaction("U1", "hand", "C1", "1.1")).Body)
	var attempts []int
	for len(attempts) < 3 {
		ev := <-sm.Events
		if ev.Request != nil && ev.Request.EnvelopeID == id {
			attempts = append(attempts, ev.Request.RetryAttempt)
		}
	}
	if attempts[0] != 0 || attempts[1] != 1 || attempts[2] != 2 {
		t.Fatalf("retry attempts = %v", attempts)
	}
}

func TestSignedRequest(t *testing.T) {
	body := []byte(`{"type":"url_verification","challenge":"c"}`)
	tests := []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{"OK", time.Now(), true},
		{"ErrStale", time.Now().Add(-6 * time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := slacktest.SignedRequest(context.Background(), "http://127.0.0.1/slack/events", "secret", tt.at, "application/json", body)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != http.MethodPost {
				t.Fatalf("method = %s", req.Method)
			}
			// slack-go's own verifier is the reference for the signature format.
			sv, err := slack.NewSecretsVerifier(req.Header, "secret")
			if err == nil {
				_, _ = sv.Write(body)
				err = sv.Ensure()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("verify: err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
