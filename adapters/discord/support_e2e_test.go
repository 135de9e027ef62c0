package discord

import (
	"context"
	"strings"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/internal/testkit"
)

// reviewerRole is the Discord role of approvers in support tests.
const reviewerRole = "700000000000000002"

// supportE2E is the whole bot on Discord with a customer channel routed
// to a review channel. Rita approves by user ID, Sam by role; Eve has
// another role and Carla is the customer.
type supportE2E struct {
	*e2e
	guild, customers, reviews string
	carla, rita, sam, eve     discordtest.User
}

func mustSupport(tb testing.TB, opts discordtest.Options) *supportE2E {
	tb.Helper()
	s := &supportE2E{}
	s.e2e = mustE2EWith(tb, opts, func(e *e2e) testkit.Options {
		s.guild = e.fake.AddGuild()
		s.customers = e.fake.AddTextChannel(s.guild, "help-desk")
		s.reviews = e.fake.AddTextChannel(s.guild, "reviews")
		s.carla, s.rita = e.fake.AddUser("carla", false), e.fake.AddUser("rita", false)
		s.sam, s.eve = e.fake.AddUser("sam", false), e.fake.AddUser("eve", false)
		return testkit.Options{Configure: func(c *bot.Config) {
			c.SupportRoutes = []bot.Route{{Platform: "discord", From: s.customers, To: s.reviews}}
			c.Approvers = []bot.Principal{{Platform: "discord", Kind: "user", ID: s.rita.ID},
				{Platform: "discord", Kind: "role", ID: reviewerRole}}
			c.Admins = []bot.Principal{{Platform: "discord", Kind: "role", ID: adminRole}}
		}}
	})
	return s
}

// The reviewers as they click in the review channel.
func (s *supportE2E) asRita() discordtest.Member { return member(s.reviews, s.rita) }
func (s *supportE2E) asSam() discordtest.Member {
	return member(s.reviews, s.sam, "700000000000000042", reviewerRole)
}
func (s *supportE2E) asEve() discordtest.Member {
	return member(s.reviews, s.eve, "700000000000000042")
}

// ask posts a customer's question in the customer channel, without a
// mention, and waits for its card in the review channel.
func (s *supportE2E) ask(tb testing.TB, text string) (question, card discordtest.Message) {
	tb.Helper()
	question = s.fake.SendMessage(discordtest.Incoming{Channel: s.customers, Author: s.carla, Content: text})
	card = s.waitCard(tb, func(c discordtest.Message) bool { return len(c.Buttons()) > 0 })
	return question, card
}

