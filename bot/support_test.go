package bot_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/bot/bottest"
	"kimibot/conversation"
	"kimibot/internal/testkit"
)

var (
	approver  = bot.User{ID: "UAPPROVER", Name: "Rita"}
	approver2 = bot.User{ID: "UAPPROVER2", Name: "Sam"}
	stranger  = bot.User{ID: "USTRANGER", Name: "Eve"}
)

// supportConfig routes channel CSUP to review channel CREV on platform "test".
func supportConfig(c *bot.Config) {
	c.SupportRoutes = []bot.Route{{Platform: "test", From: "CSUP", To: "CREV"}}
	c.Approvers = []bot.Principal{{Platform: "test", Kind: "user", ID: approver.ID},
		{Platform: "test", Kind: "user", ID: approver2.ID}}
}

// customer returns a customer's message in the support channel.
func customer(thread, text string) bot.Event {
	ev := message(thread, text)
	ev.Thread.Channel = "CSUP"
	ev.User = bot.User{ID: "UCUST", Name: "Carla"}
	ev.Addressed = false
	return ev
}

// MustDraft sends a customer message and waits for its pending card.
func MustDraft(tb testing.TB, h *harness, ev bot.Event, n int) bottest.CardState {
	tb.Helper()
	ctx := testCtx(tb)
	if err := h.p.Send(ctx, ev); err != nil {
		tb.Fatal(err)
	}
	_, err := h.p.WaitCards(ctx, n, nil)
	if err != nil {
		tb.Fatal(err)
	}
	h.WaitIdle(tb)
	return h.p.Cards()[n-1]
}

func act(tb testing.TB, h *harness, kind bot.ActionKind, id string, u bot.User, text string) error {
	tb.Helper()
	err := h.Engine.Desk().HandleAction(testCtx(tb), bot.Action{Kind: kind, DraftID: id, User: u, Platform: "test", Text: text,
		DedupeKey: "interaction-" + string(kind) + "-" + u.ID + "-" + id})
	h.WaitIdle(tb)
	return err
}

func TestDraftIsReviewedBeforeAnythingReachesTheCustomer(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: supportConfig})
	h.Kimi.Enqueue(
		kimitest.Response{Reasoning: "Look it up.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
		kimitest.Response{Content: "Your order A1001 shipped with DHL."},
	)
	card := MustDraft(t, h, customer("S1", "where is my order A1001?"), 1)
	if n := len(h.p.Replies()); n != 0 {
		t.Fatalf("%d replies opened in the customer channel before approval", n)
	}
	c := card.Card
	if card.Where.Channel != "CREV" || c.Question != "where is my order A1001?" ||
		c.Draft != "Your order A1001 shipped with DHL." || c.Model != "kimi-k2.6" || c.CustomerName != "Carla" {
		t.Fatalf("card = %+v in %s", c, card.Where.Channel)
	}
	if len(c.ToolCalls) != 1 || c.ToolCalls[0].Name != "lookup_order" || !strings.Contains(c.ToolCalls[0].Result, "DHL") {
		t.Fatalf("card tool calls = %+v", c.ToolCalls)
	}
	if got := actionsOf(c); got != "approve,edit,regenerate,reject" {
		t.Fatalf("card actions = %s", got)
	}
	if len(h.p.Posts()) != 0 {
		t.Fatal("something was posted before approval")
	}

	if err := act(t, h, bot.ActionApprove, c.DraftID, stranger, ""); !errors.Is(err, bot.ErrNotAllowed) {
		t.Fatalf("stranger's approve = %v, want ErrNotAllowed", err)
	}
	if d, _ := h.Engine.Desk().Draft(testCtx(t), c.DraftID); d.State != conversation.DraftPending || len(h.p.Posts()) != 0 {
		t.Fatalf("a non-approver changed the draft: %s, %d posts", d.State, len(h.p.Posts()))
	}

	if err := act(t, h, bot.ActionApprove, c.DraftID, approver, ""); err != nil {
		t.Fatal(err)
	}
	posts := h.p.Posts()
	if len(posts) != 1 || posts[0].Text != "Your order A1001 shipped with DHL." || posts[0].Where.Channel != "CSUP" ||
		posts[0].Where.Thread != "S1" {
		t.Fatalf("posts = %+v", posts)
	}
	final := h.p.Cards()[0].Card
	if len(final.Actions) != 0 || !strings.Contains(final.Outcome, "Approved by Rita") {
		t.Fatalf("card after approval = %+v", final)
	}
	// The sent reply is part of the conversation for the next draft.
	msgs, _ := h.Store.Messages(testCtx(t), card.Card.Thread.Key())
	if last := msgs[len(msgs)-1]; last.Role != conversation.RoleAssistant || last.Text != posts[0].Text {
		t.Fatalf("last stored message = %+v", last)
	}
}

