package discord

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
)

// interactionEnv is an adapter running against a fake, with a handler
// that reports each interaction and answers with what the test sends.
type interactionEnv struct {
	fake    *discordtest.Server
	a       *Adapter
	user    discordtest.User
	guild   string
	channel string
	got     chan Interaction
	answer  chan handlerResult
}

func mustInteractionEnv(tb testing.TB, deferAfter time.Duration) *interactionEnv {
	tb.Helper()
	fake := MustFake(tb, discordtest.Options{})
	e := &interactionEnv{fake: fake, a: MustAdapter(tb, fake, nil), user: fake.AddUser("ada", false),
		guild: fake.AddGuild(), got: make(chan Interaction, 1), answer: make(chan handlerResult, 1)}
	e.channel = fake.AddTextChannel(e.guild, "general")
	e.a.deferAfter = deferAfter
	e.a.HandleInteractions(func(ctx context.Context, in Interaction) (Response, error) {
		e.got <- in
		r := <-e.answer
		return r.r, r.err
	})
	MustRun(tb, e.a, fake, newRecorder())
	return e
}

// send dispatches an interaction and returns what the handler got.
func (e *interactionEnv) send(tb testing.TB, in discordtest.InteractionIn) (discordtest.Interaction, Interaction) {
	tb.Helper()
	in.User, in.Channel = e.user, e.channel
	it := e.fake.SendInteraction(in)
	select {
	case got := <-e.got:
		return it, got
	case <-time.After(15 * time.Second):
		tb.Fatal("handler not called")
		return it, Interaction{}
	}
}

func (e *interactionEnv) waitCallback(tb testing.TB, id string) discordtest.Interaction {
	tb.Helper()
	e.fake.WaitFor(tb, "interaction callback", func() bool { return e.fake.InteractionState(id).CallbackType != 0 })
	return e.fake.InteractionState(id)
}

type callbackData struct {
	Content    string          `json:"content"`
	Flags      int             `json:"flags"`
	CustomID   string          `json:"custom_id"`
	Title      string          `json:"title"`
	Choices    []Choice        `json:"choices"`
	Components json.RawMessage `json:"components"`
}

func decodeCallback(tb testing.TB, it discordtest.Interaction) callbackData {
	tb.Helper()
	var d callbackData
	if err := json.Unmarshal(it.Callback, &d); err != nil {
		tb.Fatalf("decode callback %s: %v", it.Callback, err)
	}
	return d
}

var pingCommand = map[string]any{"id": "1", "name": "ping", "type": 1, "options": []map[string]any{
	{"name": "count", "type": 4, "value": 3}, {"name": "text", "type": 3, "value": "hi"}}}

func TestInteractionAnsweredAtOnce(t *testing.T) {
	t.Parallel()
	e := mustInteractionEnv(t, time.Minute)
	it, in := e.send(t, discordtest.InteractionIn{Type: discordtest.InteractionCommand, Data: pingCommand})
	want := Interaction{Kind: InteractionCommand, ID: it.ID, GuildID: e.guild, ChannelID: e.channel, Command: "ping",
		Options: map[string]string{"count": "3", "text": "hi"}, Roles: []string{}, Locale: "en-US"}
	want.User.ID, want.User.Name, want.User.Roles = e.user.ID, e.user.GlobalName, []string{}
	if !reflect.DeepEqual(in, want) {
		t.Fatalf("handler got\n %+v\nwant\n %+v", in, want)
	}
	e.answer <- handlerResult{r: Response{Content: "pong", Ephemeral: true}}
	got := e.waitCallback(t, it.ID)
	d := decodeCallback(t, got)
	if got.CallbackType != discordtest.CallbackMessage || d.Content != "pong" || d.Flags != 64 {
		t.Fatalf("callback type %d data %+v, want a private message \"pong\"", got.CallbackType, d)
	}
}

func TestInteractionDeferredThenAnswered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		ephemeral bool
	}{{"Private", true}, {"Public", false}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustInteractionEnv(t, 50*time.Millisecond)
			it, _ := e.send(t, discordtest.InteractionIn{Type: discordtest.InteractionCommand, Data: pingCommand})
			// The handler is still working: the adapter defers for it.
			got := e.waitCallback(t, it.ID)
			if got.CallbackType != discordtest.CallbackDeferredMessage {
				t.Fatalf("callback type %d, want a deferred message", got.CallbackType)
			}
			e.answer <- handlerResult{r: Response{Content: "slow pong", Ephemeral: tt.ephemeral}}
			e.fake.WaitFor(t, "answer", func() bool {
				st := e.fake.InteractionState(it.ID)
				return len(st.Followups) > 0 || e.messageContent(st.Original) == "slow pong"
			})
			st := e.fake.InteractionState(it.ID)
			switch {
			case tt.ephemeral && (e.messageContent(st.Original) != "slow pong" || len(st.Followups) != 0):
				t.Fatalf("private answer should edit the deferred response: %+v", st)
			case !tt.ephemeral:
				m, _ := e.fake.Message(st.Followups[0])
				if !st.OriginalDeleted || len(st.Followups) != 1 || m.Content != "slow pong" || m.Flags != 0 {
					t.Fatalf("public answer should replace the private placeholder with a public follow-up: %+v, %+v", st, m)
				}
			}
		})
	}
}

