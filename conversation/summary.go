package conversation

import (
	"fmt"
	"strings"
)

// SummaryPrefix starts the text of a stored summary.
const SummaryPrefix = "Summary of the earlier part of this conversation:\n"

// ApplySummary returns msgs as the model should see them: when the thread
// holds a summary, the newest one comes first and stands in for every
// message it covers. Older summaries are left out. msgs is not modified.
func ApplySummary(msgs []Message) []Message {
	last := -1
	for i, m := range msgs {
		if m.IsSummary() {
			last = i
		}
	}
	if last < 0 {
		return msgs
	}
	sum := msgs[last]
	out := []Message{sum}
	for _, m := range msgs {
		if m.Seq > sum.Covers && !m.IsSummary() {
			out = append(out, m)
		}
	}
	return out
}

// LatestSummary returns the newest stored summary of msgs.
func LatestSummary(msgs []Message) (Message, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].IsSummary() {
			return msgs[i], true
		}
	}
	return Message{}, false
}

// Overflow returns the oldest messages of msgs that must be summarized for
// the rest to fit the budget, in whole groups (a tool call with all its
// results), and the highest sequence number among them. It returns nil
// when everything fits. It summarizes until the rest fits in three
// quarters of the room, so that a summary is not needed on every turn, and
// never takes the newest user message. A leading summary is included, so
// that the new summary takes it in.
func Overflow(system Message, msgs []Message, b Budget, est *Estimator) ([]Message, uint64) {
	room := b.PromptLimit() - est.EstimateMessage(system)
	if est.Estimate(msgs) <= room {
		// The messages as stored are never smaller than as sent.
		return nil, 0
	}
	var lead []Message
	rest := msgs
	if len(msgs) > 0 && msgs[0].IsSummary() {
		lead, rest = msgs[:1], msgs[1:]
	}
	groups := groupMessages(rest)
	total := est.Estimate(lead)
	for _, g := range groups {
		total += est.Estimate(g)
	}
	if total <= room {
		return nil, 0
	}
	target := room * 3 / 4
	lastUser := lastUserGroup(groups)
	old := append([]Message(nil), lead...)
	var covers uint64
	for i, g := range groups {
		if total <= target || i >= lastUser {
			break
		}
		total -= est.Estimate(g)
		old = append(old, g...)
		for _, m := range g {
			covers = max(covers, m.Seq)
		}
	}
	if covers == 0 {
		return nil, 0
	}
	return old, covers
}

// Transcript renders msgs as plain text for a summarizing call: who said
// what, tool calls and their results, each result cut to limit bytes.
func Transcript(msgs []Message, limit int) string {
	var b strings.Builder
	for _, m := range msgs {
		switch {
		case m.IsSummary():
			b.WriteString(strings.TrimPrefix(m.Text, SummaryPrefix) + "\n\n")
		case m.Role == RoleUser:
			name := m.UserName
			if name == "" {
				name = "user"
			}
			fmt.Fprintf(&b, "%s: %s\n\n", name, m.Text)
			for _, p := range m.Parts {
				if p.Type == PartFile {
					fmt.Fprintf(&b, "(%s attached the document %q)\n\n", name, p.Name)
				}
			}
		case m.Role == RoleAssistant:
			if m.Text != "" {
				fmt.Fprintf(&b, "assistant: %s\n\n", m.Text)
			}
			for _, c := range m.ToolCalls {
				fmt.Fprintf(&b, "assistant called %s(%s)\n", c.Name, cut(c.Arguments, limit))
			}
		case m.Role == RoleTool:
			fmt.Fprintf(&b, "result of %s: %s\n\n", m.ToolName, cut(m.Text, limit))
		}
	}
	return strings.TrimSpace(b.String())
}

func cut(s string, limit int) string {
	if limit <= 0 || len(s) <= limit {
		return s
	}
	for limit > 0 && limit < len(s) && s[limit]&0xC0 == 0x80 {
		limit--
	}
	return s[:limit] + "…"
}
