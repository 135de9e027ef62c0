package slack

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"kimibot/bot"
	"kimibot/conversation"
)

// The modals a card's buttons open. Each view's callback_id says which
// decision it submits and its private_metadata holds the draft ID.
const (
	modalEdit       = "kimi_edit"
	modalReject     = "kimi_reject"
	modalRegenerate = "kimi_regenerate"
	// editBlock prefixes the block_id of each part of the edited reply;
	// reasonBlock is the block_id of the reason or instruction.
	editBlock   = "kimi_text_"
	reasonBlock = "kimi_reason"
	// inputLimit is the most a plain_text_input holds.
	inputLimit = 3_000
	// reasonLimit caps a reason or an instruction.
	reasonLimit = 1_000
)

// modalKinds maps a view's callback_id to the decision it submits.
var modalKinds = map[string]bot.ActionKind{modalEdit: bot.ActionEdit, modalReject: bot.ActionReject,
	modalRegenerate: bot.ActionRegenerate}

// reviewModal is the modal a button opens for draft d.
func reviewModal(kind bot.ActionKind, d conversation.Draft) slack.ModalViewRequest {
	switch kind {
	case bot.ActionEdit:
		return editModal(d)
	case bot.ActionReject:
		return reasonModal(d.ID, modalReject, "Reject the draft", "Reject", "Reason (optional)",
			"Nothing is sent to the customer. The reason is kept with the decision.")
	}
	return reasonModal(d.ID, modalRegenerate, "Regenerate the draft", "Regenerate", "Instruction (optional)",
		"The model drafts a new reply to the same message, following your instruction.")
}

// editModal holds the draft in text fields of at most 3,000 characters
// each, Slack's limit, so that a long draft is edited whole.
func editModal(d conversation.Draft) slack.ModalViewRequest {
	who := d.CustomerName
	if who == "" {
		who = "<@" + d.Customer + ">"
	}
	blocks := []slack.Block{contextLine("Your reply to " + escape(who) + " is posted exactly as you leave it here.")}
	parts := editParts(d.Text)
	for i, p := range parts {
		label := "Reply"
		if len(parts) > 1 {
			label = fmt.Sprintf("Reply, part %d of %d", i+1, len(parts))
		}
		in := slack.NewPlainTextInputBlockElement(nil, editBlock+"input")
		in.Multiline, in.InitialValue, in.MaxLength = true, p, inputLimit
		blocks = append(blocks, slack.NewInputBlock(editBlock+strconv.Itoa(i),
			slack.NewTextBlockObject(slack.PlainTextType, label, false, false), nil, in))
	}
	return modal(modalEdit, "Edit the reply", "Send", d.ID, blocks)
}

// reasonModal asks for an optional reason or instruction.
func reasonModal(draftID, callback, title, submit, label, explain string) slack.ModalViewRequest {
	in := slack.NewPlainTextInputBlockElement(nil, reasonBlock)
	in.Multiline, in.MaxLength = true, reasonLimit
	input := slack.NewInputBlock(reasonBlock, slack.NewTextBlockObject(slack.PlainTextType, label, false, false), nil, in)
	input.Optional = true
	return modal(callback, title, submit, draftID, []slack.Block{contextLine(explain), input})
}

func modal(callback, title, submit, draftID string, blocks []slack.Block) slack.ModalViewRequest {
	text := func(s string) *slack.TextBlockObject {
		return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
	}
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: callback, PrivateMetadata: draftID,
		Title: text(title), Submit: text(submit), Close: text("Cancel"), Blocks: slack.Blocks{BlockSet: blocks}}
}

// editParts cuts text into pieces of at most inputLimit that concatenate
// to it, each ending after a newline where one is near the limit.
func editParts(text string) []string {
	var parts []string
	for slackText.Len(text) > inputLimit {
		cut := slackText.Count.Within(text, inputLimit)
		if nl := strings.LastIndexByte(text[:cut], '\n'); nl >= cut/2 {
			cut = nl + 1
		}
		parts, text = append(parts, text[:cut]), text[cut:]
	}
	return append(parts, text)
}

// submitted reads what a view's inputs hold: the edited reply, its parts
// joined in order, or the reason.
func submitted(v slack.View) string {
	if v.State == nil {
		return ""
	}
	if v.CallbackID != modalEdit {
		for _, in := range v.State.Values[reasonBlock] {
			return strings.TrimSpace(in.Value)
		}
		return ""
	}
	var ids []string
	for id := range v.State.Values {
		if strings.HasPrefix(id, editBlock) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		x, _ := strconv.Atoi(strings.TrimPrefix(ids[i], editBlock))
		y, _ := strconv.Atoi(strings.TrimPrefix(ids[j], editBlock))
		return x < y
	})
	var b strings.Builder
	for _, id := range ids {
		for _, in := range v.State.Values[id] {
			b.WriteString(in.Value)
		}
	}
	return b.String()
}
