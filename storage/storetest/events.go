package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"kimibot/conversation"
)

func testMarkProcessed(t *testing.T, open Opener) {
	type mark struct {
		at      time.Duration // after t0
		ids     []string
		wantDup bool
	}
	tests := []struct {
		name  string
		marks []mark
	}{
		{"New", []mark{{0, []string{"Ev1"}, false}}},
		{"Duplicate", []mark{{0, []string{"Ev1"}, false}, {time.Minute, []string{"Ev1"}, true}}},
		{"AtTTL", []mark{{0, []string{"Ev1"}, false}, {time.Hour, []string{"Ev1"}, true}}},
		{"AfterTTL", []mark{{0, []string{"Ev1"}, false}, {time.Hour + time.Nanosecond, []string{"Ev1"}, false}}},
		{"RenewedAfterTTL", []mark{{0, []string{"Ev1"}, false}, {2 * time.Hour, []string{"Ev1"}, false}, {150 * time.Minute, []string{"Ev1"}, true}}},
		{"FirstTimeKept", []mark{{0, []string{"Ev1"}, false}, {50 * time.Minute, []string{"Ev1"}, true}, {70 * time.Minute, []string{"Ev1"}, false}}},
		{"AnyOfSeveral", []mark{{0, []string{"C1/100.1"}, false}, {time.Second, []string{"Ev2", "C1/100.1"}, true}, {2 * time.Second, []string{"Ev2"}, true}}},
		{"RepeatedInOneCall", []mark{{0, []string{"Ev1", "Ev1"}, false}, {time.Second, []string{"Ev1"}, true}}},
		{"EmptyIgnored", []mark{{0, []string{""}, false}, {time.Second, []string{""}, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, Options{EventTTL: time.Hour})
			for i, m := range tt.marks {
				dup, err := s.MarkProcessed(context.Background(), t0.Add(m.at), m.ids...)
				if err != nil {
					t.Fatal(err)
				}
				if dup != m.wantDup {
					t.Errorf("mark %d %v at +%v: dup = %t, want %t", i, m.ids, m.at, dup, m.wantDup)
				}
			}
		})
	}
}

func testExpireProcessed(t *testing.T, open Opener) {
	s := open(t, Options{EventTTL: time.Hour})
	ctx := context.Background()
	for i, id := range []string{"a", "b", "c"} {
		if _, err := s.MarkProcessed(ctx, t0.Add(time.Duration(i)*time.Minute), id); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.ExpireProcessed(ctx, t0.Add(90*time.Second))
	if err != nil || n != 2 {
		t.Fatalf("ExpireProcessed = %d, %v; want 2", n, err)
	}
	if dup, _ := s.MarkProcessed(ctx, t0.Add(3*time.Minute), "a"); dup {
		t.Error("expired event still counts as a duplicate")
	}
	if dup, _ := s.MarkProcessed(ctx, t0.Add(3*time.Minute), "c"); !dup {
		t.Error("kept event no longer counts as a duplicate")
	}
}

func testSettings(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := context.Background()
	th := conversation.Scope{Kind: conversation.ScopeThread, Platform: "slack", ID: "slack/T/C/1.2"}
	user := conversation.Scope{Kind: conversation.ScopeUser, Platform: "slack", ID: "U1"}
	if _, err := s.Setting(ctx, th, "model"); !errors.Is(err, conversation.ErrNotFound) {
		t.Fatalf("Setting before set: %v", err)
	}
	for _, step := range []struct {
		scope conversation.Scope
		value string
	}{{th, "kimi-a"}, {user, "kimi-b"}, {th, "kimi-c"}} {
		if err := s.SetSetting(ctx, step.scope, "model", step.value); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := s.Setting(ctx, th, "model"); err != nil || v != "kimi-c" {
		t.Errorf("thread setting = %q, %v", v, err)
	}
	if v, err := s.Setting(ctx, user, "model"); err != nil || v != "kimi-b" {
		t.Errorf("user setting = %q, %v", v, err)
	}
	if err := s.SetSetting(ctx, th, "model", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Setting(ctx, th, "model"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("Setting after delete: %v", err)
	}
	if err := s.SetSetting(ctx, th, "a/b", "x"); err == nil {
		t.Error("SetSetting accepted a name with a slash")
	}
}

func testUsage(t *testing.T, open Opener) {
	s := open(t, Options{})
	ctx := context.Background()
	u := func(p int) conversation.Usage { return conversation.Usage{PromptTokens: p, TotalTokens: p, Cost: 0.5} }
	recs := []conversation.UsageRecord{
		{Time: t0, Platform: "slack", User: "U1", Channel: "C1", Thread: "k/1", Usage: u(1)},
		{Time: t0.Add(time.Hour), Platform: "slack", User: "U2", Channel: "C1", Thread: "k/2", Usage: u(10)},
		{Time: t0.Add(2 * time.Hour), Platform: "discord", User: "U1", Channel: "C9", Thread: "k/3", Usage: u(100)},
	}
	for _, r := range recs {
		if err := s.RecordUsage(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		f      conversation.UsageFilter
		tokens int
		n      int
	}{
		{"All", conversation.UsageFilter{}, 111, 3},
		{"Platform", conversation.UsageFilter{Platform: "slack"}, 11, 2},
		{"User", conversation.UsageFilter{User: "U1"}, 101, 2},
		{"Channel", conversation.UsageFilter{Channel: "C1"}, 11, 2},
		{"Thread", conversation.UsageFilter{Thread: "k/3"}, 100, 1},
		{"SinceInclusive", conversation.UsageFilter{Since: t0.Add(time.Hour)}, 110, 2},
		{"UntilExclusive", conversation.UsageFilter{Until: t0.Add(time.Hour)}, 1, 1},
	}
	for _, tt := range tests {
		sum, n, err := s.UsageSum(ctx, tt.f)
		if err != nil || sum.PromptTokens != tt.tokens || n != tt.n || sum.Cost != 0.5*float64(tt.n) {
			t.Errorf("%s: UsageSum = %+v, %d, %v; want %d tokens in %d records", tt.name, sum, n, err, tt.tokens, tt.n)
		}
	}
}
