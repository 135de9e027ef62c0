package chattext

import "strings"

// How much of a tool call a review card shows, on every platform.
const (
	// ToolArgsLimit caps a tool call's arguments.
	ToolArgsLimit = 300
	// ToolResultLimit caps a tool call's result, shown on one line.
	ToolResultLimit = 300
)

// ClipLine is Clip on s with its whitespace runs, newlines included, made
// single spaces.
func (c Counter) ClipLine(s string, n int) string {
	return c.Clip(strings.Join(strings.Fields(s), " "), n)
}
