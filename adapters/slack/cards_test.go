package slack

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"kimibot/adapters/slack/slacktest"
	"kimibot/bot"
	"kimibot/conversation"
)

// TestCardKeepsWithinLimits posts cards with a very long draft, question
// and tool results, and many tool calls: the fake accepts them (it checks
// Block Kit's limits) and they show what a reviewer needs.
func TestCardKeepsWithinLimits(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, nil)
	MustRun(t, a, newFakeEngine().host())
	ctx := testContext(t)
	fake.AddUser(slacktest.User{ID: "UCUST", Name: "Carla"})
	var calls []conversation.ToolRecord
	for i := range 15 {
		calls = append(calls, conversation.ToolRecord{ID: fmt.Sprint(i), Name: "lookup_order",
			Arguments: `{"order_id":"A` + strings.Repeat("9", 500) + `"}`, Result: strings.Repeat("`result` ", 200)})
	}
	where := bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "CREV"}
	tests := []struct {
		name string
		card bot.Card
		want []string
	}{
		{"LongReply", bot.Card{DraftID: "d1", Kind: conversation.DraftReply, State: conversation.DraftPending,
			Customer: "UCUST", Source: bot.MsgRef{Platform: "slack", Channel: "CSUP", ID: "1700000000.000100"},
			Question: strings.Repeat("Where is it? ", 400), Draft: strings.Repeat("A long answer line.\n", 1000),
			ToolCalls: calls, Model: "kimi-k2.6",
			Actions: []bot.ActionKind{bot.ActionApprove, bot.ActionEdit, bot.ActionRegenerate, bot.ActionReject}},
			[]string{"*Customer:* *Carla* (<@UCUST>) in <#CSUP>", "_Clipped here: the draft has 20,000 characters; all of it is sent._"}},
		{"DecidedTool", bot.Card{DraftID: "d2", Kind: conversation.DraftTool, State: conversation.DraftRejected,
			Customer: "UOTHER", CustomerName: "Omar", Question: "look it up", ToolCalls: calls[:1],
			Outcome: "Rejected by Rita at 2026-01-02 14:02 UTC. Reason: <not> this one"},
			[]string{"*Customer:* *Omar* (<@UOTHER>)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := a.PostCard(ctx, where, tt.card)
			if err != nil {
				t.Fatal(err)
			}
			m := fake.Thread("CREV", "")[len(fake.Thread("CREV", ""))-1]
			if m.TS != ref.ID {
				t.Fatalf("card ref %s, posted %s", ref.ID, m.TS)
			}
			for _, w := range tt.want {
				if !strings.Contains(m.Markdown, w) {
					t.Fatalf("card shows\n%s\nwithout %q", m.Markdown, w)
				}
			}
			if len(m.Buttons) != len(tt.card.Actions) {
				t.Fatalf("%d buttons for %d actions", len(m.Buttons), len(tt.card.Actions))
			}
			if tt.card.Outcome != "" && !strings.Contains(m.Footer, ":no_entry_sign: Rejected by Rita") {
				t.Fatalf("outcome not shown: %q", m.Contexts)
			}
			if tt.card.Kind == conversation.DraftTool && strings.Contains(m.Markdown, "*Draft*") {
				t.Fatal("a tool card shows a draft")
			}
			if n := len(tt.card.ToolCalls); n > maxToolBlocks && !strings.Contains(m.Footer, fmt.Sprintf("…and %d more tool calls.", n-maxToolBlocks+1)) {
				t.Fatalf("tool calls not summed up: %q", m.Contexts)
			}
			tt.card.Outcome, tt.card.Actions = "Approved by Rita.", nil
			if err := a.UpdateCard(ctx, ref, tt.card); err != nil {
				t.Fatal(err)
			}
			if m := fake.Thread("CREV", "")[len(fake.Thread("CREV", ""))-1]; len(m.Buttons) != 0 || m.Edits != 1 {
				t.Fatalf("updated card = %+v", m)
			}
		})
	}
}

