package bot_test

import (
	"testing"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/internal/testkit"
	"kimibot/storage/storagetest"
)

// TestAnsweredTurnLeavesEverythingStored answers a question that needs a
// tool call, with the end of the turn stored in one transaction (the
// default) and with a write per record (no TurnStore), and checks what
// each leaves: the whole conversation, one usage record per model call,
// the reply's message indexed to the thread, and no stored event or open
// reply record.
func TestAnsweredTurnLeavesEverythingStored(t *testing.T) {
	for _, tt := range []struct {
		name      string
		configure func(*bot.Config)
	}{
		{"one transaction", nil},
		{"a write per record", func(c *bot.Config) { c.Turns = nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := MustStart(t, testkit.Options{Configure: tt.configure})
			h.Kimi.Enqueue(
				kimitest.Response{ToolCalls: []kimitest.ToolCall{
					{ID: "lookup_order:0", Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}},
					Usage: &kimitest.Usage{PromptTokens: 100, CompletionTokens: 10}},
				kimitest.Response{Content: "Order A1001 has shipped.",
					Usage: &kimitest.Usage{PromptTokens: 200, CompletionTokens: 20}},
			)
			r := h.ask(t, message("TE", "where is A1001?"), 1)
			if r.Text() != "Order A1001 has shipped." {
				t.Fatalf("text = %q (failure %q)", r.Text(), r.Failure())
			}
			h.WaitIdle(t)
			ctx := testCtx(t)
			key := threadRef("TE").Key()
			msgs, err := h.Store.Messages(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			var roles []conversation.Role
			for _, m := range msgs {
				roles = append(roles, m.Role)
			}
			if len(msgs) != 4 || msgs[3].Text != "Order A1001 has shipped." || msgs[3].Seq != 4 {
				t.Fatalf("stored roles %v, want user, assistant call, tool result, answer (Seq 4)", roles)
			}
			u, n, err := h.Store.UsageSum(ctx, conversation.UsageFilter{Thread: string(key)})
			if err != nil || n != 2 || u.PromptTokens != 300 || u.CompletionTokens != 30 {
				t.Errorf("usage = %+v in %d records (%v), want both calls: 300 prompt, 30 completion tokens", u, n, err)
			}
			got, err := h.Store.ThreadByRef(ctx, bot.MsgRef{Platform: "test", Channel: "C1", ID: r.ID()})
			if err != nil || got != key {
				t.Errorf("reply message belongs to %q (%v), want %q", got, err, key)
			}
			assertNothingLeft(t, h)
		})
	}
}

// TestTurnStoreOtherThanThreadStoreIsNotUsed gives the engine a turn store
// that is not its thread store: the answer must still land in the thread
// store, with the event settled there.
func TestTurnStoreOtherThanThreadStoreIsNotUsed(t *testing.T) {
	other := storagetest.MustOpen(t)
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) { c.Turns = other }})
	h.Kimi.Enqueue(kimitest.Response{Content: "Hello."})
	if r := h.ask(t, message("TO", "hi"), 1); r.Text() != "Hello." {
		t.Fatalf("text = %q (failure %q)", r.Text(), r.Failure())
	}
	h.WaitIdle(t)
	msgs, err := h.Store.Messages(testCtx(t), threadRef("TO").Key())
	if err != nil || len(msgs) != 2 || msgs[1].Text != "Hello." {
		t.Fatalf("thread store holds %d messages (%v), want the question and the answer", len(msgs), err)
	}
	if got, _ := other.Messages(testCtx(t), threadRef("TO").Key()); len(got) != 0 {
		t.Errorf("the other store got %d messages", len(got))
	}
	assertNothingLeft(t, h)
}
