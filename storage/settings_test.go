package storage_test

import (
	"context"
	"errors"
	"testing"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

func TestSettings(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	user := conversation.Scope{Kind: conversation.ScopeUser, Platform: "slack", ID: "U1"}
	channel := conversation.Scope{Kind: conversation.ScopeChannel, Platform: "slack", ID: "U1"}
	thread := conversation.Scope{Kind: conversation.ScopeThread, Platform: "slack", ID: "slack/T/C/1.2"}
	otherPlatform := conversation.Scope{Kind: conversation.ScopeUser, Platform: "discord", ID: "U1"}

	steps := []struct {
		name   string
		set    bool
		scope  conversation.Scope
		key    string
		value  string
		want   string
		errNot bool
	}{
		{name: "SetUser", set: true, scope: user, key: "model", value: "kimi-k2.6"},
		{name: "GetUser", scope: user, key: "model", want: "kimi-k2.6"},
		{name: "OtherName", scope: user, key: "thinking", errNot: true},
		{name: "SameIDOtherKind", scope: channel, key: "model", errNot: true},
		{name: "SameIDOtherPlatform", scope: otherPlatform, key: "model", errNot: true},
		{name: "SetAfterMiss", set: true, scope: otherPlatform, key: "model", value: "kimi-k2.6"},
		{name: "GetAfterMiss", scope: otherPlatform, key: "model", want: "kimi-k2.6"},
		{name: "SetThread", set: true, scope: thread, key: "model", value: "kimi-k3"},
		{name: "GetThread", scope: thread, key: "model", want: "kimi-k3"},
		{name: "Overwrite", set: true, scope: user, key: "model", value: "kimi-k2.5"},
		{name: "GetOverwritten", scope: user, key: "model", want: "kimi-k2.5"},
		{name: "Delete", set: true, scope: user, key: "model", value: ""},
		{name: "GetDeleted", scope: user, key: "model", errNot: true},
		{name: "DeleteMissing", set: true, scope: channel, key: "model", value: ""},
		{name: "ThreadUntouched", scope: thread, key: "model", want: "kimi-k3"},
	}
	for _, st := range steps {
		if st.set {
			if err := s.SetSetting(ctx, st.scope, st.key, st.value); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			continue
		}
		got, err := s.Setting(ctx, st.scope, st.key)
		if st.errNot {
			if !errors.Is(err, conversation.ErrNotFound) {
				t.Errorf("%s: Setting = %q, %v; want ErrNotFound", st.name, got, err)
			}
			continue
		}
		if err != nil || got != st.want {
			t.Errorf("%s: Setting = %q, %v; want %q", st.name, got, err, st.want)
		}
	}
}

func TestSettings_ErrInvalid(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	ok := conversation.Scope{Kind: conversation.ScopeUser, Platform: "slack", ID: "U1"}
	tests := []struct {
		name  string
		scope conversation.Scope
		key   string
	}{
		{"EmptyName", ok, ""},
		{"SlashInName", ok, "a/b"},
		{"NoKind", conversation.Scope{Platform: "slack", ID: "U1"}, "model"},
		{"NoPlatform", conversation.Scope{Kind: conversation.ScopeUser, ID: "U1"}, "model"},
		{"NoID", conversation.Scope{Kind: conversation.ScopeUser, Platform: "slack"}, "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.SetSetting(ctx, tt.scope, tt.key, "v"); err == nil {
				t.Error("SetSetting accepted an invalid key")
			}
			if _, err := s.Setting(ctx, tt.scope, tt.key); err == nil || errors.Is(err, conversation.ErrNotFound) {
				t.Errorf("Setting error = %v, want an invalid-key error", err)
			}
		})
	}
}

// TestSettingsSurviveReopen checks that settings, held in memory while the
// store is open, are read back from the file by the next Open, deletions
// included.
func TestSettingsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	channel := conversation.Scope{Kind: conversation.ScopeChannel, Platform: "slack", ID: "C1"}
	s := storagetest.MustOpenAt(t, path, storage.Options{})
	for _, set := range [][2]string{{"model", "kimi-k2.6"}, {"thinking", "on"}, {"thinking", ""}} {
		if err := s.SetSetting(ctx, channel, set[0], set[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = storagetest.MustOpenAt(t, path, storage.Options{})
	if v, err := s.Setting(ctx, channel, "model"); err != nil || v != "kimi-k2.6" {
		t.Errorf("model after reopen = %q, %v; want kimi-k2.6", v, err)
	}
	if v, err := s.Setting(ctx, channel, "thinking"); !errors.Is(err, conversation.ErrNotFound) {
		t.Errorf("deleted thinking after reopen = %q, %v; want ErrNotFound", v, err)
	}
}
