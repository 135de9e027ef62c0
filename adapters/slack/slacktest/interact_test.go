package slacktest_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"kimibot/adapters/slack/slacktest"
)

// MustCard posts a message with a header, a context and two buttons.
func MustCard(tb testing.TB, s *slacktest.Server, api *slack.Client) string {
	tb.Helper()
	text := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	_, ts, err := api.PostMessageContext(testContext(tb), "CREV", slack.MsgOptionText("card", false), slack.MsgOptionBlocks(
		slack.NewHeaderBlock(text("Review")),
		slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, "model x", false, false)),
		slack.NewActionBlock("b1", slack.NewButtonBlockElement("ok", "d1", text("OK")).WithStyle(slack.StylePrimary),
			slack.NewButtonBlockElement("no", "d1", text("No")).WithStyle(slack.StyleDanger))))
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}

func TestButtonsAndClick(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api := MustClient(t, s)
	ts := MustCard(t, s, api)
	m := s.Thread("CREV", "")[0]
	if m.Header != "Review" || m.Footer != "model x" || len(m.Buttons) != 2 || m.Buttons[0] != (slacktest.Button{
		BlockID: "b1", ActionID: "ok", Text: "OK", Value: "d1", Style: "primary"}) {
		t.Fatalf("card = %+v", m)
	}
	s.AddUser(slacktest.User{ID: "U1", Name: "ana"})
	payload, err := s.Click("U1", "CREV", ts, "no")
	if err != nil {
		t.Fatal(err)
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal(payload, &cb); err != nil {
		t.Fatal(err)
	}
	act := cb.ActionCallback.BlockActions
	if cb.Type != slack.InteractionTypeBlockActions || cb.User.ID != "U1" || cb.User.Name != "ana" || cb.TriggerID == "" ||
		cb.Channel.ID != "CREV" || cb.Container.MessageTs != ts || len(act) != 1 || act[0].ActionID != "no" ||
		act[0].Value != "d1" || cb.ResponseURL == "" {
		t.Fatalf("payload = %s", payload)
	}
	if _, err := s.Click("U1", "CREV", ts, "maybe"); err == nil {
		t.Fatal("clicked a button the message does not have")
	}
}

func TestBlockKitLimits(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api, ctx := MustClient(t, s), testContext(t)
	text := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	btn := func(id string) slack.BlockElement { return slack.NewButtonBlockElement(id, "v", text("Go")) }
	tests := []struct {
		name  string
		block slack.Block
	}{
		{"ErrHeaderTooLong", slack.NewHeaderBlock(text(strings.Repeat("h", 151)))},
		{"ErrSectionTooLong", slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, strings.Repeat("s", 3001), false, false), nil, nil)},
		{"ErrDuplicateActionID", slack.NewActionBlock("", btn("a"), btn("a"))},
		{"ErrButtonTextTooLong", slack.NewActionBlock("", slack.NewButtonBlockElement("a", "v", text(strings.Repeat("b", 76))))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionBlocks(tt.block)); err == nil || err.Error() != "invalid_blocks" {
				t.Fatalf("err = %v, want invalid_blocks", err)
			}
		})
	}
}

// MustModal opens a modal with an edit field and an optional one.
func MustModal(tb testing.TB, api *slack.Client, trigger, initial string) (*slack.ViewResponse, error) {
	tb.Helper()
	text := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	edit := slack.NewPlainTextInputBlockElement(nil, "t")
	edit.Multiline, edit.InitialValue, edit.MaxLength = true, initial, 3000
	why := slack.NewInputBlock("why", text("Why"), nil, slack.NewPlainTextInputBlockElement(nil, "w"))
	why.Optional = true
	return api.OpenViewContext(testContext(tb), trigger, slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "cb",
		PrivateMetadata: "d1", Title: text("Edit"), Submit: text("Send"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("text", text("Text"), nil, edit), why}}})
}

