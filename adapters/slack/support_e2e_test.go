package slack

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/internal/testkit"
)

// The support desk of these tests: customers write in CSUP, cards go to
// CREV, Rita and Sam approve, and so does the user group SREVIEW.
const (
	customerChannel = "CSUP"
	reviewChannel   = "CREV"
	rita, sam       = "UREV1", "UREV2"
	stranger        = "USTRANGER"
	reviewGroup     = "SREVIEW"
)

func supportOptions(opts testkit.Options) testkit.Options {
	opts.Configure = func(c *bot.Config) {
		c.SupportRoutes = []bot.Route{{Platform: "slack", From: customerChannel, To: reviewChannel}}
		c.Approvers = []bot.Principal{{Platform: "slack", Kind: "user", ID: rita},
			{Platform: "slack", Kind: "user", ID: sam}, {Platform: "slack", Kind: "group", ID: reviewGroup}}
		c.Admins = []bot.Principal{{Platform: "slack", Kind: "user", ID: admin}}
	}
	return opts
}

// deskWindow compresses Slack's minute for the support desk tests, in the
// fake and the adapter alike, so that their many posts and card updates do
// not wait out real minutes; every limit still holds in the shorter window.
const deskWindow = 6 * time.Second

// MustDesk starts the whole stack as a support desk. The test fails if
// the adapter broke any of Slack's limits.
func MustDesk(tb testing.TB, opts testkit.Options) *e2e {
	tb.Helper()
	fakeOpts := slacktest.Options{AckTimeout: time.Second, Window: deskWindow, PostInterval: deskWindow / 60}
	e := MustE2EWith(tb, fakeOpts, func(c *Config) { c.LimitWindow = deskWindow }, supportOptions(opts))
	tb.Cleanup(func() {
		if v := e.fake.Violations(); len(v) != 0 {
			tb.Errorf("Slack limits broken: %+v", v)
		}
	})
	for _, u := range []slacktest.User{{ID: "UCUST", Name: "Carla"}, {ID: rita, Name: "Rita"}, {ID: sam, Name: "Sam"}} {
		e.fake.AddUser(u)
	}
	return e
}

// customer posts a customer's message in the support channel, without
// mentioning the bot, as Slack sends it (message.channels only).
func (e *e2e) customer(channel, text string) slacktest.UserMessage {
	m := slacktest.UserMessage{User: "UCUST", Channel: channel, Text: text, TS: e.fake.NewTS()}
	e.fake.PushEvent(e.fake.Callback(m.Message()).Body)
	return m
}

// card waits until the n-th card in channel (thread "" for the channel
// itself) satisfies cond and the engine has settled, and returns it.
func (e *e2e) card(tb testing.TB, channel, thread string, n int, cond func(slacktest.Message) bool) slacktest.Message {
	tb.Helper()
	var cards []slacktest.Message
	waitThread(tb, e.ctx, e.fake, channel, thread, func(msgs []slacktest.Message) bool {
		cards = cards[:0]
		for _, m := range msgs {
			if m.Header != "" {
				cards = append(cards, m)
			}
		}
		return len(cards) >= n && (cond == nil || cond(cards[n-1]))
	})
	e.stack.WaitIdle(tb)
	return cards[n-1]
}

// pending is a condition: the card still has its buttons.
func pending(m slacktest.Message) bool { return len(m.Buttons) > 0 }

// decided is a condition: the card shows an outcome and no buttons.
func decided(m slacktest.Message) bool { return len(m.Buttons) == 0 && len(m.Contexts) > 0 }

// click presses a card's button as user over Socket Mode and waits until
// Slack has the ack and the adapter has handed the click on.
func (e *e2e) click(tb testing.TB, user string, card slacktest.Message, actionID string) []byte {
	tb.Helper()
	payload, err := e.fake.Click(user, card.Channel, card.TS, actionID)
	if err != nil {
		tb.Fatal(err)
	}
	e.deliver(tb, payload)
	return payload
}

// deliver pushes interactivity payloads, waits for their acks, for the
// work that follows them and for the engine to settle.
func (e *e2e) deliver(tb testing.TB, payloads ...[]byte) {
	tb.Helper()
	var envs []string
	for _, p := range payloads {
		envs = append(envs, e.fake.PushInteraction(p))
	}
	for _, env := range envs {
		if _, err := e.fake.WaitAcked(e.ctx, env); err != nil {
			tb.Fatal(err)
		}
	}
	e.a.tasks.Wait()
	e.stack.WaitIdle(tb)
}

