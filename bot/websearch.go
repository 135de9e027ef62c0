package bot

import (
	"context"

	"kimibot/conversation"
)

// WebSearchTool is the name of Moonshot's built-in search function.
const WebSearchTool = "$web_search"

// webSearch answers a $web_search call the way Moonshot's builtin-function
// flow asks: the call's arguments go back unchanged as the tool result,
// and the provider runs the search on the next call. The search is shown
// as a tool step and its price is counted.
func (t *turn) webSearch(ctx context.Context, c conversation.ToolCall) conversation.ToolRecord {
	t.status(ctx, "searching the web…")
	price := t.e.cfg.WebSearchPrice
	if price <= 0 {
		price = DefaultWebSearchPrice
	}
	u := conversation.Usage{Cost: price}
	t.usage = t.usage.Add(u)
	t.noteUsage(ctx, WebSearchTool, u)
	t.log.Info("tool call", "tool", WebSearchTool, "error", false)
	return conversation.ToolRecord{ID: c.ID, Name: c.Name, Arguments: c.Arguments, Result: c.Arguments}
}