func TestViewsOpenAndSubmit(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api := MustClient(t, s)
	ts := MustCard(t, s, api)
	click := func() string {
		payload, err := s.Click("U1", "CREV", ts, "ok")
		if err != nil {
			t.Fatal(err)
		}
		var cb slack.InteractionCallback
		_ = json.Unmarshal(payload, &cb)
		return cb.TriggerID
	}
	t.Run("ErrTriggers", func(t *testing.T) {
		if _, err := MustModal(t, api, "made-up", "x"); err == nil || err.Error() != "invalid_trigger_id" {
			t.Fatalf("unknown trigger: %v", err)
		}
		used := click()
		if _, err := MustModal(t, api, used, "x"); err != nil {
			t.Fatal(err)
		}
		if _, err := MustModal(t, api, used, "x"); err == nil || err.Error() != "exchanged_trigger_id" {
			t.Fatalf("used trigger: %v", err)
		}
	})
	t.Run("ErrInitialValueTooLong", func(t *testing.T) {
		if _, err := MustModal(t, api, click(), strings.Repeat("x", 3001)); err == nil || err.Error() != "invalid_arguments" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("OKSubmit", func(t *testing.T) {
		resp, err := MustModal(t, api, click(), "draft text")
		if err != nil {
			t.Fatal(err)
		}
		views := s.Views()
		v := views[len(views)-1]
		if v.ID != resp.View.ID || v.User != "U1" || v.PrivateMetadata != "d1" || len(v.Inputs) != 2 ||
			v.Inputs[0].InitialValue != "draft text" || !v.Inputs[1].Optional {
			t.Fatalf("view = %+v", v)
		}
		payload, err := s.Submit(v.ID, map[string]string{"text": "edited"})
		if err != nil {
			t.Fatal(err)
		}
		var cb slack.InteractionCallback
		if err := json.Unmarshal(payload, &cb); err != nil {
			t.Fatal(err)
		}
		vals := cb.View.State.Values
		if cb.Type != slack.InteractionTypeViewSubmission || cb.View.ID != v.ID || cb.View.Hash == "" ||
			cb.View.PrivateMetadata != "d1" || vals["text"]["t"].Value != "edited" || vals["why"]["w"].Value != "" {
			t.Fatalf("payload = %s", payload)
		}
		if _, err := s.Submit(v.ID, nil); err == nil {
			t.Fatal("a view was submitted twice")
		}
	})
	t.Run("ErrRequiredEmpty", func(t *testing.T) {
		if _, err := MustModal(t, api, click(), "draft"); err != nil {
			t.Fatal(err)
		}
		views := s.Views()
		if _, err := s.Submit(views[len(views)-1].ID, map[string]string{"text": "  "}); err == nil {
			t.Fatal("a required field was submitted empty")
		}
	})
}

func TestTriggerExpires(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{TriggerTimeout: time.Nanosecond})
	api := MustClient(t, s)
	cmd := s.Slash("U1", "C1", "x")
	if _, err := MustModal(t, api, cmd.TriggerID, "x"); err == nil || err.Error() != "expired_trigger_id" {
		t.Fatalf("err = %v, want expired_trigger_id", err)
	}
}

func TestResponseURL(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	ctx := testContext(t)
	cmd := s.Slash("U1", "C1", "help")
	post := func(msg *slack.WebhookMessage) error { return slack.PostWebhookContext(ctx, cmd.ResponseURL, msg) }
	if err := post(&slack.WebhookMessage{ResponseType: "in_channel", Text: "hi",
		Blocks: &slack.Blocks{BlockSet: []slack.Block{slack.NewMarkdownBlock("", "**hi**")}}}); err != nil {
		t.Fatal(err)
	}
	if err := post(&slack.WebhookMessage{ResponseType: "to_everyone", Text: "x"}); err == nil {
		t.Fatal("an unknown response_type was accepted")
	}
	for range slacktest.ResponseURLUses - 1 {
		if err := post(&slack.WebhookMessage{Text: "again"}); err != nil {
			t.Fatal(err)
		}
	}
	var sc slack.StatusCodeError
	if err := post(&slack.WebhookMessage{Text: "once too often"}); !errors.As(err, &sc) || sc.Code != 404 {
		t.Fatalf("sixth use: %v", err)
	}
	got := s.Responses(cmd.ResponseURL)
	if len(got) != slacktest.ResponseURLUses || got[0].Shown() != "**hi**" || got[0].ResponseType != "in_channel" ||
		got[1].ResponseType != "ephemeral" || got[0].User != "U1" || got[0].Channel != "C1" {
		t.Fatalf("responses = %+v", got)
	}
	if _, err := url.Parse(cmd.ResponseURL); err != nil || !strings.HasPrefix(cmd.ResponseURL, s.URL()) {
		t.Fatalf("response_url = %q", cmd.ResponseURL)
	}
}

func TestRepliesWithMetadataAndPermalink(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api, ctx := MustClient(t, s), testContext(t)
	q := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "question", TS: s.NewTS()}
	s.Callback(q.Message())
	meta := slack.SlackMetadata{EventType: "kimibot_draft", EventPayload: map[string]any{"draft_id": "d1"}}
	for i := range 3 {
		opts := []slack.MsgOption{slack.MsgOptionText("answer", false), slack.MsgOptionTS(q.TS)}
		if i == 1 {
			opts = append(opts, slack.MsgOptionMetadata(meta))
		}
		if _, _, err := api.PostMessageContext(ctx, "C1", opts...); err != nil {
			t.Fatal(err)
		}
	}
	read := func(metadata bool, cursor string) ([]slack.Message, string) {
		msgs, _, next, err := api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
			ChannelID: "C1", Timestamp: q.TS, Limit: 2, Cursor: cursor, IncludeAllMetadata: metadata})
		if err != nil {
			t.Fatal(err)
		}
		return msgs, next
	}
	first, next := read(true, "")
	rest, last := read(true, next)
	all := append(first, rest...)
	if len(first) != 2 || next == "" || last != "" || len(all) != 4 || all[0].User != "U1" || all[0].Text != "question" {
		t.Fatalf("pages of %d and %d messages", len(first), len(rest))
	}
	if all[2].Metadata.EventType != "kimibot_draft" || all[2].Metadata.EventPayload["draft_id"] != "d1" ||
		all[1].Metadata.EventType != "" || all[2].BotID != "BKIMIBOT" {
		t.Fatalf("metadata = %+v / %+v", all[1].Metadata, all[2].Metadata)
	}
	if bare, _ := read(false, next); bare[0].Metadata.EventType != "" {
		t.Fatal("metadata returned without include_all_metadata")
	}
	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: all[3].Timestamp})
	if err != nil || link != slacktest.Permalink("C1", all[3].Timestamp, q.TS) || !strings.Contains(link, "?thread_ts="+q.TS) {
		t.Fatalf("permalink = %q, %v", link, err)
	}
	if _, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: "1.000001"}); err == nil {
		t.Fatal("permalink of an unknown message")
	}
}

