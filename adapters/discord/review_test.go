package discord

import (
	"slices"
	"strings"
	"testing"

	"kimibot/bot"
	"kimibot/conversation"
)

func TestParseCustomID(t *testing.T) {
	tests := []struct {
		in    string
		kind  bot.ActionKind
		draft string
		ok    bool
	}{
		{"kimi:approve:d1", bot.ActionApprove, "d1", true},
		{"kimi:regenerate:d:2", bot.ActionRegenerate, "d:2", true},
		{"kimi:launch:d1", "", "", false},
		{"kimi:approve:", "", "", false},
		{"other:approve:d1", "", "", false},
		{"approve:7", "", "", false},
	}
	for _, tt := range tests {
		kind, draft, ok := parseCustomID(tt.in)
		if kind != tt.kind || draft != tt.draft || ok != tt.ok {
			t.Errorf("parseCustomID(%q) = %q, %q, %v", tt.in, kind, draft, ok)
		}
	}
}

func TestCommandArgs(t *testing.T) {
	tests := []struct {
		command string
		options map[string]string
		want    []string
		public  bool
	}{
		{"model", map[string]string{}, nil, false},
		{"model", map[string]string{"id": " kimi-k3 "}, []string{"kimi-k3"}, false},
		{"model", map[string]string{"id": "kimi-k3", "scope": "me"}, []string{"kimi-k3", "me"}, false},
		{"model", map[string]string{"id": "kimi-k3", "scope": "thread"}, []string{"kimi-k3", "thread"}, true},
		{"model", map[string]string{"scope": "channel"}, nil, false},
		{"support", map[string]string{"review": "123"}, []string{"123"}, true},
		{"support", map[string]string{"review": "<#123>"}, []string{"123"}, true},
		{"support", map[string]string{"off": "true"}, []string{"off"}, true},
		{"support", map[string]string{"off": "false"}, nil, false},
		{"usage", map[string]string{}, nil, false},
	}
	for _, tt := range tests {
		spec, ok := bot.LookupCommand(tt.command)
		if !ok {
			t.Fatalf("no command %q in the table", tt.command)
		}
		got := commandArgs(spec, Interaction{Command: tt.command, Options: tt.options})
		public := spec.Public(got)
		if !slices.Equal(got, tt.want) || public != tt.public {
			t.Errorf("/%s %v: args %q public %v, want %q %v", tt.command, tt.options, got, public, tt.want, tt.public)
		}
	}
}

func TestReviewForms(t *testing.T) {
	long := conversation.Draft{ID: "d1", Text: strings.Repeat("word ", 1000)}
	edit := reviewForm(bot.ActionEdit, long)
	in := edit.Inputs[0]
	if edit.CustomID != "kimi:edit:d1" || !in.Required || discordText.Len(in.Value) > maxTextInput || !strings.Contains(in.Label, "cut") {
		t.Fatalf("edit form for a long draft = %+v", edit)
	}
	for _, k := range []bot.ActionKind{bot.ActionReject, bot.ActionRegenerate} {
		f := reviewForm(k, long)
		if len(f.Inputs) != 1 || f.Inputs[0].Required || f.Inputs[0].CustomID != formField(k) || len(f.Title) > 45 {
			t.Fatalf("%s form = %+v", k, f)
		}
	}
}
