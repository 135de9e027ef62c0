package storage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

// fixedClock returns a clock that reads t until advanced.
func fixedClock(t time.Time) (now func() time.Time, advance func(time.Duration)) {
	var mu sync.Mutex
	return func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return t
		}, func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			t = t.Add(d)
		}
}

func TestAppend_RestartKeepsHistory(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	now, advance := fixedClock(start)
	key := conversation.ThreadKey("slack/T1/C1/1700000000.000100")
	written := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	in := []conversation.Message{
		{Role: conversation.RoleUser, Text: "order A1001?", UserID: "U1", UserName: "Ann",
			Parts: []conversation.Part{{Type: conversation.PartImage, ImageURL: "data:image/png;base64,AAAA", Name: "a.png"}},
			Refs:  []conversation.MsgRef{{Platform: "slack", Channel: "C1", ID: "1700000000.000100"}}, Time: written},
		{Role: conversation.RoleAssistant, Reasoning: "look it up", ReasoningDetails: json.RawMessage(`[{"type":"reasoning.text","text":"x"}]`),
			ToolCalls: []conversation.ToolCall{{ID: "functions.lookup_order:0", Name: "lookup_order", Arguments: `{"id":"A1001"}`}}},
		{Role: conversation.RoleTool, ToolCallID: "functions.lookup_order:0", ToolName: "lookup_order", Text: `{"status":"shipped"}`},
	}

	s := storagetest.MustOpenAt(t, path, storage.Options{NoSync: true, Now: now})
	got, err := s.Append(ctx, key, in...)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if m.Seq != uint64(i+1) {
			t.Errorf("message %d Seq = %d, want %d", i, m.Seq, i+1)
		}
	}
	if !got[0].Time.Equal(written) || !got[1].Time.Equal(start) {
		t.Errorf("times = %v, %v; want the given time kept and the clock used", got[0].Time, got[1].Time)
	}
	if in[1].Seq != 0 || !in[1].Time.IsZero() {
		t.Errorf("Append modified its input: %+v", in[1])
	}
	advance(time.Minute)
	final := conversation.Message{Role: conversation.RoleAssistant, Text: "It shipped.", Model: "kimi-k2.6",
		Usage: &conversation.Usage{PromptTokens: 90, CompletionTokens: 10, TotalTokens: 100}}
	more, err := s.Append(ctx, key, final)
	if err != nil {
		t.Fatal(err)
	}
	if more[0].Seq != 4 {
		t.Errorf("second append Seq = %d, want 4", more[0].Seq)
	}
	want := append(got, more...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = storagetest.MustOpenAt(t, path, storage.Options{NoSync: true, Now: now})
	msgs, err := s.Messages(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !equalJSON(t, msgs, want) {
		t.Errorf("after restart messages =\n%s\nwant\n%s", mustJSON(t, msgs), mustJSON(t, want))
	}
	th, err := s.Thread(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	wantTh := conversation.Thread{Key: key, Active: true, Created: start, Updated: start.Add(time.Minute)}
	if !equalJSON(t, th, wantTh) {
		t.Errorf("thread = %+v, want %+v", th, wantTh)
	}
}

func TestMessages_Missing(t *testing.T) {
	s := MustOpen(t)
	msgs, err := s.Messages(context.Background(), "slack/T/C/none")
	if err != nil || len(msgs) != 0 {
		t.Errorf("Messages of a missing thread = %v, %v; want none, nil", msgs, err)
	}
	if _, err := s.Thread(context.Background(), "slack/T/C/none"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Thread of a missing thread: error = %v, want ErrNotFound", err)
	}
}

func TestReset(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	key := conversation.ThreadKey("discord/G1/C1/T1")
	other := conversation.ThreadKey("discord/G1/C1/T2")
	mustAppend(t, s, key, "one", "two")
	mustAppend(t, s, other, "elsewhere")

	if err := s.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	if got := texts(t, s, key); len(got) != 0 {
		t.Errorf("after Reset messages = %v, want none", got)
	}
	added := mustAppend(t, s, key, "three")
	if added[0].Seq != 3 {
		t.Errorf("Seq after Reset = %d, want 3 (sequence continues)", added[0].Seq)
	}
	if err := s.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, key, "four", "five")
	if got, want := texts(t, s, key), []string{"four", "five"}; !reflect.DeepEqual(got, want) {
		t.Errorf("generation 2 messages = %v, want %v", got, want)
	}
	if got, want := texts(t, s, other), []string{"elsewhere"}; !reflect.DeepEqual(got, want) {
		t.Errorf("other thread messages = %v, want %v", got, want)
	}
	th, err := s.Thread(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if th.Generation != 2 {
		t.Errorf("Generation = %d, want 2", th.Generation)
	}
	if err := s.Reset(ctx, "discord/G1/C1/missing"); err != nil {
		t.Errorf("Reset of a missing thread: %v", err)
	}
	if _, err := s.Thread(ctx, "discord/G1/C1/missing"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Reset created a missing thread: %v", err)
	}
}

func TestSetActive(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	tests := []struct {
		name   string
		key    conversation.ThreadKey
		before func(key conversation.ThreadKey)
		active bool
	}{
		{"LeaveExisting", "slack/T/C/1", func(k conversation.ThreadKey) { mustAppend(t, s, k, "hi") }, false},
		{"FollowMissing", "slack/T/C/2", func(conversation.ThreadKey) {}, true},
		{"LeaveMissing", "slack/T/C/3", func(conversation.ThreadKey) {}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.before(tt.key)
			if err := s.SetActive(ctx, tt.key, tt.active); err != nil {
				t.Fatal(err)
			}
			th, err := s.Thread(ctx, tt.key)
			if err != nil {
				t.Fatal(err)
			}
			if th.Active != tt.active || th.Key != tt.key {
				t.Errorf("thread = %+v, want key %s active %t", th, tt.key, tt.active)
			}
		})
	}
	t.Run("AppendKeepsInactive", func(t *testing.T) {
		mustAppend(t, s, "slack/T/C/1", "again")
		th, err := s.Thread(ctx, "slack/T/C/1")
		if err != nil {
			t.Fatal(err)
		}
		if th.Active {
			t.Error("Append re-activated a thread the bot left")
		}
	})
}

func TestRefs(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	a, b := conversation.ThreadKey("slack/T/C1/100.1"), conversation.ThreadKey("discord/G/C2/555")
	refA := conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "100.2"}
	refB := conversation.MsgRef{Platform: "discord", Channel: "C2", ID: "556"}
	if err := s.IndexRefs(ctx, a, refA, conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "100.3"}); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexRefs(ctx, b, refB); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ref  conversation.MsgRef
		want conversation.ThreadKey
		err  error
	}{
		{"OK", refA, a, nil},
		{"SecondRef", conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "100.3"}, a, nil},
		{"OtherPlatform", refB, b, nil},
		{"ErrNotFoundChannel", conversation.MsgRef{Platform: "slack", Channel: "C9", ID: "100.2"}, "", conversation.ErrNotFound},
		{"ErrNotFoundPlatform", conversation.MsgRef{Platform: "discord", Channel: "C1", ID: "100.2"}, "", conversation.ErrNotFound},
		{"ErrNotFoundID", conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "100.9"}, "", conversation.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ThreadByRef(ctx, tt.ref)
			if !errors.Is(err, tt.err) || got != tt.want {
				t.Errorf("ThreadByRef(%+v) = %q, %v; want %q, %v", tt.ref, got, err, tt.want, tt.err)
			}
		})
	}
	t.Run("ErrInvalidRef", func(t *testing.T) {
		if err := s.IndexRefs(ctx, a, conversation.MsgRef{Platform: "slack", Channel: "C1"}); err == nil {
			t.Error("IndexRefs accepted a ref without id")
		}
		if _, err := s.ThreadByRef(ctx, conversation.MsgRef{Channel: "C1", ID: "100.2"}); err == nil || errors.Is(err, conversation.ErrNotFound) {
			t.Errorf("ThreadByRef of a ref without platform: error = %v", err)
		}
	})
}

