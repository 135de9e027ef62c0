package storage_test

import (
	"context"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

func TestUsageSum(t *testing.T) {
	ctx := context.Background()
	now, _ := fixedClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := storagetest.MustOpenAt(t, tempDB(t), storage.Options{NoSync: true, Now: now})
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	u := func(prompt, completion int, cost float64) conversation.Usage {
		return conversation.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion, Cost: cost}
	}
	records := []storage.UsageRecord{
		{Time: t0, Platform: "slack", Workspace: "T1", Channel: "C1", Thread: "slack/T1/C1/1", User: "U1", Model: "kimi-k2.6", Usage: u(100, 10, 0.5)},
		{Time: t0.Add(time.Hour), Platform: "slack", Workspace: "T1", Channel: "C1", Thread: "slack/T1/C1/1", User: "U2", Model: "kimi-k2.6", Usage: u(200, 20, 1)},
		{Time: t0.Add(24 * time.Hour), Platform: "slack", Workspace: "T1", Channel: "C2", Thread: "slack/T1/C2/9", User: "U1", Model: "kimi-k3", Usage: u(300, 30, 2)},
		{Time: t0.Add(48 * time.Hour), Platform: "discord", Workspace: "G1", Channel: "C1", Thread: "discord/G1/C1/5", User: "U1", Model: "kimi-k2.6", Usage: u(400, 40, 4)},
		{Platform: "discord", Workspace: "G1", Channel: "C7", Thread: "discord/G1/C7/6", User: "U3", Usage: u(1000, 100, 8)}, // at the clock
	}
	// Write out of time order: the key, not insertion order, must decide ranges.
	for _, i := range []int{3, 0, 4, 2, 1} {
		if err := s.RecordUsage(ctx, records[i]); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		filter    storage.UsageFilter
		wantIdx   []int
		wantCount int
	}{
		{"All", storage.UsageFilter{}, []int{0, 1, 2, 3, 4}, 5},
		{"Platform", storage.UsageFilter{Platform: "slack"}, []int{0, 1, 2}, 3},
		{"User", storage.UsageFilter{User: "U1"}, []int{0, 2, 3}, 3},
		{"PlatformUser", storage.UsageFilter{Platform: "slack", User: "U1"}, []int{0, 2}, 2},
		{"Channel", storage.UsageFilter{Channel: "C1"}, []int{0, 1, 3}, 3},
		{"Thread", storage.UsageFilter{Thread: "slack/T1/C1/1"}, []int{0, 1}, 2},
		{"SinceInclusive", storage.UsageFilter{Since: t0.Add(time.Hour)}, []int{1, 2, 3, 4}, 4},
		{"UntilExclusive", storage.UsageFilter{Until: t0.Add(24 * time.Hour)}, []int{0, 1}, 2},
		{"Range", storage.UsageFilter{Since: t0.Add(time.Minute), Until: t0.Add(48*time.Hour + time.Second)}, []int{1, 2, 3}, 3},
		{"RangeAndUser", storage.UsageFilter{User: "U1", Since: t0.Add(time.Minute), Until: t0.Add(72 * time.Hour)}, []int{2, 3}, 2},
		{"ClockDefault", storage.UsageFilter{Since: now()}, []int{4}, 1},
		{"None", storage.UsageFilter{User: "U9"}, nil, 0},
		{"EmptyRange", storage.UsageFilter{Since: t0.Add(2 * time.Hour), Until: t0.Add(3 * time.Hour)}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want conversation.Usage
			for _, i := range tt.wantIdx {
				want = want.Add(records[i].Usage)
			}
			got, n, err := s.UsageSum(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got != want || n != tt.wantCount {
				t.Errorf("UsageSum = %+v, %d; want %+v, %d", got, n, want, tt.wantCount)
			}
		})
	}
}
