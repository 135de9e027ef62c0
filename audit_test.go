package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
)

func TestAuditExportsDecisionsAsJSONLines(t *testing.T) {
	db := filepath.Join(t.TempDir(), "audit.db")
	store, err := storage.Open(db, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := conversation.Draft{ID: "d1", Kind: conversation.DraftReply, Thread: "slack/T1/CSUP/1.2", Text: "draft",
		State: conversation.DraftPending}
	if _, err := store.CreateDraft(ctx, d); err != nil {
		t.Fatal(err)
	}
	_, err = store.UpdateDraft(ctx, "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		d.State, d.SentText = conversation.DraftSending, "edited"
		return &conversation.AuditRecord{Action: "edit", By: "U1", DraftText: "draft", SentText: "edited"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()

	out, errOut, code := MustRunKimibot(t, "", nil, "audit", "--since", "24h", "--db", db)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var rec conversation.AuditRecord
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rec) != nil || rec.DraftID != "d1" ||
		rec.DraftText != "draft" || rec.SentText != "edited" || rec.By != "U1" {
		t.Fatalf("audit output = %q", out)
	}
	if out, _, _ := MustRunKimibot(t, "", nil, "audit", "--since", "2999-01-01", "--db", db); out != "" {
		t.Fatalf("future --since exported %q", out)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), true},
		{"2026-11-01T10:00:00Z", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), true},
		{"24h", now.Add(-24 * time.Hour), true},
		{"yesterday", time.Time{}, false},
		{"-5h", time.Time{}, false},
	}
	for _, c := range cases {
		got, err := parseSince(c.in, now)
		if (err == nil) != c.ok || !got.Equal(c.want) {
			t.Errorf("parseSince(%q) = %v, %v", c.in, got, err)
		}
	}
}
