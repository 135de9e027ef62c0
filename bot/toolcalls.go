package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"kimibot/conversation"
)

// maxRepeatSteps is how many steps of only repeated calls end a turn.
const maxRepeatSteps = 2

// runCalls runs calls in order and returns a record per call, results
// filled. Calls already in done keep their recorded result. A call that
// needs approval stops the run: its index is returned (else -1) and it and
// later calls have no result yet. A call identical to an earlier one in
// the same turn is not run again; two steps of only repeats end the turn.
func (t *turn) runCalls(ctx context.Context, calls []conversation.ToolCall,
	done map[string]conversation.ToolRecord) ([]conversation.ToolRecord, int, error) {
	recs := make([]conversation.ToolRecord, len(calls))
	repeats := 0
	for i, c := range calls {
		recs[i] = conversation.ToolRecord{ID: c.ID, Name: c.Name, Arguments: c.Arguments}
		if r, ok := done[c.ID]; ok {
			recs[i] = r
			continue
		}
		if c.Name == WebSearchTool {
			recs[i] = t.webSearch(ctx, c)
			t.records = append(t.records, recs[i])
			continue
		}
		sig := c.Name + "\x00" + canonicalJSON(c.Arguments)
		if t.calls[sig] {
			repeats++
			recs[i].Result, recs[i].IsError = fmt.Sprintf("error: %s was already called with these arguments in "+
				"this turn; use that result instead of calling it again.", c.Name), true
			continue
		}
		if t.e.needsApproval(c.Name) {
			return recs, i, nil
		}
		t.calls[sig] = true
		recs[i].Result, recs[i].IsError = t.runTool(ctx, c)
		t.records = append(t.records, recs[i])
	}
	if len(calls) > 0 && repeats == len(calls) {
		t.loops++
		if t.loops >= maxRepeatSteps {
			return nil, -1, errRepeatedCall
		}
	}
	return recs, -1, nil
}

// needsApproval reports whether calls to the tool wait for an approver.
func (e *Engine) needsApproval(name string) bool {
	if e.cfg.Tools == nil || e.cfg.Drafts == nil {
		return false
	}
	for _, s := range e.cfg.Tools.Specs() {
		if s.Name == name {
			return s.NeedsApproval
		}
	}
	return false
}

func (t *turn) runTool(ctx context.Context, c conversation.ToolCall) (string, bool) {
	tools := t.e.cfg.Tools
	if tools == nil {
		return "error: no tools are available", true
	}
	t.status(ctx, tools.Describe(c.Name, c.Arguments))
	res := tools.Run(ctx, c.Name, c.Arguments)
	t.log.Info("tool call", "tool", c.Name, "error", res.IsError)
	t.e.observeTool(c.Name, res.IsError)
	return res.Content, res.IsError
}

// canonicalJSON compacts JSON text so that calls differing only in spacing compare equal.
func canonicalJSON(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}
