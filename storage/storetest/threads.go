package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"kimibot/conversation"
)

func testThreads(t *testing.T, open Opener) {
	c := newClock(t0)
	s := open(t, Options{Now: c.Now})
	ctx := context.Background()
	const key = conversation.ThreadKey("slack/T1/C1/100.1")
	if _, err := s.Thread(ctx, key); !errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("Thread of a new key: %v, want ErrNotFound", err)
	}
	if msgs, err := s.Messages(ctx, key); err != nil || len(msgs) != 0 {
		t.Fatalf("Messages of a new key = %v, %v", msgs, err)
	}
	got, err := s.Append(ctx, key, conversation.Message{Role: conversation.RoleUser, Text: "hi"},
		conversation.Message{Role: conversation.RoleAssistant, Text: "hello"})
	if err != nil || len(got) != 2 || got[0].Seq == 0 || got[1].Seq <= got[0].Seq || !got[0].Time.Equal(t0) {
		t.Fatalf("Append = %+v, %v; want increasing Seq and the store's time", got, err)
	}
	th, err := s.Thread(ctx, key)
	if err != nil || !th.Active || th.Generation != 0 || !th.Created.Equal(t0) {
		t.Fatalf("Thread = %+v, %v; want active generation 0 created at t0", th, err)
	}
	c.Advance(1)
	if _, err := s.Append(ctx, key, conversation.Message{Role: conversation.RoleUser, Text: "more"}); err != nil {
		t.Fatal(err)
	}
	msgs, _ := s.Messages(ctx, key)
	if texts(msgs) != "hi,hello,more" {
		t.Fatalf("Messages = %s", texts(msgs))
	}
	if err := s.SetActive(ctx, key, false); err != nil {
		t.Fatal(err)
	}
	if th, _ := s.Thread(ctx, key); th.Active {
		t.Error("thread still active after SetActive(false)")
	}
	if err := s.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := s.Messages(ctx, key); len(msgs) != 0 {
		t.Errorf("Messages after Reset = %s, want none", texts(msgs))
	}
	after, _ := s.Append(ctx, key, conversation.Message{Role: conversation.RoleUser, Text: "fresh"})
	if msgs, _ := s.Messages(ctx, key); texts(msgs) != "fresh" || after[0].Seq <= got[1].Seq {
		t.Errorf("after reset: messages %s, seq %d", texts(msgs), after[0].Seq)
	}
	if th, _ := s.Thread(ctx, key); th.Generation != 1 {
		t.Errorf("generation = %d, want 1", th.Generation)
	}
	if err := s.Reset(ctx, "slack/T1/C1/none"); err != nil {
		t.Errorf("Reset of a missing thread: %v", err)
	}
	if err := s.SetActive(ctx, "slack/T1/C1/new", false); err != nil {
		t.Fatal(err)
	}
	if th, err := s.Thread(ctx, "slack/T1/C1/new"); err != nil || th.Active {
		t.Errorf("SetActive(false) on a new thread = %+v, %v", th, err)
	}
}

func testRefs(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := context.Background()
	ref := conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "100.2"}
	if _, err := s.ThreadByRef(ctx, ref); !errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("ThreadByRef before indexing: %v", err)
	}
	if err := s.IndexRefs(ctx, "k/1", ref); err != nil {
		t.Fatal(err)
	}
	if k, err := s.ThreadByRef(ctx, ref); err != nil || k != "k/1" {
		t.Fatalf("ThreadByRef = %q, %v", k, err)
	}
	if err := s.IndexRefs(ctx, "k/2", ref); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.ThreadByRef(ctx, ref); k != "k/2" {
		t.Errorf("re-indexed ref belongs to %q, want k/2", k)
	}
	other := ref
	other.Channel = "C2"
	if _, err := s.ThreadByRef(ctx, other); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("ref in another channel: %v, want ErrNotFound", err)
	}
	if err := s.IndexRefs(ctx, "k/1", conversation.MsgRef{Platform: "slack"}); err == nil {
		t.Error("IndexRefs accepted a ref without an id")
	}
}

func testConcurrentAppend(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := context.Background()
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Append(ctx, "k/1", conversation.Message{Text: fmt.Sprintf("%d-%d", w, i)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	msgs, err := s.Messages(ctx, "k/1")
	if err != nil || len(msgs) != writers*each {
		t.Fatalf("Messages = %d, %v; want %d", len(msgs), err, writers*each)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Seq <= msgs[i-1].Seq {
			t.Fatalf("seq not increasing at %d", i)
		}
	}
}

// texts joins the texts of msgs with commas.
func texts(msgs []conversation.Message) string {
	out := ""
	for i, m := range msgs {
		if i > 0 {
			out += ","
		}
		out += m.Text
	}
	return out
}
