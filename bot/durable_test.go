package bot_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/bot/bottest"
	"kimibot/conversation"
	"kimibot/internal/testkit"
	"kimibot/storage"
)

// crashState writes into the database at path what a process killed in
// the middle of answering ev leaves: the stored event, begun attempts
// times, and the record of a reply whose message ref was posted.
func crashState(tb testing.TB, path string, ev bot.Event, attempts int, ref bot.MsgRef) {
	tb.Helper()
	s, err := storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	payload, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	item := conversation.InboxItem{ID: ev.DedupeKeys[0], Thread: ev.Thread.Key(), DedupeKeys: ev.DedupeKeys, Payload: payload}
	if dup, err := s.Accept(ctx, item); dup || err != nil {
		tb.Fatalf("accept: dup %v, %v", dup, err)
	}
	for range attempts {
		if _, err := s.Begin(ctx, item.ID); err != nil {
			tb.Fatal(err)
		}
	}
	err = s.OpenReply(ctx, conversation.ReplyRecord{ID: "r1", Thread: ev.Thread.Key(), Item: item.ID, Platform: "test",
		Refs: []bot.MsgRef{ref}, Mode: conversation.ReplyModeMessage})
	if err != nil {
		tb.Fatal(err)
	}
}

// MustStartOn starts the engine on an existing database.
func MustStartOn(tb testing.TB, path string) *harness {
	tb.Helper()
	return MustStart(tb, testkit.Options{DBPath: path})
}

// assertNothingLeft checks that no stored event or open reply remains.
func assertNothingLeft(tb testing.TB, h *harness) {
	tb.Helper()
	ctx := testCtx(tb)
	if items, err := h.Store.Pending(ctx); err != nil || len(items) != 0 {
		tb.Errorf("stored events left: %d (%v)", len(items), err)
	}
	if open, err := h.Store.OpenReplies(ctx); err != nil || len(open) != 0 {
		tb.Errorf("open replies left: %d (%v)", len(open), err)
	}
}

func TestCrashLeftReplyIsFinishedAndQuestionAnsweredOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.db")
	ev := message("TC1", "where is my order?")
	frozen := bot.MsgRef{Platform: "test", Channel: "C1", ID: "m-old"}
	crashState(t, path, ev, 1, frozen)

	h := MustStartOn(t, path)
	h.Kimi.Enqueue(kimitest.Response{Content: "It ships tomorrow."})
	done, err := h.p.WaitDone(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := done[0].Text(); got != "It ships tomorrow." {
		t.Errorf("answer after restart = %q", got)
	}
	in := h.p.Interrupts()
	if len(in) != 1 || in[0].Ref != frozen || !strings.Contains(in[0].Notice, "interrupted by a restart") {
		t.Fatalf("interrupted replies finished = %+v, want the frozen one with a notice", in)
	}
	h.WaitIdle(t)
	if n := len(h.Kimi.ChatRequests()); n != 1 {
		t.Errorf("Kimi requests = %d, want 1", n)
	}
	if n := len(h.p.Replies()); n != 1 {
		t.Errorf("replies = %d, want exactly one new answer", n)
	}
	assertNothingLeft(t, h)
}

func TestSecondCrashGivesUpWithNotice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash2.db")
	ev := message("TC2", "summarize this")
	crashState(t, path, ev, 2, bot.MsgRef{Platform: "test", Channel: "C1", ID: "m-old"})

	h := MustStartOn(t, path)
	done, err := h.p.WaitDone(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if f := done[0].Failure(); !strings.Contains(f, "restarted twice") {
		t.Errorf("notice = %q, want one saying the bot gave up", f)
	}
	h.WaitIdle(t)
	if n := len(h.Kimi.ChatRequests()); n != 0 {
		t.Errorf("Kimi requests = %d, want none", n)
	}
	assertNothingLeft(t, h)
}

func TestShutdownInterruptsAndNextStartAnswersAgain(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) { c.ShutdownGrace = 50 * time.Millisecond }})
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	h.Kimi.Enqueue(kimitest.Response{Content: "The first half of an answer, then", ChunkSize: 4, Hold: hold})
	if err := h.p.Send(testCtx(t), message("TS1", "tell me a story")); err != nil {
		t.Fatal(err)
	}
	if err := h.p.WaitFirstText(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}

	p2 := bottest.NewPlatform("test")
	s2 := h.Restart(t, p2)
	first := h.p.Replies()[0]
	if f := first.Failure(); !strings.Contains(f, "restarting") || !strings.Contains(first.Text(), "first half") {
		t.Fatalf("interrupted reply = %q then %q, want its text and a restart notice", first.Text(), f)
	}
	h2 := &harness{Stack: s2, p: p2, logs: h.logs}
	h2.Kimi.Enqueue(kimitest.Response{Content: "Once upon a time."})
	done, err := p2.WaitDone(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := done[0].Text(); got != "Once upon a time." {
		t.Errorf("answer after restart = %q", got)
	}
	if in := p2.Interrupts(); len(in) != 0 {
		t.Errorf("replies finished as interrupted after a clean shutdown: %+v", in)
	}
	h2.WaitIdle(t)
	assertNothingLeft(t, h2)
}

func TestStoredEventsAreNeverDroppedWhenAThreadIsBusy(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) { c.QueueSize = 1 }})
	hold := make(chan struct{})
	h.Kimi.Enqueue(kimitest.Response{Content: "answer 0", Hold: hold})
	const n = 5
	for i := 1; i < n; i++ {
		h.Kimi.Enqueue(kimitest.Response{Content: "answer " + string(rune('0'+i))})
	}
	ctx := testCtx(t)
	for i := range n {
		if err := h.p.Send(ctx, message("TB1", "question "+string(rune('0'+i)))); err != nil {
			t.Fatalf("message %d refused: %v", i, err)
		}
	}
	close(hold)
	done, err := h.p.WaitDone(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range done {
		if want := "answer " + string(rune('0'+i)); r.Text() != want {
			t.Errorf("reply %d = %q, want %q", i, r.Text(), want)
		}
	}
	h.WaitIdle(t)
	assertNothingLeft(t, h)
}

func TestSilentModelShowsStillWorking(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) { c.StillWorkingAfter = 20 * time.Millisecond }})
	h.Kimi.Enqueue(kimitest.Response{Content: "Done thinking.", FirstDelay: 300 * time.Millisecond})
	r := h.ask(t, message("TW1", "hard question"), 1)
	if r.Text() != "Done thinking." || !containsStatus(r.Statuses(), "still working") {
		t.Fatalf("reply %q with statuses %q, want a still-working status", r.Text(), r.Statuses())
	}
}