// cards returns the cards in the review channel.
func (s *supportE2E) cards() []discordtest.Message {
	var out []discordtest.Message
	for _, m := range s.fake.BotMessages(s.reviews) {
		if len(m.Embeds) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// waitCard waits until the review channel holds exactly one card and it
// satisfies cond, and for the engine to settle.
func (s *supportE2E) waitCard(tb testing.TB, cond func(discordtest.Message) bool) discordtest.Message {
	tb.Helper()
	var card discordtest.Message
	s.fake.WaitFor(tb, "review card", func() bool {
		cs := s.cards()
		if len(cs) != 1 || !cond(cs[0]) {
			return false
		}
		card = cs[0]
		return true
	})
	s.stack.WaitIdle(tb)
	return card
}

// draftOf returns the draft behind a card, from its Approve button.
func (s *supportE2E) draftOf(tb testing.TB, card discordtest.Message) conversation.Draft {
	tb.Helper()
	for _, b := range card.Buttons() {
		if kind, id, ok := parseCustomID(b.CustomID); ok && kind == bot.ActionApprove {
			d, err := s.stack.Engine.Desk().Draft(context.Background(), id)
			if err != nil {
				tb.Fatal(err)
			}
			return d
		}
	}
	tb.Fatalf("card %s has no Approve button", card.ID)
	return conversation.Draft{}
}

// replies returns what the bot wrote to the customer: in the thread
// started from the question, and in the customer channel itself.
func (s *supportE2E) replies(question discordtest.Message) []string {
	return append(contents(s.fake, question.ID), contents(s.fake, s.customers)...)
}

// outcome is a card's Outcome field, or "".
func outcome(card discordtest.Message) string {
	for _, f := range card.Embeds[0].Fields {
		if f.Name == "Outcome" {
			return f.Value
		}
	}
	return ""
}

func embedField(card discordtest.Message, name string) string {
	for _, f := range card.Embeds[0].Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// privateNotice checks that an interaction was answered at once with a
// private notice.
func privateNotice(tb testing.TB, fake *discordtest.Server, id, want string) {
	tb.Helper()
	st := waitCallback(tb, fake, id)
	if d := decodeCallback(tb, st); st.CallbackType != discordtest.CallbackMessage || d.Flags != ephemeralFlag || d.Content != want {
		tb.Fatalf("answer type %d %+v, want the private notice %q", st.CallbackType, d, want)
	}
}

func TestE2ESupportDraftWaitsForApproval(t *testing.T) {
	t.Parallel()
	s := mustSupport(t, discordtest.Options{})
	s.stack.Kimi.Enqueue(
		kimitest.Response{Reasoning: "Look it up.", ToolCalls: []kimitest.ToolCall{{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
		kimitest.Response{Content: "Your order A1001 shipped with DHL."},
	)
	question, card := s.ask(t, "where is my order A1001?")
	if got := s.replies(question); len(got) != 0 {
		t.Fatalf("the customer got %q before approval", got)
	}
	e := card.Embeds[0]
	link := "https://discord.com/channels/" + s.guild + "/" + s.customers + "/" + question.ID
	if e.Title != "Draft reply" || e.Description != "Your order A1001 shipped with DHL." || e.URL != link ||
		!strings.Contains(embedField(card, "Customer"), "<@"+s.carla.ID+">") || !strings.Contains(embedField(card, "Message"), link) ||
		embedField(card, "Question") != "where is my order A1001?" || embedField(card, "Model") != "`kimi-k2.6`" {
		t.Fatalf("card embed = %+v", e)
	}
	tool := embedField(card, "Tool: lookup_order")
	if !strings.Contains(tool, `{"order_id":"A1001"}`) || !strings.Contains(tool, "DHL") {
		t.Fatalf("tool call on the card = %q", tool)
	}
	d := s.draftOf(t, card)
	var buttons []string
	for _, b := range card.Buttons() {
		buttons = append(buttons, b.Label+" "+b.CustomID)
	}
	if want := "Approve kimi:approve:" + d.ID + ",Edit kimi:edit:" + d.ID + ",Regenerate kimi:regenerate:" + d.ID +
		",Reject kimi:reject:" + d.ID; strings.Join(buttons, ",") != want {
		t.Fatalf("buttons %v, want %s", buttons, want)
	}

	// Someone who may not review gets a private notice; nothing changes.
	privateNotice(t, s.fake, MustClick(t, s.fake, s.asEve(), card.ID, "kimi:approve:"+d.ID).ID, noticeNotAllowed)
	s.stack.WaitIdle(t)
	if got, _ := s.stack.Engine.Desk().Draft(context.Background(), d.ID); got.State != conversation.DraftPending || len(s.replies(question)) != 0 {
		t.Fatalf("a non-approver's click changed the draft to %s", got.State)
	}

	it := MustClick(t, s.fake, s.asRita(), card.ID, "kimi:approve:"+d.ID)
	if st := waitCallback(t, s.fake, it.ID); st.CallbackType != discordtest.CallbackDeferredUpdate {
		t.Fatalf("approve answered with type %d, want a deferred update", st.CallbackType)
	}
	s.waitMessage(t, question.ID, "Your order A1001 shipped with DHL.")
	card = s.waitCard(t, func(c discordtest.Message) bool { return len(c.Buttons()) == 0 })
	if !strings.Contains(outcome(card), "Approved by Rita") || len(s.replies(question)) != 1 {
		t.Fatalf("after approval: outcome %q, replies %q", outcome(card), s.replies(question))
	}
}

func TestE2ESupportApproveTwiceSendsOnce(t *testing.T) {
	t.Parallel()
	s := mustSupport(t, discordtest.Options{})
	question, card := s.ask(t, "hello?")
	approve := "kimi:approve:" + s.draftOf(t, card).ID
	// Two approvers at once, and Discord delivering one click twice.
	first := MustClick(t, s.fake, s.asRita(), card.ID, approve)
	MustClick(t, s.fake, s.asSam(), card.ID, approve)
	s.fake.ReplayInteraction(first.ID)
	s.waitMessage(t, question.ID, "You said: hello?")
	s.waitCard(t, func(c discordtest.Message) bool { return len(c.Buttons()) == 0 })
	// A delivery of the same click after a restart is dropped too: the new
	// adapter answers it (Discord refuses a second answer) and hands it on.
	s.restart(t, nil)
	answers := func() int {
		n := 0
		for _, c := range s.fake.Calls() {
			if c.Route == discordtest.RouteCallback && strings.Contains(c.Path, "/"+first.ID+"/") {
				n++
			}
		}
		return n
	}
	before := answers()
	s.fake.ReplayInteraction(first.ID)
	s.fake.WaitFor(t, "answer to the replayed click", func() bool { return answers() > before })
	s.stack.WaitIdle(t)
	if got := s.replies(question); len(got) != 1 {
		t.Fatalf("replies %q, want exactly one", got)
	}
}

func TestE2ESupportEditPostsTheEditedText(t *testing.T) {
	t.Parallel()
	s := mustSupport(t, discordtest.Options{})
	s.stack.Kimi.Enqueue(kimitest.Response{Content: "Hi Carla.\nYour refund is on its way."})
	question, card := s.ask(t, "refund?")
	d := s.draftOf(t, card)
	privateNotice(t, s.fake, MustClick(t, s.fake, s.asEve(), card.ID, "kimi:edit:"+d.ID).ID, noticeNotAllowed)

	opened := MustClick(t, s.fake, s.asRita(), card.ID, "kimi:edit:"+d.ID)
	waitCallback(t, s.fake, opened.ID)
	modal, ok := s.fake.ModalShown(opened.ID)
	if !ok || modal.CustomID != "kimi:edit:"+d.ID || len(modal.Inputs) != 1 || modal.Inputs[0].Value != d.Text ||
		!modal.Inputs[0].Paragraph || !modal.Inputs[0].Required {
		t.Fatalf("edit form = %+v (shown %v)", modal, ok)
	}
	edited := "Hi Carla.\nYour refund was sent today and arrives in 3 days."
	submit := MustSubmit(t, s.fake, opened.ID, map[string]string{fieldText: edited})
	if st := waitCallback(t, s.fake, submit.ID); st.CallbackType != discordtest.CallbackDeferredUpdate {
		t.Fatalf("form answered with type %d", st.CallbackType)
	}
	s.waitMessage(t, question.ID, edited)
	if got := s.replies(question); len(got) != 1 {
		t.Fatalf("replies %q", got)
	}
	audit, err := s.stack.Store.Audit(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range audit {
		if r.Action == "edit" && r.DraftID == d.ID {
			found = r.DraftText == d.Text && r.SentText == edited && r.By == s.rita.ID
		}
	}
	if !found {
		t.Fatalf("the audit lacks the edit with both texts: %+v", audit)
	}
}

func TestE2ESupportRejectPostsNothing(t *testing.T) {
	t.Parallel()
	s := mustSupport(t, discordtest.Options{})
	question, card := s.ask(t, "can I get a discount?")
	d := s.draftOf(t, card)
	opened := MustClick(t, s.fake, s.asSam(), card.ID, "kimi:reject:"+d.ID)
	waitCallback(t, s.fake, opened.ID)
	if modal, ok := s.fake.ModalShown(opened.ID); !ok || len(modal.Inputs) != 1 || modal.Inputs[0].Required {
		t.Fatalf("reject form = %+v, want one optional reason", modal)
	}
	MustSubmit(t, s.fake, opened.ID, map[string]string{fieldReason: "we do not discount"})
	card = s.waitCard(t, func(c discordtest.Message) bool { return len(c.Buttons()) == 0 })
	if o := outcome(card); !strings.Contains(o, "Rejected by Sam") || !strings.Contains(o, "we do not discount") {
		t.Fatalf("outcome %q", o)
	}
	if got := s.replies(question); len(got) != 0 {
		t.Fatalf("a rejected draft reached the customer: %q", got)
	}
	// The buttons are gone: a late Approve is not possible.
	if _, err := s.fake.ClickButton(s.asRita(), card.ID, "kimi:approve:"+d.ID); err == nil {
		t.Fatal("the rejected card still offers Approve")
	}
}

func TestE2ESupportRegenerateReplacesTheDraftInTheSameCard(t *testing.T) {
	t.Parallel()
	s := mustSupport(t, discordtest.Options{})
	s.stack.Kimi.Enqueue(kimitest.Response{Content: "First draft."}, kimitest.Response{Content: "Shorter draft."})
	question, card := s.ask(t, "tell me about shipping")
	old := s.draftOf(t, card)
	opened := MustClick(t, s.fake, s.asRita(), card.ID, "kimi:regenerate:"+old.ID)
	waitCallback(t, s.fake, opened.ID)
	MustSubmit(t, s.fake, opened.ID, map[string]string{fieldInstruction: "make it shorter"})
	redrawn := s.waitCard(t, func(c discordtest.Message) bool {
		return c.Embeds[0].Description == "Shorter draft." && len(c.Buttons()) == 4
	})
	fresh := s.draftOf(t, redrawn)
	if redrawn.ID != card.ID || fresh.ID == old.ID {
		t.Fatalf("card %s draft %s, want card %s with a new draft", redrawn.ID, fresh.ID, card.ID)
	}
	reqs := s.stack.Kimi.ChatRequests()
	last := reqs[len(reqs)-1].Messages
	if !strings.Contains(last[len(last)-1].Text(), "make it shorter") {
		t.Fatalf("the instruction did not reach the model: %q", last[len(last)-1].Text())
	}
	MustClick(t, s.fake, s.asRita(), card.ID, "kimi:approve:"+fresh.ID)
	s.waitMessage(t, question.ID, "Shorter draft.")
	if got := s.replies(question); len(got) != 1 {
		t.Fatalf("replies %q", got)
	}
}

func TestE2ESupportButtonsWorkAfterRestart(t *testing.T) {
	t.Parallel()
	s := mustSupport(t, discordtest.Options{})
	question, card := s.ask(t, "still there?")
	d := s.draftOf(t, card)
	s.restart(t, nil)
	MustClick(t, s.fake, s.asRita(), card.ID, "kimi:approve:"+d.ID)
	s.waitMessage(t, question.ID, "You said: still there?")
	if got := s.replies(question); len(got) != 1 {
		t.Fatalf("replies %q", got)
	}
}

func TestE2ESupportCrashBetweenSendingAndSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		posted bool
		// fetchOmitsNonce makes the fake behave as Discord does once the
		// nonce is gone from fetched messages: only enforce_nonce prevents
		// a second message.
		fetchOmitsNonce bool
	}{
		{"NotYetPosted", false, false},
		{"AlreadyPosted", true, false},
		{"AlreadyPostedNonceNotFetched", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := mustSupport(t, discordtest.Options{FetchOmitsNonce: tt.fetchOmitsNonce})
			question, card := s.ask(t, "order?")
			ctx := context.Background()
			d, err := s.stack.Store.UpdateDraft(ctx, s.draftOf(t, card).ID, func(d *conversation.Draft) (*conversation.AuditRecord, error) {
				d.State, d.SentText = conversation.DraftSending, d.Text
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			next := MustAdapter(t, s.fake, nil)
			if tt.posted {
				where := bot.ThreadRef{Platform: "discord", Workspace: s.guild, Channel: s.customers, Thread: question.ID}
				if _, err := next.Post(ctx, where, d.SentText, d.ID); err != nil {
					t.Fatal(err)
				}
			}
			s.restart(t, next)
			s.fake.WaitFor(t, "draft sent", func() bool {
				got, _ := s.stack.Engine.Desk().Draft(ctx, d.ID)
				return got.State == conversation.DraftSent
			})
			s.stack.WaitIdle(t)
			msgs := s.fake.BotMessages(question.ID)
			got, _ := s.stack.Engine.Desk().Draft(ctx, d.ID)
			if len(msgs) != 1 || len(s.fake.BotMessages(s.customers)) != 0 || got.Sent.ID != msgs[0].ID {
				t.Fatalf("%d replies (draft records %s), want exactly one", len(msgs), got.Sent.ID)
			}
		})
	}
}

func TestE2EToolNeedingApprovalRunsOnlyAfterApproval(t *testing.T) {
	t.Parallel()
	for _, approve := range []bool{true, false} {
		name := map[bool]string{true: "Approved", false: "Rejected"}[approve]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := mustSupport(t, discordtest.Options{})
			general := s.fake.AddTextChannel(s.guild, "general")
			if err := s.stack.Tools.SetNeedsApproval("lookup_order", true); err != nil {
				t.Fatal(err)
			}
			s.stack.Kimi.Enqueue(
				kimitest.Response{Reasoning: "Need the order.", ToolCalls: []kimitest.ToolCall{{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
				kimitest.Response{Content: "Done."},
			)
			m := mention(s.fake, general, s.user, "where is A1001?")
			var card discordtest.Message
			s.fake.WaitFor(t, "tool card", func() bool {
				for _, c := range s.fake.BotMessages(m.ID) {
					if len(c.Embeds) > 0 && len(c.Buttons()) > 0 {
						card = c
						return true
					}
				}
				return false
			})
			s.waitMessage(t, m.ID, "\n\n_Waiting for an approver to allow `lookup_order`._")
			if card.Embeds[0].Title != "Tool call waiting" || len(card.Buttons()) != 2 ||
				!strings.Contains(embedField(card, "Tool: lookup_order"), `{"order_id":"A1001"}`) {
				t.Fatalf("tool card = %+v with %d buttons", card.Embeds[0], len(card.Buttons()))
			}
			if n := len(s.stack.Orders.Requests()); n != 0 {
				t.Fatalf("the tool ran %d times before approval", n)
			}
			d := s.draftOf(t, card)
			in := member(m.ID, s.rita)
			if approve {
				MustClick(t, s.fake, in, card.ID, "kimi:approve:"+d.ID)
			} else {
				opened := MustClick(t, s.fake, in, card.ID, "kimi:reject:"+d.ID)
				waitCallback(t, s.fake, opened.ID)
				MustSubmit(t, s.fake, opened.ID, map[string]string{fieldReason: "not this customer's order"})
			}
			s.waitMessage(t, m.ID, "Done.")
			want := map[bool]int{true: 1, false: 0}[approve]
			if n := len(s.stack.Orders.Requests()); n != want {
				t.Fatalf("the tool ran %d times, want %d", n, want)
			}
			reqs := s.stack.Kimi.ChatRequests()
			msgs := reqs[len(reqs)-1].Messages
			result := msgs[len(msgs)-1].Text()
			if approve != strings.Contains(result, "DHL") || !approve && !strings.Contains(result, "not this customer's order") {
				t.Fatalf("tool result sent to the model = %q", result)
			}
		})
	}
}

func TestE2EApproverCheckUsersAndRoles(t *testing.T) {
	t.Parallel()
	s := mustSupport(t, discordtest.Options{})
	_, card := s.ask(t, "who may review?")
	edit := "kimi:edit:" + s.draftOf(t, card).ID
	tests := []struct {
		name    string
		as      discordtest.Member
		allowed bool
	}{
		{"UserID", s.asRita(), true},
		{"Role", s.asSam(), true},
		{"OtherRole", s.asEve(), false},
		{"NoRole", member(s.reviews, s.carla), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := MustClick(t, s.fake, tt.as, card.ID, edit)
			if !tt.allowed {
				privateNotice(t, s.fake, it.ID, noticeNotAllowed)
				return
			}
			if st := waitCallback(t, s.fake, it.ID); st.CallbackType != discordtest.CallbackModal {
				t.Fatalf("callback type %d, want the edit form", st.CallbackType)
			}
		})
	}
}

func TestE2ESupportCommandRoutesAChannel(t *testing.T) {
	t.Parallel()
	s := mustSupport(t, discordtest.Options{})
	s.waitCommands(t, 1)
	shop := s.fake.AddTextChannel(s.guild, "shop")
	admin := member(shop, s.user, adminRole)
	text, private := commandAnswer(t, s.fake, MustCommand(t, s.fake, admin, "support",
		discordtest.Option{Name: "review", Value: s.reviews}).ID)
	if !strings.Contains(text, "review channel "+s.reviews) || private {
		t.Fatalf("/support = %q (private %v)", text, private)
	}
	q := s.fake.SendMessage(discordtest.Incoming{Channel: shop, Author: s.carla, Content: "is this in stock?"})
	s.waitCard(t, func(c discordtest.Message) bool { return embedField(c, "Question") == "is this in stock?" })
	if got := contents(s.fake, q.ID); len(got) != 0 {
		t.Fatalf("the customer got %q before review", got)
	}
	text, _ = commandAnswer(t, s.fake, MustCommand(t, s.fake, admin, "support", discordtest.Option{Name: "off", Value: true}).ID)
	if !strings.Contains(text, "answers here directly") {
		t.Fatalf("/support off = %q", text)
	}
}