func actionsOf(c bot.Card) string {
	var s []string
	for _, a := range c.Actions {
		s = append(s, string(a))
	}
	return strings.Join(s, ",")
}

func TestApproveTwiceAndTwoApproversSendOnce(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: supportConfig})
	card := MustDraft(t, h, customer("S2", "hello?"), 1)
	var wg sync.WaitGroup
	for i, u := range []bot.User{approver, approver2, approver, approver2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = h.Engine.Desk().HandleAction(testCtx(t), bot.Action{Kind: bot.ActionApprove, DraftID: card.Card.DraftID,
				User: u, Platform: "test", DedupeKey: "click-" + string(rune('a'+i))})
		}()
	}
	wg.Wait()
	h.WaitIdle(t)
	if n := len(h.p.Posts()); n != 1 {
		t.Fatalf("posts = %d, want exactly one", n)
	}
	// A platform retry of the same interaction is dropped too.
	_ = act(t, h, bot.ActionApprove, card.Card.DraftID, approver, "")
	if n := len(h.p.Posts()); n != 1 {
		t.Fatalf("posts after a retried click = %d", n)
	}
}

func TestEditPostsEditedTextAndAuditKeepsBoth(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: supportConfig})
	h.Kimi.Enqueue(kimitest.Response{Content: "Hi Carla.\nYour refund is on its way."})
	card := MustDraft(t, h, customer("S3", "refund?"), 1)
	edited := "Hi Carla.\nYour refund was sent today and arrives in 3 days."
	if err := act(t, h, bot.ActionEdit, card.Card.DraftID, approver, edited); err != nil {
		t.Fatal(err)
	}
	if posts := h.p.Posts(); len(posts) != 1 || posts[0].Text != edited {
		t.Fatalf("posts = %+v, want the edited text", posts)
	}
	audit, err := h.Store.Audit(testCtx(t), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range audit {
		if r.Action == "edit" && r.DraftID == card.Card.DraftID {
			found = true
			if r.DraftText != "Hi Carla.\nYour refund is on its way." || r.SentText != edited || r.By != approver.ID ||
				!strings.Contains(r.Diff, "- Your refund is on its way.") || !strings.Contains(r.Diff, "+ Your refund was sent") {
				t.Fatalf("audit record = %+v", r)
			}
		}
	}
	if !found {
		t.Fatalf("no edit in the audit: %+v", audit)
	}
}

func TestRejectPostsNothing(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: supportConfig})
	card := MustDraft(t, h, customer("S4", "can I get a discount?"), 1)
	if err := act(t, h, bot.ActionReject, card.Card.DraftID, approver, "we do not discount"); err != nil {
		t.Fatal(err)
	}
	if n := len(h.p.Posts()); n != 0 {
		t.Fatalf("posts = %d after reject", n)
	}
	c := h.p.Cards()[0].Card
	if !strings.Contains(c.Outcome, "Rejected by Rita") || !strings.Contains(c.Outcome, "we do not discount") || len(c.Actions) != 0 {
		t.Fatalf("card after reject = %+v", c)
	}
	if err := act(t, h, bot.ActionApprove, card.Card.DraftID, approver2, ""); err != nil {
		t.Fatal(err)
	}
	if n := len(h.p.Posts()); n != 0 {
		t.Fatalf("a rejected draft was sent after a late approve (%d posts)", n)
	}
}

func TestRegenerateReplacesDraft(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: supportConfig})
	h.Kimi.Enqueue(kimitest.Response{Content: "First draft."}, kimitest.Response{Content: "Shorter draft."})
	card := MustDraft(t, h, customer("S5", "tell me about shipping"), 1)
	if err := act(t, h, bot.ActionRegenerate, card.Card.DraftID, approver, "make it shorter"); err != nil {
		t.Fatal(err)
	}
	cards := h.p.Cards()
	if len(cards) != 1 {
		t.Fatalf("cards = %d, want the same card redrawn", len(cards))
	}
	c := cards[0].Card
	if c.Draft != "Shorter draft." || c.DraftID == card.Card.DraftID || len(c.Actions) != 4 {
		t.Fatalf("card after regenerate = %+v", c)
	}
	reqs := h.Kimi.ChatRequests()
	last := reqs[len(reqs)-1].Messages
	if !strings.Contains(last[len(last)-1].Text(), "make it shorter") {
		t.Fatalf("the instruction did not reach the model: %q", last[len(last)-1].Text())
	}
	old, _ := h.Engine.Desk().Draft(testCtx(t), card.Card.DraftID)
	if old.State != conversation.DraftSuperseded {
		t.Fatalf("old draft state = %s", old.State)
	}
	if err := act(t, h, bot.ActionApprove, c.DraftID, approver, ""); err != nil {
		t.Fatal(err)
	}
	if posts := h.p.Posts(); len(posts) != 1 || posts[0].Text != "Shorter draft." {
		t.Fatalf("posts = %+v", posts)
	}
}