// lastView returns the latest modal opened.
func (e *e2e) lastView(tb testing.TB, n int) slacktest.View {
	tb.Helper()
	var views []slacktest.View
	if err := e.fake.Wait(e.ctx, func() bool { views = e.fake.Views(); return len(views) >= n }); err != nil {
		tb.Fatalf("%d views opened, want %d", len(views), n)
	}
	return views[n-1]
}

// submit submits a modal with values by block_id.
func (e *e2e) submit(tb testing.TB, v slacktest.View, values map[string]string) {
	tb.Helper()
	payload, err := e.fake.Submit(v.ID, values)
	if err != nil {
		tb.Fatal(err)
	}
	e.deliver(tb, payload)
}

// sent returns the bot's replies in the customer's thread.
func (e *e2e) sent(q slacktest.UserMessage) []slacktest.Message {
	return e.fake.Thread(q.Channel, q.TS)
}

// draftIDOf returns the draft ID a card's buttons carry.
func draftIDOf(tb testing.TB, card slacktest.Message) string {
	tb.Helper()
	b, ok := card.Button(actionApprove)
	if !ok {
		tb.Fatalf("card has no Approve button: %+v", card.Buttons)
	}
	return b.Value
}

func TestE2ESupportDraftIsReviewedFirst(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	e.stack.Kimi.Enqueue(
		kimitest.Response{Reasoning: "Look it up.", ToolCalls: []kimitest.ToolCall{
			{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
		kimitest.Response{Content: "Your order **A1001** shipped with DHL."},
	)
	q := e.customer(customerChannel, "where is my order A1001?")
	card := e.card(t, reviewChannel, "", 1, nil)
	e.stack.WaitIdle(t)
	if n := len(e.sent(q)); n != 0 {
		t.Fatalf("%d messages reached the customer before approval", n)
	}
	for _, want := range []string{"*Customer:* *Carla* (<@UCUST>) in <#CSUP>",
		"<" + slacktest.Permalink(customerChannel, q.TS, "") + "|their message>",
		"*Question*\n>where is my order A1001?", "*Draft*\nYour order *A1001* shipped with DHL."} {
		if !strings.Contains(card.Markdown, want) {
			t.Fatalf("card shows\n%s\nwithout %q", card.Markdown, want)
		}
	}
	if card.Header != "Draft reply for review" || !strings.Contains(card.Footer, "`lookup_order` `{\"order_id\":\"A1001\"}` →") ||
		!strings.Contains(card.Footer, "DHL") || !strings.Contains(card.Footer, "Model: `kimi-k2.6`") {
		t.Fatalf("card header %q, contexts %q", card.Header, card.Contexts)
	}
	id := draftIDOf(t, card)
	var got []string
	for _, b := range card.Buttons {
		if b.Value != id || b.BlockID != reviewBlock {
			t.Fatalf("button %+v does not carry the draft %s", b, id)
		}
		got = append(got, b.ActionID+":"+b.Style)
	}
	if strings.Join(got, ",") != "kimi_approve:primary,kimi_edit:,kimi_regenerate:,kimi_reject:danger" {
		t.Fatalf("buttons = %v", got)
	}

	e.click(t, rita, card, actionApprove)
	msgs := waitThread(t, e.ctx, e.fake, customerChannel, q.TS, func(m []slacktest.Message) bool { return len(m) == 1 })
	if msgs[0].Shown() != "Your order **A1001** shipped with DHL." || msgs[0].Metadata == nil ||
		msgs[0].Metadata.EventType != draftEvent || msgs[0].Metadata.EventPayload["draft_id"] != id {
		t.Fatalf("reply = %+v", msgs[0])
	}
	final := e.card(t, reviewChannel, "", 1, decided)
	if !strings.Contains(final.Footer, "Approved by Rita") || !strings.Contains(final.Footer, "sent.") {
		t.Fatalf("card after approval shows %q", final.Contexts)
	}
}

func TestE2ESupportStrangerChangesNothing(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	q := e.customer(customerChannel, "hello?")
	card := e.card(t, reviewChannel, "", 1, pending)
	for _, action := range []string{actionApprove, actionEdit, actionRegenerate, actionReject} {
		t.Run(action, func(t *testing.T) {
			before := len(e.fake.EphemeralsFor(stranger))
			e.click(t, stranger, card, action)
			notes := e.fake.EphemeralsFor(stranger)
			if len(notes) != before+1 || notes[len(notes)-1].Channel != reviewChannel || !strings.Contains(notes[len(notes)-1].Text, notAllowedText) {
				t.Fatalf("notices to the stranger = %+v", notes)
			}
		})
	}
	d, err := e.stack.Engine.Desk().Draft(e.ctx, draftIDOf(t, card))
	if err != nil || d.State != conversation.DraftPending {
		t.Fatalf("draft = %s, %v", d.State, err)
	}
	if n, v := len(e.sent(q)), len(e.fake.Views()); n != 0 || v != 0 {
		t.Fatalf("a stranger's clicks posted %d messages and opened %d views", n, v)
	}
	if now := e.card(t, reviewChannel, "", 1, nil); len(now.Buttons) != 4 || now.Edits != card.Edits {
		t.Fatalf("the card changed: %+v", now)
	}
}

// TestE2ESupportApproveOnce delivers the same click twice, as Slack does
// when an ack is late, along with two approvers clicking at once.
func TestE2ESupportApproveOnce(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	q := e.customer(customerChannel, "refund please")
	card := e.card(t, reviewChannel, "", 1, pending)
	first, err := e.fake.Click(rita, card.Channel, card.TS, actionApprove)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.fake.Click(sam, card.Channel, card.TS, actionApprove)
	if err != nil {
		t.Fatal(err)
	}
	e.deliver(t, first, second, first)
	e.card(t, reviewChannel, "", 1, decided)
	if msgs := e.sent(q); len(msgs) != 1 || msgs[0].Shown() != "You said: refund please" {
		t.Fatalf("customer thread shows %s", describe(msgs))
	}
}

func TestE2ESupportEdit(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	draft := "Hi Carla.\nYour refund is on its way."
	e.stack.Kimi.Enqueue(kimitest.Response{Content: draft})
	q := e.customer(customerChannel, "refund?")
	card := e.card(t, reviewChannel, "", 1, pending)
	id := draftIDOf(t, card)
	payload := e.click(t, rita, card, actionEdit)
	v := e.lastView(t, 1)
	var cb slack.InteractionCallback
	_ = json.Unmarshal(payload, &cb)
	if v.CallbackID != modalEdit || v.PrivateMetadata != id || v.TriggerID != cb.TriggerID || v.User != rita ||
		len(v.Inputs) != 1 || v.Inputs[0].InitialValue != draft || !v.Inputs[0].Multiline {
		t.Fatalf("edit modal = %+v", v)
	}
	if n := len(e.sent(q)); n != 0 {
		t.Fatalf("opening the editor posted %d messages", n)
	}
	edited := "Hi Carla.\nYour refund was sent today and arrives in 3 days."
	e.submit(t, v, map[string]string{v.Inputs[0].BlockID: edited})
	if msgs := e.sent(q); len(msgs) != 1 || msgs[0].Shown() != edited {
		t.Fatalf("customer thread shows %s", describe(msgs))
	}
	audit, err := e.stack.Store.Audit(e.ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, r := range audit {
		if r.Action == "edit" && r.DraftID == id {
			found = r.DraftText == draft && r.SentText == edited && r.By == rita && r.ByName == "Rita"
		}
	}
	if !found {
		t.Fatalf("no audit record of the edit with both texts: %+v", audit)
	}
	if final := e.card(t, reviewChannel, "", 1, decided); !strings.Contains(final.Footer, "Edited and approved by Rita") {
		t.Fatalf("card after edit shows %q", final.Contexts)
	}
}

// TestE2ESupportEditLongDraft edits a draft longer than a Slack text field
// holds: it comes in several fields and goes out whole.
func TestE2ESupportEditLongDraft(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	var b strings.Builder
	for i := 0; b.Len() < 14_000; i++ {
		b.WriteString("Line of the long answer, number " + strings.Repeat("x", i%40) + ".\n")
	}
	draft := strings.TrimSuffix(b.String(), "\n")
	e.stack.Kimi.Enqueue(kimitest.Response{Content: draft})
	q := e.customer(customerChannel, "tell me everything")
	card := e.card(t, reviewChannel, "", 1, pending)
	if !strings.Contains(card.Markdown, "all of it is sent") {
		t.Fatalf("long draft not clipped with a note: %q", card.Markdown[len(card.Markdown)-200:])
	}
	e.click(t, rita, card, actionEdit)
	v := e.lastView(t, 1)
	var joined strings.Builder
	for _, in := range v.Inputs {
		joined.WriteString(in.InitialValue)
	}
	if len(v.Inputs) < 5 || joined.String() != draft {
		t.Fatalf("%d fields holding %d of %d bytes", len(v.Inputs), joined.Len(), len(draft))
	}
	e.submit(t, v, nil)
	msgs := e.sent(q)
	if len(msgs) != 2 {
		t.Fatalf("the long reply went out in %d messages", len(msgs))
	}
	var shown []string
	for _, m := range msgs {
		shown = append(shown, m.Shown())
	}
	matchParts(t, draft, shown)
}

func TestE2ESupportRejectPostsNothing(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	q := e.customer(customerChannel, "can I get a discount?")
	card := e.card(t, reviewChannel, "", 1, pending)
	// Sam's screen still shows the buttons when Rita rejects.
	late, err := e.fake.Click(sam, card.Channel, card.TS, actionApprove)
	if err != nil {
		t.Fatal(err)
	}
	e.click(t, rita, card, actionReject)
	v := e.lastView(t, 1)
	if v.CallbackID != modalReject || len(v.Inputs) != 1 || !v.Inputs[0].Optional {
		t.Fatalf("reject modal = %+v", v)
	}
	e.submit(t, v, map[string]string{v.Inputs[0].BlockID: "we do not discount"})
	final := e.card(t, reviewChannel, "", 1, decided)
	if !strings.Contains(final.Footer, "Rejected by Rita") || !strings.Contains(final.Footer, "we do not discount") {
		t.Fatalf("card after reject shows %q", final.Contexts)
	}
	e.deliver(t, late)
	if n := len(e.sent(q)); n != 0 {
		t.Fatalf("%d messages reached the customer after a rejection", n)
	}
}

func TestE2ESupportRegenerateReplacesDraft(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	e.stack.Kimi.Enqueue(kimitest.Response{Content: "First draft, far too long."}, kimitest.Response{Content: "Shorter draft."})
	q := e.customer(customerChannel, "tell me about shipping")
	card := e.card(t, reviewChannel, "", 1, pending)
	e.click(t, rita, card, actionRegenerate)
	v := e.lastView(t, 1)
	if v.CallbackID != modalRegenerate {
		t.Fatalf("regenerate modal = %+v", v)
	}
	e.submit(t, v, map[string]string{v.Inputs[0].BlockID: "make it shorter"})
	again := e.card(t, reviewChannel, "", 1, func(m slacktest.Message) bool {
		return pending(m) && strings.Contains(m.Markdown, "Shorter draft.")
	})
	if again.TS != card.TS || len(e.fake.Thread(reviewChannel, "")) != 1 || draftIDOf(t, again) == draftIDOf(t, card) {
		t.Fatalf("regenerated card %s (first %s), %d cards", again.TS, card.TS, len(e.fake.Thread(reviewChannel, "")))
	}
	reqs := e.stack.Kimi.ChatRequests()
	msgs := reqs[len(reqs)-1].Messages
	if !strings.Contains(msgs[len(msgs)-1].Text(), "make it shorter") {
		t.Fatalf("the instruction did not reach Kimi: %q", msgs[len(msgs)-1].Text())
	}
	e.click(t, rita, again, actionApprove)
	if msgs := e.sent(q); len(msgs) != 1 || msgs[0].Shown() != "Shorter draft." {
		t.Fatalf("customer thread shows %s", describe(msgs))
	}
}

func TestE2ESupportButtonsWorkAfterRestart(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	q := e.customer(customerChannel, "still there?")
	card := e.card(t, reviewChannel, "", 1, pending)
	e.restart(t)
	e.click(t, rita, card, actionApprove)
	if msgs := e.sent(q); len(msgs) != 1 || msgs[0].Shown() != "You said: still there?" {
		t.Fatalf("customer thread shows %s", describe(msgs))
	}
}

// TestE2ESupportCrashWhileSending restarts with a draft left in "sending",
// its reply posted or not: exactly one reply is there afterwards.
func TestE2ESupportCrashWhileSending(t *testing.T) {
	for _, posted := range []bool{false, true} {
		t.Run(map[bool]string{false: "NotYetPosted", true: "AlreadyPosted"}[posted], func(t *testing.T) {
			e := MustDesk(t, testkit.Options{})
			q := e.customer(customerChannel, "order?")
			card := e.card(t, reviewChannel, "", 1, pending)
			id := draftIDOf(t, card)
			d, err := e.stack.Store.UpdateDraft(e.ctx, id, func(d *conversation.Draft) (*conversation.AuditRecord, error) {
				d.State, d.SentText = conversation.DraftSending, d.Text
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if posted {
				where := bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: customerChannel, Thread: q.TS}
				if _, err := e.a.Post(e.ctx, where, d.SentText, id); err != nil {
					t.Fatal(err)
				}
			}
			e.restart(t)
			e.stack.WaitIdle(t)
			got, err := e.stack.Engine.Desk().Draft(e.ctx, id)
			msgs := e.sent(q)
			if err != nil || got.State != conversation.DraftSent || len(msgs) != 1 || got.Sent.ID != msgs[0].TS {
				t.Fatalf("draft %s (sent %s), customer thread shows %s", got.State, got.Sent.ID, describe(msgs))
			}
		})
	}
}

// TestE2ESupportLostAnswer loses Slack's answer to the post of an approved
// reply: the adapter finds the message before posting again.
func TestE2ESupportLostAnswer(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	q := e.customer(customerChannel, "is it lost?")
	card := e.card(t, reviewChannel, "", 1, pending)
	e.fake.Inject(slacktest.Fault{Method: "chat.postMessage", Lose: true})
	e.click(t, rita, card, actionApprove)
	e.card(t, reviewChannel, "", 1, decided)
	if n := e.fake.PendingFaults(); n != 0 {
		t.Fatal("the answer was never lost")
	}
	d, _ := e.stack.Engine.Desk().Draft(e.ctx, draftIDOf(t, card))
	if msgs := e.sent(q); len(msgs) != 1 || d.State != conversation.DraftSent || d.Sent.ID != msgs[0].TS {
		t.Fatalf("draft %s, customer thread shows %s", d.State, describe(msgs))
	}
}

func TestE2ESupportToolNeedsApproval(t *testing.T) {
	for _, approve := range []bool{true, false} {
		t.Run(map[bool]string{true: "Approved", false: "Rejected"}[approve], func(t *testing.T) {
			e := MustDesk(t, testkit.Options{})
			if err := e.stack.Tools.SetNeedsApproval("lookup_order", true); err != nil {
				t.Fatal(err)
			}
			e.stack.Kimi.Enqueue(
				kimitest.Response{Reasoning: "Need the order.", ToolCalls: []kimitest.ToolCall{
					{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`}}},
				kimitest.Response{Content: "Done."},
			)
			q := e.mention("C1", "", "where is A1001?")
			card := e.card(t, "C1", q.TS, 1, pending)
			e.stack.WaitIdle(t)
			if card.Header != "Tool call waiting for approval" || len(card.Buttons) != 2 ||
				!strings.Contains(card.Footer, "`lookup_order` `{\"order_id\":\"A1001\"}` → _waiting for approval_") {
				t.Fatalf("tool card = %+v", card)
			}
			if n := len(e.stack.Orders.Requests()); n != 0 {
				t.Fatalf("the tool ran %d times before approval", n)
			}
			if approve {
				e.click(t, rita, card, actionApprove)
			} else {
				e.click(t, rita, card, actionReject)
				v := e.lastView(t, 1)
				e.submit(t, v, map[string]string{v.Inputs[0].BlockID: "not this customer's order"})
			}
			waitThread(t, e.ctx, e.fake, "C1", q.TS, func(m []slacktest.Message) bool {
				return len(m) > 0 && m[len(m)-1].Shown() == "Done." && !m[len(m)-1].Streaming
			})
			want := map[bool]int{true: 1, false: 0}[approve]
			if n := len(e.stack.Orders.Requests()); n != want {
				t.Fatalf("the tool ran %d times, want %d", n, want)
			}
		})
	}
}

func TestE2ESupportApproverCheck(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	e.fake.SetUserGroup(reviewGroup, "UGROUPIE")
	tests := []struct {
		name, user string
		allowed    bool
	}{
		{"User", sam, true},
		{"GroupMember", "UGROUPIE", true},
		{"Nobody", stranger, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := e.customer(customerChannel, "question "+tt.name)
			card := e.card(t, reviewChannel, "", i+1, pending)
			e.click(t, tt.user, card, actionApprove)
			if n := len(e.sent(q)); (n == 1) != tt.allowed {
				t.Fatalf("%d replies after %s approved", n, tt.user)
			}
			if notes := e.fake.EphemeralsFor(tt.user); (len(notes) == 0) != tt.allowed {
				t.Fatalf("notices to %s: %+v", tt.user, notes)
			}
		})
	}
	if n := len(e.fake.Calls("usergroups.users.list")); n != 1 {
		t.Fatalf("usergroups.users.list called %d times; the members are kept for a while", n)
	}
}

func TestE2ESupportCommand(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	if r := e.run(t, stranger, "CHELP", "support <#CREV2|review-2>"); !strings.Contains(r.Shown(), "Only admins") {
		t.Fatalf("non-admin: %q", r.Shown())
	}
	r := e.run(t, admin, "CHELP", "support <#CREV2|review-2>")
	if r.ResponseType != "in_channel" || !strings.Contains(r.Shown(), "review channel CREV2") {
		t.Fatalf("admin: %+v", r)
	}
	q := e.customer("CHELP", "my parcel is late")
	card := e.card(t, "CREV2", "", 1, pending)
	if !strings.Contains(card.Markdown, "my parcel is late") {
		t.Fatalf("card = %q", card.Markdown)
	}
	r = e.run(t, rita, reviewChannel, "pending")
	if !strings.Contains(r.Shown(), "1 waiting for review") || !strings.Contains(r.Shown(), slacktest.Permalink("CREV2", card.TS, "")) {
		t.Fatalf("pending = %q", r.Shown())
	}
	if n := len(e.sent(q)); n != 0 {
		t.Fatalf("%d replies before approval", n)
	}
}

// TestE2ESupportConcurrentApprovers has two approvers click a batch of
// cards at once, each click also delivered twice.
func TestE2ESupportConcurrentApprovers(t *testing.T) {
	e := MustDesk(t, testkit.Options{})
	const n = 4
	var qs []slacktest.UserMessage
	for i := range n {
		qs = append(qs, e.customer(customerChannel, "question "+string(rune('A'+i))))
		e.card(t, reviewChannel, "", i+1, pending)
	}
	var payloads [][]byte
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		card := e.card(t, reviewChannel, "", i+1, nil)
		for _, u := range []string{rita, sam} {
			wg.Go(func() {
				p, err := e.fake.Click(u, card.Channel, card.TS, actionApprove)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				payloads = append(payloads, p, p)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	e.deliver(t, payloads...)
	for _, q := range qs {
		if msgs := e.sent(q); len(msgs) != 1 {
			t.Fatalf("thread %s shows %s", q.TS, describe(msgs))
		}
	}
}

// TestE2ESupportOverHTTP runs the desk with Slack's HTTP deliveries: the
// customer's message as an event, the clicks and the modal as signed
// interactivity requests, each answered at once.
func TestE2ESupportOverHTTP(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{Window: deskWindow, PostInterval: deskWindow / 60})
	a := MustAdapter(t, fake, func(c *Config) { c.LimitWindow = deskWindow })
	stack := testkit.Start(t, a, supportOptions(testkit.Options{}))
	waitReady(t, a)
	srv := httptest.NewServer(a.HTTPHandler())
	t.Cleanup(srv.Close)
	e := &e2e{fake: fake, a: a, stack: stack, ctx: testContext(t)}
	post := func(payload []byte) slacktest.Ack {
		t.Helper()
		ack, err := slacktest.PostInteraction(e.ctx, srv.URL+"/slack/interactions", testSecret, payload)
		if err != nil || ack.Status != http.StatusOK {
			t.Fatalf("ack = %d %s, err %v", ack.Status, ack.Body, err)
		}
		a.tasks.Wait()
		stack.WaitIdle(t)
		return ack
	}
	q := slacktest.UserMessage{User: "UCUST", Channel: customerChannel, Text: "over http", TS: fake.NewTS()}
	if code, err := slacktest.PostEvent(e.ctx, srv.URL+"/slack/events", testSecret, fake.Callback(q.Message()).Body, 0); err != nil || code != http.StatusOK {
		t.Fatalf("event: %d, %v", code, err)
	}
	card := e.card(t, reviewChannel, "", 1, pending)
	click, err := fake.Click(rita, card.Channel, card.TS, actionEdit)
	if err != nil {
		t.Fatal(err)
	}
	if ack := post(click); len(ack.Body) != 0 {
		t.Fatalf("click ack body = %s", ack.Body)
	}
	v := e.lastView(t, 1)
	edited := "Edited over HTTP."
	submit, err := fake.Submit(v.ID, map[string]string{v.Inputs[0].BlockID: edited})
	if err != nil {
		t.Fatal(err)
	}
	if ack := post(submit); len(ack.Body) != 0 {
		t.Fatalf("submission ack body = %s", ack.Body)
	}
	if msgs := e.sent(q); len(msgs) != 1 || msgs[0].Shown() != edited {
		t.Fatalf("customer thread shows %s", describe(msgs))
	}
}