func TestEditParts(t *testing.T) {
	lines := strings.Repeat("a line of text\n", 500)
	tests := []struct {
		name  string
		text  string
		parts int
	}{
		{"Empty", "", 1},
		{"Short", "hello", 1},
		{"AtLimit", strings.Repeat("x", inputLimit), 1},
		{"Lines", lines, 3},
		{"NoNewlines", strings.Repeat("y", 2*inputLimit+1), 3},
		{"WideRunes", strings.Repeat("😀", inputLimit), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := editParts(tt.text)
			if len(parts) != tt.parts || strings.Join(parts, "") != tt.text {
				t.Fatalf("%d parts joining to the text: %v", len(parts), strings.Join(parts, "") == tt.text)
			}
			for i, p := range parts {
				if slackText.Len(p) > inputLimit {
					t.Fatalf("part %d is %d long", i, slackText.Len(p))
				}
				if tt.name == "Lines" && !strings.HasSuffix(p, "\n") {
					t.Fatalf("part %d does not end at a line: %q", i, p[len(p)-10:])
				}
			}
		})
	}
}

// TestPostFinishesInterruptedParts posts a long keyed message whose second
// part fails, then posts it again as after a crash: only the missing part
// is sent, and FindPosted reports the message once it is whole.
func TestPostFinishesInterruptedParts(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, nil)
	MustRun(t, a, newFakeEngine().host())
	ctx := testContext(t)
	q := slacktest.UserMessage{User: "UCUST", Channel: "CSUP", Text: "tell me all", TS: fake.NewTS()}
	fake.Callback(q.Message())
	where := bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "CSUP", Thread: q.TS}
	text := longAnswer(20_000)
	fake.Inject(slacktest.Fault{Method: "chat.postMessage", Error: "fatal_error", After: 1})
	if _, err := a.Post(ctx, where, text, "dkey"); err == nil {
		t.Fatal("Post succeeded through a failure")
	}
	if _, found, err := a.FindPosted(ctx, where, "dkey"); err != nil || found {
		t.Fatalf("half a message found: %v, %v", found, err)
	}
	ref, err := a.Post(ctx, where, text, "dkey")
	if err != nil {
		t.Fatal(err)
	}
	msgs := fake.Thread("CSUP", q.TS)
	if got := shownTexts(msgs); !reflect.DeepEqual(got, slackText.Split(text)) || msgs[0].TS != ref.ID {
		t.Fatalf("thread shows %d messages, first %s, ref %s", len(got), msgs[0].TS, ref.ID)
	}
	found, ok, err := a.FindPosted(ctx, where, "dkey")
	if err != nil || !ok || found.ID != ref.ID {
		t.Fatalf("FindPosted = %+v, %v, %v", found, ok, err)
	}
	if _, ok, _ := a.FindPosted(ctx, where, "other"); ok {
		t.Fatal("FindPosted found a message posted with another key")
	}
	// Outside threads, as in a DM, the channel's history is searched.
	dm := bot.ThreadRef{Platform: "slack", Workspace: "T0KIMI", Channel: "D1", DM: true}
	if _, ok, err := a.FindPosted(ctx, dm, "dkey"); ok || err != nil {
		t.Fatalf("found in an empty DM: %v, %v", ok, err)
	}
	posted, err := a.Post(ctx, dm, "In the DM.", "dkey")
	if err != nil {
		t.Fatal(err)
	}
	if found, ok, err := a.FindPosted(ctx, dm, "dkey"); err != nil || !ok || found.ID != posted.ID {
		t.Fatalf("FindPosted in a DM = %+v, %v, %v", found, ok, err)
	}
}

func TestNamesAndGroupsAreCached(t *testing.T) {
	fake := slacktest.Start(t, slacktest.Options{})
	a := MustAdapter(t, fake, nil)
	MustRun(t, a, newFakeEngine().host())
	ctx := testContext(t)
	fake.AddUser(slacktest.User{ID: "U1", Name: "Ana", RealName: "Ana Lima"})
	fake.SetUserGroup("S1", "U1")
	for range 3 {
		if got := a.userName(ctx, "U1"); got != "Ana" {
			t.Fatalf("name = %q", got)
		}
		if got := a.userName(ctx, "UNOBODY"); got != "" {
			t.Fatalf("unknown user's name = %q", got)
		}
		if in, err := a.InGroup(ctx, "S1", "U1"); !in || err != nil {
			t.Fatalf("InGroup = %v, %v", in, err)
		}
		if in, err := a.InGroup(ctx, "S1", "U2"); in || err != nil {
			t.Fatalf("InGroup of a non-member = %v, %v", in, err)
		}
	}
	if n, m := len(fake.Calls("users.info")), len(fake.Calls("usergroups.users.list")); n != 2 || m != 1 {
		t.Fatalf("%d users.info and %d usergroups.users.list calls; want each answer asked for once", n, m)
	}
	if got := a.cachedName("U1"); got != "Ana" {
		t.Fatalf("cached name = %q", got)
	}
}