func TestNewerCustomerMessageSupersedesDraft(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: supportConfig})
	first := MustDraft(t, h, customer("S6", "hello"), 1)
	MustDraft(t, h, customer("S6", "hello? anyone?"), 2)
	c := h.p.Cards()[0].Card
	if c.State != conversation.DraftSuperseded || !strings.Contains(c.Outcome, "Superseded") || len(c.Actions) != 0 {
		t.Fatalf("first card = %+v", c)
	}
	if err := act(t, h, bot.ActionApprove, first.Card.DraftID, approver, ""); err != nil {
		t.Fatal(err)
	}
	if n := len(h.p.Posts()); n != 0 {
		t.Fatalf("a superseded draft was sent (%d posts)", n)
	}
}

func TestPendingDraftSurvivesRestart(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: supportConfig})
	card := MustDraft(t, h, customer("S7", "still there?"), 1)
	p2 := bottest.NewPlatform("test")
	h2 := &harness{Stack: h.Restart(t, p2), p: p2, logs: h.logs}
	if err := act(t, h2, bot.ActionApprove, card.Card.DraftID, approver, ""); err != nil {
		t.Fatal(err)
	}
	if posts := p2.Posts(); len(posts) != 1 || posts[0].Text != "You said: still there?" {
		t.Fatalf("posts after restart = %+v", posts)
	}
}

