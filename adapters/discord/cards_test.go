package discord

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"kimibot/adapters/discord/discordtest"
	"kimibot/bot"
	"kimibot/conversation"
)

// hugeCard has every text far over Discord's limits.
func hugeCard() bot.Card {
	var calls []conversation.ToolRecord
	for i := range 40 {
		calls = append(calls, conversation.ToolRecord{ID: fmt.Sprint(i), Name: fmt.Sprintf("tool_%02d", i),
			Arguments: `{"q":"` + strings.Repeat("x", 800) + `"}`, Result: strings.Repeat("result ", 800)})
	}
	return bot.Card{DraftID: "dabcdefghijklm", Kind: conversation.DraftReply, State: conversation.DraftRejected,
		Customer: "42", CustomerName: strings.Repeat("N", 300),
		Source:   bot.MsgRef{Platform: "discord", Channel: "500", ID: "900"},
		Thread:   bot.ThreadRef{Platform: "discord", Workspace: "77", Channel: "500", Thread: "900"},
		Question: strings.Repeat("why? ", 600), Draft: strings.Repeat("é", 9000), ToolCalls: calls,
		Model: "kimi-k2.6", Outcome: "Rejected by Rita. Reason: " + strings.Repeat("no ", 500)}
}

func TestCardEmbedStaysWithinDiscordLimits(t *testing.T) {
	small := bot.Card{DraftID: "d1", Kind: conversation.DraftReply, State: conversation.DraftPending, Customer: "42",
		CustomerName: "Carla", Source: bot.MsgRef{Channel: "500", ID: "900"}, Thread: bot.ThreadRef{Workspace: "77", Channel: "500", Thread: "900"},
		Question: "where is my order?", Draft: "It shipped.", Model: "kimi-k2.6",
		ToolCalls: []conversation.ToolRecord{{Name: "lookup_order", Arguments: `{"order_id":"A1001"}`, Result: `{"carrier":"DHL"}`}}}
	tests := []struct {
		name      string
		card      bot.Card
		tools     int
		moreTools bool
	}{
		{"Small", small, 1, false},
		{"Huge", hugeCard(), -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cardEmbed(tt.card)
			total := discordText.Len(e.Title) + discordText.Len(e.Description) + discordText.Len(e.Footer.Text)
			tools, more := 0, false
			for _, f := range e.Fields {
				if f.Name == "" || f.Value == "" || discordText.Len(f.Name) > maxFieldName || discordText.Len(f.Value) > maxFieldValue {
					t.Fatalf("field %q has %d/%d characters", f.Name, discordText.Len(f.Name), discordText.Len(f.Value))
				}
				total += discordText.Len(f.Name) + discordText.Len(f.Value)
				tools += btoi(strings.HasPrefix(f.Name, "Tool: "))
				more = more || f.Name == "More tool calls"
			}
			if total > maxEmbedTotal || len(e.Fields) > maxFields || discordText.Len(e.Description) > maxDescription {
				t.Fatalf("embed of %d characters, %d fields, description %d", total, len(e.Fields), discordText.Len(e.Description))
			}
			if more != tt.moreTools || tools == 0 || (tt.tools >= 0 && tools != tt.tools) {
				t.Fatalf("%d tool fields, more %v", tools, more)
			}
			if !strings.HasPrefix(tt.card.Draft, strings.TrimSuffix(e.Description, "…")) || discordText.Len(e.Description) < min(minDraft, discordText.Len(tt.card.Draft)) {
				t.Fatalf("description is not the draft's beginning (%d characters)", discordText.Len(e.Description))
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestCardButtons(t *testing.T) {
	id := strings.Repeat("d", 40)
	c := bot.Card{DraftID: id, Actions: []bot.ActionKind{bot.ActionApprove, bot.ActionEdit, bot.ActionRegenerate, bot.ActionReject}}
	rows := cardButtons(c)
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	if got := cardButtons(bot.Card{DraftID: id}); len(got) != 0 {
		t.Fatalf("a decided card has components %v", got)
	}
	for _, k := range c.Actions {
		cid := cardCustomID(k, id)
		kind, draft, ok := parseCustomID(cid)
		if len(cid) > 100 || !ok || kind != k || draft != id {
			t.Fatalf("custom ID %q parses to %s %s %v", cid, kind, draft, ok)
		}
	}
}

func TestPostCardAndUpdateCardAgainstTheFake(t *testing.T) {
	t.Parallel()
	fake := MustFake(t, discordtest.Options{})
	a := MustAdapter(t, fake, nil)
	ch := fake.AddTextChannel(fake.AddGuild(), "reviews")
	ctx := context.Background()
	c := hugeCard()
	c.State, c.Outcome, c.Actions = conversation.DraftPending, "", []bot.ActionKind{bot.ActionApprove, bot.ActionReject}
	// The fake refuses what breaks Discord's limits with 400.
	ref, err := a.PostCard(ctx, bot.ThreadRef{Platform: "discord", Channel: ch}, c)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := fake.Message(ref.ID)
	if ref.Channel != ch || len(m.Buttons()) != 2 || m.Buttons()[0].Style != int(ButtonSuccess) || m.Buttons()[1].Style != int(ButtonDanger) {
		t.Fatalf("card %+v with buttons %+v", ref, m.Buttons())
	}
	c.State, c.Outcome, c.Actions = conversation.DraftSent, "Approved by Rita at 14:02 UTC; sent.", nil
	if err := a.UpdateCard(ctx, ref, c); err != nil {
		t.Fatal(err)
	}
	m, _ = fake.Message(ref.ID)
	if len(m.Buttons()) != 0 || m.Embeds[0].Color != colourSent || !strings.Contains(outcome(m), "Approved by Rita") {
		t.Fatalf("updated card %+v", m.Embeds[0])
	}
}
