package conversation

// The defaults for zero Budget fields.
const (
	// DefaultContextTokens is the context window assumed when none is known.
	DefaultContextTokens = 131072
	// DefaultReserveOutput is the room kept free for the answer.
	DefaultReserveOutput = 4096
)

// Budget is the token room a request may use.
type Budget struct {
	// ContextTokens is the model's context window; DefaultContextTokens when 0.
	ContextTokens int
	// ReserveOutput is kept free for the answer; DefaultReserveOutput when 0.
	ReserveOutput int
}

// PromptLimit returns the tokens left for the prompt: the context window
// minus the reserved output, never below zero.
func (b Budget) PromptLimit() int {
	window, reserve := b.ContextTokens, b.ReserveOutput
	if window <= 0 {
		window = DefaultContextTokens
	}
	if reserve <= 0 {
		reserve = DefaultReserveOutput
	}
	return max(window-reserve, 0)
}

// BuildHistory returns the request messages for a thread: system first, then
// the newest of msgs that fit the budget, dropping the oldest first.
//
// Messages are kept or dropped in groups: an assistant message with tool
// calls goes together with all its results. Tool results without their call
// right before them, and tool calls missing a result (an interrupted turn),
// are left out, so the history is always a valid request. The newest user
// message is kept even when it alone exceeds the budget; then it is the only
// message after system. Reasoning is kept on tool-call messages, which
// thinking models require, and cleared from plain answers, which keep only
// OpenRouter's reasoning_details. msgs is not
// modified; the result shares Parts and ToolCalls with it.
func BuildHistory(system Message, msgs []Message, b Budget, est *Estimator) []Message {
	groups := groupMessages(msgs)
	room := b.PromptLimit() - est.EstimateMessage(system)

	keep := make([]bool, len(groups))
	used := 0
	lastUser := lastUserGroup(groups)
	if lastUser >= 0 {
		keep[lastUser] = true
		used = est.Estimate(groups[lastUser])
	}
	for i := len(groups) - 1; i >= 0; i-- {
		if i == lastUser {
			continue
		}
		cost := est.Estimate(groups[i])
		if used+cost > room {
			break
		}
		keep[i] = true
		used += cost
	}

	out := []Message{system}
	for i, g := range groups {
		if keep[i] {
			out = append(out, g...)
		}
	}
	return out
}

// groupMessages splits msgs into the units BuildHistory keeps or drops,
// leaving out what could not be sent: orphan tool results, incomplete tool
// call groups and empty answers.
func groupMessages(msgs []Message) [][]Message {
	var groups [][]Message
	for i := 0; i < len(msgs); {
		m := msgs[i]
		switch {
		case m.Role == RoleTool:
			i++ // an orphan: a complete group consumes its own results
		case m.Role == RoleAssistant && len(m.ToolCalls) > 0:
			g, next := toolCallGroup(msgs, i)
			if g != nil {
				groups = append(groups, g)
			}
			i = next
		case m.Role == RoleAssistant && m.Text == "" && len(m.Parts) == 0:
			i++
		default:
			groups = append(groups, []Message{trimForRequest(m)})
			i++
		}
	}
	return groups
}

// toolCallGroup collects the assistant tool-call message at msgs[i] and the
// tool results that follow it, in call order. It returns a nil group when a
// call has no result, and the index after the consumed messages.
func toolCallGroup(msgs []Message, i int) (group []Message, next int) {
	call := msgs[i]
	results := make(map[string]*Message, len(call.ToolCalls))
	for _, c := range call.ToolCalls {
		results[c.ID] = nil
	}
	next = i + 1
	for ; next < len(msgs) && msgs[next].Role == RoleTool; next++ {
		id := msgs[next].ToolCallID
		if r, wanted := results[id]; wanted && r == nil {
			results[id] = &msgs[next]
		}
	}

	group = []Message{call}
	added := make(map[string]bool, len(results))
	for _, c := range call.ToolCalls {
		r := results[c.ID]
		if c.ID == "" || r == nil {
			return nil, next
		}
		if !added[c.ID] {
			added[c.ID] = true
			group = append(group, *r)
		}
	}
	return group, next
}

// trimForRequest returns a copy of m without what the request does not need:
// the reasoning text of a plain answer. OpenRouter's reasoning_details stay
// on every assistant message, unchanged, as OpenRouter asks.
func trimForRequest(m Message) Message {
	if m.Role == RoleAssistant && len(m.ToolCalls) == 0 {
		m.Reasoning = ""
	}
	return m
}

// lastUserGroup returns the index of the group holding the newest user
// message, or -1.
func lastUserGroup(groups [][]Message) int {
	for i := len(groups) - 1; i >= 0; i-- {
		if groups[i][0].Role == RoleUser {
			return i
		}
	}
	return -1
}