func TestCrashBetweenSendingAndSentEndsWithOneReply(t *testing.T) {
	for _, posted := range []bool{false, true} {
		name := map[bool]string{false: "NotYetPosted", true: "AlreadyPosted"}[posted]
		t.Run(name, func(t *testing.T) {
			h := MustStart(t, testkit.Options{Configure: supportConfig})
			card := MustDraft(t, h, customer("S8", "order?"), 1)
			ctx := testCtx(t)
			// The crash: the draft is in "sending"; the reply may already be out.
			d, err := h.Store.UpdateDraft(ctx, card.Card.DraftID, func(d *conversation.Draft) (*conversation.AuditRecord, error) {
				d.State, d.SentText = conversation.DraftSending, d.Text
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			p2 := bottest.NewPlatform("test")
			if posted {
				if _, err := p2.Post(ctx, card.Card.Thread, d.SentText, d.ID); err != nil {
					t.Fatal(err)
				}
			}
			h2 := &harness{Stack: h.Restart(t, p2), p: p2, logs: h.logs}
			got := waitDraftState(t, h2, d.ID, conversation.DraftSent)
			if n := len(p2.Posts()); n != 1 {
				t.Fatalf("posts = %d, want exactly one", n)
			}
			if got.Sent.ID != p2.Posts()[0].Ref.ID {
				t.Fatalf("draft records reply %s, posted %s", got.Sent.ID, p2.Posts()[0].Ref.ID)
			}
		})
	}
}

// waitDraftState waits for the engine to settle and checks draft id is in state.
func waitDraftState(tb testing.TB, h *harness, id string, state conversation.DraftState) conversation.Draft {
	tb.Helper()
	h.WaitIdle(tb)
	d, err := h.Engine.Desk().Draft(testCtx(tb), id)
	if err != nil {
		tb.Fatal(err)
	}
	if d.State != state {
		tb.Fatalf("draft %s is %s, want %s", id, d.State, state)
	}
	return d
}

func TestToolNeedingApprovalRunsOnlyAfterApproval(t *testing.T) {
	for _, approve := range []bool{true, false} {
		name := map[bool]string{true: "Approved", false: "Rejected"}[approve]
		t.Run(name, func(t *testing.T) {
			h := MustStart(t, testkit.Options{Configure: supportConfig})
			if err := h.Tools.SetNeedsApproval("lookup_order", true); err != nil {
				t.Fatal(err)
			}
			h.Kimi.Enqueue(
				kimitest.Response{Reasoning: "Need the order.", ToolCalls: []kimitest.ToolCall{
					{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
				kimitest.Response{Content: "Done."},
			)
			r := h.ask(t, message("TA", "where is A1001?"), 1)
			h.WaitIdle(t)
			if !strings.Contains(r.Text(), "Waiting for an approver") {
				t.Fatalf("reply while waiting = %q", r.Text())
			}
			cards := h.p.Cards()
			if len(cards) != 1 || cards[0].Card.Kind != conversation.DraftTool || cards[0].Where.Thread != "TA" ||
				cards[0].Card.ToolCalls[0].Arguments != `{"order_id":"A1001"}` || actionsOf(cards[0].Card) != "approve,reject" {
				t.Fatalf("tool card = %+v", cards)
			}
			if n := len(h.Orders.Requests()); n != 0 {
				t.Fatalf("the tool ran %d times before approval", n)
			}
			kind, text := bot.ActionApprove, ""
			if !approve {
				kind, text = bot.ActionReject, "not this customer's order"
			}
			if err := act(t, h, kind, cards[0].Card.DraftID, approver, text); err != nil {
				t.Fatal(err)
			}
			done, err := h.p.WaitDone(testCtx(t), 2)
			if err != nil {
				t.Fatal(err)
			}
			if done[1].Text() != "Done." {
				t.Fatalf("continued answer = %q (failure %q)", done[1].Text(), done[1].Failure())
			}
			wantRuns := map[bool]int{true: 1, false: 0}[approve]
			if n := len(h.Orders.Requests()); n != wantRuns {
				t.Fatalf("tool ran %d times, want %d", n, wantRuns)
			}
			reqs := h.Kimi.ChatRequests()
			tool := reqs[len(reqs)-1].Messages[len(reqs[len(reqs)-1].Messages)-1]
			if approve != strings.Contains(tool.Text(), "DHL") || !approve && !strings.Contains(tool.Text(), "not this customer's order") {
				t.Fatalf("tool result sent to the model = %q", tool.Text())
			}
		})
	}
}

func TestApproverCheck(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) {
		c.Approvers = []bot.Principal{{Platform: "test", Kind: "user", ID: "U1"},
			{Platform: "test", Kind: "group", ID: "SREVIEW"}, {Platform: "test", Kind: "role", ID: "R9"},
			{Platform: "other", Kind: "user", ID: "U2"}}
	}})
	h.p.SetGroup("SREVIEW", "U3")
	cases := []struct {
		name string
		user bot.User
		want bool
	}{
		{"User", bot.User{ID: "U1"}, true},
		{"GroupMember", bot.User{ID: "U3"}, true},
		{"Role", bot.User{ID: "U4", Roles: []string{"R1", "R9"}}, true},
		{"OtherPlatform", bot.User{ID: "U2"}, false},
		{"OtherRole", bot.User{ID: "U5", Roles: []string{"R1"}}, false},
		{"Nobody", bot.User{ID: "U6"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.Engine.Desk().CanApprove(testCtx(t), "test", tc.user); got != tc.want {
				t.Fatalf("CanApprove(%+v) = %v, want %v", tc.user, got, tc.want)
			}
		})
	}
}

func TestPendingListAndSupportCommand(t *testing.T) {
	admin := bot.User{ID: "UADMIN"}
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) {
		supportConfig(c)
		c.Admins = []bot.Principal{{Platform: "test", Kind: "user", ID: admin.ID}}
	}})
	ctx := testCtx(t)
	where := bot.ThreadRef{Platform: "test", Workspace: "W1", Channel: "CHELP"}
	if r := h.Engine.Command(ctx, bot.Command{Thread: where, User: stranger, Name: "support", Args: []string{"CREV2"}}); !strings.Contains(r.Text, "Only admins") {
		t.Fatalf("non-admin support = %q", r.Text)
	}
	if r := h.Engine.Command(ctx, bot.Command{Thread: where, User: admin, Name: "support", Args: []string{"CREV2"}}); !r.Public {
		t.Fatalf("support reply = %+v", r)
	}
	ev := customer("S9", "my parcel is late")
	ev.Thread.Channel = "CHELP"
	card := MustDraft(t, h, ev, 1)
	if card.Where.Channel != "CREV2" {
		t.Fatalf("card went to %s, want the runtime route CREV2", card.Where.Channel)
	}
	r := h.Engine.Command(ctx, bot.Command{Thread: where, User: approver, Name: "pending"})
	if !strings.Contains(r.Text, "1 waiting") || !strings.Contains(r.Text, "my parcel is late") ||
		!strings.Contains(r.Text, "https://chat.example/CREV2/"+card.Ref.ID) || r.Public {
		t.Fatalf("pending = %+v", r)
	}
	if r := h.Engine.Command(ctx, bot.Command{Thread: where, User: stranger, Name: "pending"}); !strings.Contains(r.Text, "Only approvers") {
		t.Fatalf("stranger's pending = %q", r.Text)
	}
}
