package conversation

import (
	"context"
	"time"
)

// UsageRecord is the token accounting of one model call, with who caused it.
type UsageRecord struct {
	// Time is when the call finished; the store's clock when zero.
	Time      time.Time `json:"time"`
	Platform  string    `json:"platform,omitempty"`
	Workspace string    `json:"workspace,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	// Thread is the conversation's thread key.
	Thread string `json:"thread,omitempty"`
	User   string `json:"user,omitempty"`
	Model  string `json:"model,omitempty"`
	Usage  Usage  `json:"usage"`
}

// UsageFilter selects usage records. Empty fields match anything; Since is
// inclusive and Until exclusive, and a zero time leaves that end open.
type UsageFilter struct {
	Platform, User, Channel, Thread string
	Since, Until                    time.Time
}

// Match reports whether rec passes the non-time parts of the filter.
func (f UsageFilter) Match(rec UsageRecord) bool {
	return (f.Platform == "" || f.Platform == rec.Platform) &&
		(f.User == "" || f.User == rec.User) &&
		(f.Channel == "" || f.Channel == rec.Channel) &&
		(f.Thread == "" || f.Thread == rec.Thread)
}

// UsageStore keeps per-call usage for accounting.
type UsageStore interface {
	RecordUsage(ctx context.Context, rec UsageRecord) error
	// UsageSum adds up the matching records and returns the total and their count.
	UsageSum(ctx context.Context, f UsageFilter) (Usage, int, error)
}