func TestAppend_Concurrent(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	const threads, perThread = 16, 20
	var wg sync.WaitGroup
	errs := make(chan error, threads*perThread)
	for i := range threads {
		key := conversation.ThreadKey(fmt.Sprintf("slack/T/C/%d", i))
		for j := range perThread {
			wg.Go(func() {
				msg := conversation.Message{Role: conversation.RoleUser, Text: fmt.Sprintf("%d-%d", i, j)}
				if _, err := s.Append(ctx, key, msg); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range threads {
		key := conversation.ThreadKey(fmt.Sprintf("slack/T/C/%d", i))
		msgs, err := s.Messages(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != perThread {
			t.Fatalf("thread %d has %d messages, want %d", i, len(msgs), perThread)
		}
		seen := map[string]bool{}
		for j, m := range msgs {
			if m.Seq != uint64(j+1) {
				t.Errorf("thread %d message %d Seq = %d, want %d", i, j, m.Seq, j+1)
			}
			seen[m.Text] = true
		}
		for j := range perThread {
			if !seen[fmt.Sprintf("%d-%d", i, j)] {
				t.Errorf("thread %d lost message %d", i, j)
			}
		}
	}
}

// mustAppend appends user messages with the given texts.
func mustAppend(tb testing.TB, s *storage.Store, key conversation.ThreadKey, texts ...string) []conversation.Message {
	tb.Helper()
	msgs := make([]conversation.Message, len(texts))
	for i, text := range texts {
		msgs[i] = conversation.Message{Role: conversation.RoleUser, Text: text}
	}
	out, err := s.Append(context.Background(), key, msgs...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// texts returns the texts of the thread's current messages.
func texts(tb testing.TB, s *storage.Store, key conversation.ThreadKey) []string {
	tb.Helper()
	msgs, err := s.Messages(context.Background(), key)
	if err != nil {
		tb.Fatal(err)
	}
	out := []string{}
	for _, m := range msgs {
		out = append(out, m.Text)
	}
	return out
}

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// equalJSON compares values by their JSON form, which is what the store keeps.
func equalJSON(tb testing.TB, a, b any) bool {
	tb.Helper()
	return mustJSON(tb, a) == mustJSON(tb, b)
}