func TestUserGroups(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api, ctx := MustClient(t, s), testContext(t)
	s.SetUserGroup("S1", "U1", "U2")
	if users, err := api.GetUserGroupMembersContext(ctx, "S1"); err != nil || strings.Join(users, ",") != "U1,U2" {
		t.Fatalf("members = %v, %v", users, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S9"); err == nil || err.Error() != "no_such_subteam" {
		t.Fatalf("unknown group: %v", err)
	}
}

func TestHoldAndLoseAnswer(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{})
	api, ctx := MustClient(t, s), testContext(t)
	release := s.Hold("users.info")
	done := make(chan error, 1)
	go func() {
		_, err := api.GetUserInfoContext(ctx, "U1")
		done <- err
	}()
	if err := s.Wait(ctx, func() bool { return s.Held("users.info") == 1 }); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Calls("users.info")); n != 0 {
		t.Fatalf("a held call was recorded %d times", n)
	}
	release()
	if err := <-done; err == nil || err.Error() != "user_not_found" {
		t.Fatalf("held call ended with %v", err)
	}
	s.Inject(slacktest.Fault{Method: "chat.postMessage", Lose: true})
	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("lost answer", false))
	var lost *url.Error
	if !errors.As(err, &lost) {
		t.Fatalf("err = %v, want a lost answer", err)
	}
	if msgs := s.Thread("C1", ""); len(msgs) != 1 || msgs[0].Shown() != "lost answer" {
		t.Fatalf("the call whose answer was lost did not take effect: %+v", msgs)
	}
}

func TestStreamCallsCountViolations(t *testing.T) {
	s := slacktest.Start(t, slacktest.Options{StreamCallsPerWindow: 2})
	api, ctx := MustClient(t, s), testContext(t)
	var errs int
	for range 3 {
		if _, _, err := api.StartStreamContext(ctx, "D1", slack.MsgOptionTS("1.1")); err != nil {
			errs++
		}
	}
	if v := s.Violations(); errs != 1 || len(v) != 1 || v[0].Method != "chat.startStream" {
		t.Fatalf("%d refused, violations %+v", errs, v)
	}
}