func (e *interactionEnv) messageContent(id string) string {
	m, _ := e.fake.Message(id)
	return m.Content
}

func TestInteractionComponentUpdate(t *testing.T) {
	t.Parallel()
	e := mustInteractionEnv(t, 50*time.Millisecond)
	card := e.fake.SendMessage(discordtest.Incoming{Channel: e.channel, Author: e.user, Content: "draft: hello"})
	it, in := e.send(t, discordtest.InteractionIn{Type: discordtest.InteractionComponent, Message: card.ID,
		Data: map[string]any{"custom_id": "approve:7", "component_type": 2}})
	if in.Kind != InteractionComponent || in.CustomID != "approve:7" || in.MessageID != card.ID {
		t.Fatalf("handler got %+v", in)
	}
	got := e.waitCallback(t, it.ID)
	if got.CallbackType != discordtest.CallbackDeferredUpdate {
		t.Fatalf("callback type %d, want a deferred update", got.CallbackType)
	}
	e.answer <- handlerResult{r: Response{Content: "approved", Update: true, Buttons: [][]Button{{{CustomID: "undo:7", Label: "Undo"}}}}}
	e.fake.WaitFor(t, "card updated", func() bool { return e.messageContent(card.ID) == "approved" })
	m, _ := e.fake.Message(card.ID)
	if !strings.Contains(string(m.Components), `"custom_id":"undo:7"`) {
		t.Fatalf("components = %s, want the new button", m.Components)
	}
}

func TestInteractionAutocompleteAndModal(t *testing.T) {
	t.Parallel()
	e := mustInteractionEnv(t, time.Minute)
	it, in := e.send(t, discordtest.InteractionIn{Type: discordtest.InteractionAutocomplete, Data: map[string]any{
		"id": "2", "name": "model", "type": 1, "options": []map[string]any{{"name": "id", "type": 3, "value": "kimi", "focused": true}}}})
	if in.Kind != InteractionAutocomplete || in.Focused != "id" || in.Options["id"] != "kimi" {
		t.Fatalf("handler got %+v", in)
	}
	e.answer <- handlerResult{r: Response{Choices: []Choice{{Name: "kimi-k2.6", Value: "kimi-k2.6"}}}}
	got := e.waitCallback(t, it.ID)
	if d := decodeCallback(t, got); got.CallbackType != discordtest.CallbackAutocomplete || len(d.Choices) != 1 || d.Choices[0].Name != "kimi-k2.6" {
		t.Fatalf("callback %d %s, want one choice", got.CallbackType, got.Callback)
	}

	it, _ = e.send(t, discordtest.InteractionIn{Type: discordtest.InteractionCommand, Data: pingCommand})
	e.answer <- handlerResult{r: Response{Modal: &Modal{CustomID: "edit:9", Title: "Edit draft", Inputs: []TextInput{{CustomID: "draft", Label: "Draft", Paragraph: true}}}}}
	got = e.waitCallback(t, it.ID)
	if d := decodeCallback(t, got); got.CallbackType != discordtest.CallbackModal || d.CustomID != "edit:9" || d.Title != "Edit draft" {
		t.Fatalf("callback %d %s, want the modal", got.CallbackType, got.Callback)
	}

	_, in = e.send(t, discordtest.InteractionIn{Type: discordtest.InteractionModalSubmit, Data: map[string]any{"custom_id": "edit:9",
		"components": []map[string]any{{"type": 1, "components": []map[string]any{{"type": 4, "custom_id": "draft", "value": "new text"}}}}}})
	if in.Kind != InteractionModalSubmit || in.CustomID != "edit:9" || in.Fields["draft"] != "new text" {
		t.Fatalf("handler got %+v", in)
	}
	e.answer <- handlerResult{r: Response{Content: "saved", Ephemeral: true}}
}

func TestInteractionHandlerError(t *testing.T) {
	t.Parallel()
	e := mustInteractionEnv(t, time.Minute)
	it, _ := e.send(t, discordtest.InteractionIn{Type: discordtest.InteractionCommand, Data: pingCommand})
	e.answer <- handlerResult{err: errors.New("store unavailable")}
	got := e.waitCallback(t, it.ID)
	if d := decodeCallback(t, got); d.Content != "Something went wrong." || d.Flags != 64 || strings.Contains(string(got.Callback), "store unavailable") {
		t.Fatalf("callback %s, want a private notice without details", got.Callback)
	}
}

func TestInteractionLongAnswerFollows(t *testing.T) {
	t.Parallel()
	e := mustInteractionEnv(t, time.Minute)
	it, _ := e.send(t, discordtest.InteractionIn{Type: discordtest.InteractionCommand, Data: pingCommand})
	long := strings.Repeat("All the models, one per line.\n", 100)
	e.answer <- handlerResult{r: Response{Content: long}}
	e.fake.WaitFor(t, "follow-up", func() bool { return len(e.fake.InteractionState(it.ID).Followups) == 1 })
	st := e.fake.InteractionState(it.ID)
	follow, _ := e.fake.Message(st.Followups[0])
	checkMessages(t, long, []string{e.messageContent(st.Original), follow.Content})
}
