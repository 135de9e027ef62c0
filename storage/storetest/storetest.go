// Package storetest is the conformance suite of kimibot's stores: every
// store implementation (bbolt, PostgreSQL) runs the same semantic checks
// of the conversation store interfaces.
package storetest

import (
	"testing"
	"time"

	"kimibot/conversation"
)

// Store is every store interface the engine uses.
type Store interface {
	conversation.ThreadStore
	conversation.EventStore
	conversation.SettingsStore
	conversation.UsageStore
	conversation.DraftStore
	conversation.InboxStore
	conversation.ReplyStore
	conversation.TurnStore
}

// Options are what a test asks of the store it opens.
type Options struct {
	// EventTTL is how long a processed event counts as a duplicate; the
	// store's default when zero.
	EventTTL time.Duration
	// Now is the store's clock; time.Now when nil.
	Now func() time.Time
}

// Opener opens a fresh, empty store for one test and closes it when the
// test ends.
type Opener func(t *testing.T, o Options) Store

// Run runs the whole suite against the stores open returns.
func Run(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"Threads", testThreads},
		{"ThreadRefs", testRefs},
		{"ThreadConcurrentAppend", testConcurrentAppend},
		{"MarkProcessed", testMarkProcessed},
		{"ExpireProcessed", testExpireProcessed},
		{"Settings", testSettings},
		{"Usage", testUsage},
		{"DraftCreate", testDraftCreate},
		{"DraftUpdate", testDraftUpdate},
		{"DraftRace", testDraftRace},
		{"DraftsByStateAndAudit", testDraftsByState},
		{"Inbox", testInbox},
		{"InboxDuplicates", testInboxDuplicates},
		{"InboxConcurrentAccept", testInboxConcurrentAccept},
		{"InboxIncomplete", testInboxIncomplete},
		{"Replies", testReplies},
		{"EndTurn", testEndTurn},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// clock is a settable test clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) Advance(d time.Duration) { c.now = c.now.Add(d) }
func newClock(t time.Time) *clock        { return &clock{now: t} }

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
