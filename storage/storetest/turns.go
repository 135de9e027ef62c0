package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"kimibot/conversation"
)

// testEndTurn stores a turn's end in one call and checks each part of it,
// then checks that an end that cannot be stored writes nothing.
func testEndTurn(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := context.Background()
	const k conversation.ThreadKey = "slack/T1/C1/1.0"
	MustAccept(t, s, Item("e1", k, "d1"))
	MustAccept(t, s, Item("e2", k, "d2"))
	for _, id := range []string{"r1", "r2"} {
		if err := s.OpenReply(ctx, conversation.ReplyRecord{ID: id, Thread: k, Platform: "slack"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, k, conversation.Message{Role: conversation.RoleUser, Text: "question"}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ref := conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "2.0"}
	out, err := s.EndTurn(ctx, conversation.TurnEnd{Thread: k,
		Messages: []conversation.Message{{Role: conversation.RoleAssistant, Text: "answer"}},
		Refs:     []conversation.MsgRef{ref, {Platform: "slack", Channel: "C1", ID: "3.0"}},
		Usage: []conversation.UsageRecord{{Thread: string(k), Usage: conversation.Usage{PromptTokens: 10}},
			{Time: at, Thread: string(k), Usage: conversation.Usage{CompletionTokens: 5}}},
		Reply: "r1", Item: "e1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Seq != 2 || out[0].Time.IsZero() {
		t.Fatalf("EndTurn returned %+v; want the answer with Seq 2 and a time", out)
	}
	mustEnd(t, s, k, "question,answer", []string{"e2"}, []string{"r2"}, 2)
	if got, err := s.ThreadByRef(ctx, ref); err != nil || got != k {
		t.Errorf("ThreadByRef = %q, %v; want %q", got, err, k)
	}
	if u, n, err := s.UsageSum(ctx, conversation.UsageFilter{Thread: string(k), Since: at, Until: at.Add(time.Second)}); err != nil || n != 1 || u.CompletionTokens != 5 {
		t.Errorf("usage at its own time = %+v, %d, %v; want the record with 5 completion tokens", u, n, err)
	}

	_, err = s.EndTurn(ctx, conversation.TurnEnd{Thread: k,
		Messages: []conversation.Message{{Role: conversation.RoleAssistant, Text: "lost"}},
		Refs:     []conversation.MsgRef{{Channel: "C1", ID: "4.0"}},
		Usage:    []conversation.UsageRecord{{Thread: string(k)}}, Reply: "r2", Item: "e2"})
	if err == nil {
		t.Fatal("EndTurn stored a ref without a platform")
	}
	mustEnd(t, s, k, "question,answer", []string{"e2"}, []string{"r2"}, 2)

	if _, err := s.EndTurn(ctx, conversation.TurnEnd{Thread: k, Reply: "gone", Item: "gone"}); err != nil {
		t.Errorf("EndTurn of a gone reply and item: %v", err)
	}

	// A thread reset during a turn does not take the turn's answer.
	asked, err := s.Append(ctx, k, conversation.Message{Role: conversation.RoleUser, Text: "again"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(ctx, k); err != nil {
		t.Fatal(err)
	}
	out, err = s.EndTurn(ctx, conversation.TurnEnd{Thread: k, AnswerTo: asked[0].Seq,
		Messages: []conversation.Message{{Role: conversation.RoleAssistant, Text: "stale"}},
		Usage:    []conversation.UsageRecord{{Thread: string(k)}}, Reply: "r2", Item: "e2"})
	if err != nil || len(out) != 0 {
		t.Fatalf("EndTurn after a reset = %+v, %v; want nothing appended", out, err)
	}
	mustEnd(t, s, k, "", nil, nil, 3)
	// In the new generation, an answer to its own question is appended.
	asked, err = s.Append(ctx, k, conversation.Message{Role: conversation.RoleUser, Text: "fresh"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndTurn(ctx, conversation.TurnEnd{Thread: k, AnswerTo: asked[0].Seq,
		Messages: []conversation.Message{{Role: conversation.RoleAssistant, Text: "answer"}}}); err != nil {
		t.Fatal(err)
	}
	mustEnd(t, s, k, "fresh,answer", nil, nil, 3)
}

// mustEnd checks the thread's texts, the pending items, the open replies
// and the number of usage records of thread k.
func mustEnd(t *testing.T, s Store, k conversation.ThreadKey, want string, items, replies []string, usage int) {
	t.Helper()
	ctx := context.Background()
	msgs, err := s.Messages(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(msgs); got != want {
		t.Errorf("thread = %s, want %s", got, want)
	}
	if got := PendingIDs(t, s); !slices.Equal(got, items) {
		t.Errorf("pending = %v, want %v", got, items)
	}
	open, err := s.OpenReplies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range open {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, replies) {
		t.Errorf("open replies = %v, want %v", ids, replies)
	}
	if _, n, err := s.UsageSum(ctx, conversation.UsageFilter{Thread: string(k)}); err != nil || n != usage {
		t.Errorf("usage records = %d, %v; want %d", n, err, usage)
	}
}
