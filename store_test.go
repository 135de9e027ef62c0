package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/postgres"
	"kimibot/storage/postgres/pgtest"
)

// fillBolt writes one of every kind of record into a new bbolt file.
func fillBolt(tb testing.TB, path string) {
	tb.Helper()
	ctx := context.Background()
	s, err := storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	key := conversation.ThreadKey("slack/T1/C1/100.1")
	steps := []func() error{
		func() error {
			_, err := s.Append(ctx, key, conversation.Message{Role: conversation.RoleUser, Text: "old"})
			return err
		},
		func() error { return s.Reset(ctx, key) },
		func() error {
			_, err := s.Append(ctx, key, conversation.Message{Role: conversation.RoleUser, Text: "hello"},
				conversation.Message{Role: conversation.RoleAssistant, Text: "hi there"})
			return err
		},
		func() error {
			return s.IndexRefs(ctx, key, conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "100.2"})
		},
		func() error {
			return s.SetSetting(ctx, conversation.Scope{Kind: conversation.ScopeChannel, Platform: "slack", ID: "C1"},
				"model", "kimi-k2")
		},
		func() error {
			return s.RecordUsage(ctx, conversation.UsageRecord{Platform: "slack", Thread: string(key),
				Usage: conversation.Usage{TotalTokens: 42}})
		},
		func() error {
			_, err := s.CreateDraft(ctx, conversation.Draft{ID: "d1", Kind: conversation.DraftReply, Thread: key, Text: "draft"})
			return err
		},
		func() error {
			_, err := s.UpdateDraft(ctx, "d1", func(d *conversation.Draft) (*conversation.AuditRecord, error) {
				d.State = conversation.DraftRejected
				return &conversation.AuditRecord{Action: conversation.AuditReject, By: "U9"}, nil
			})
			return err
		},
		func() error {
			_, err := s.Accept(ctx, conversation.InboxItem{ID: "ev1", Thread: key, DedupeKeys: []string{"ev1"},
				Payload: []byte(`{}`)})
			return err
		},
		func() error { _, err := s.Begin(ctx, "ev1"); return err },
		func() error {
			return s.OpenReply(ctx, conversation.ReplyRecord{ID: "r1", Thread: key, Platform: "slack",
				Refs: []conversation.MsgRef{{Platform: "slack", Channel: "C1", ID: "100.3"}}})
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			tb.Fatalf("fill step %d: %v", i, err)
		}
	}
}

func TestMigrateStoreCopiesEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	fillBolt(t, path)
	url := pgtest.MustDatabase(t)
	out, errOut, code := MustRunKimibot(t, "", nil, "migrate-store", "--from", path, "--to", url)
	if code != 0 || !strings.Contains(out, "copied") {
		t.Fatalf("migrate-store exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	ctx := context.Background()
	s, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := conversation.ThreadKey("slack/T1/C1/100.1")
	msgs, _ := s.Messages(ctx, key)
	th, _ := s.Thread(ctx, key)
	if len(msgs) != 2 || msgs[1].Text != "hi there" || th.Generation != 1 || !th.Active {
		t.Errorf("thread = %+v with %+v; want generation 1 with two messages", th, msgs)
	}
	more, err := s.Append(ctx, key, conversation.Message{Text: "after"})
	if err != nil || more[0].Seq != 4 {
		t.Errorf("append after migration: seq %v, %v; want 4 (sequence continues)", more, err)
	}
	if k, err := s.ThreadByRef(ctx, conversation.MsgRef{Platform: "slack", Channel: "C1", ID: "100.2"}); k != key {
		t.Errorf("ref = %q, %v", k, err)
	}
	if v, _ := s.Setting(ctx, conversation.Scope{Kind: conversation.ScopeChannel, Platform: "slack", ID: "C1"}, "model"); v != "kimi-k2" {
		t.Errorf("setting = %q", v)
	}
	if sum, n, _ := s.UsageSum(ctx, conversation.UsageFilter{}); sum.TotalTokens != 42 || n != 1 {
		t.Errorf("usage = %+v in %d records", sum, n)
	}
	if d, _ := s.Draft(ctx, "d1"); d.State != conversation.DraftRejected {
		t.Errorf("draft = %+v", d)
	}
	if recs, _ := s.Audit(ctx, time.Time{}); len(recs) != 1 || recs[0].By != "U9" {
		t.Errorf("audit = %+v", recs)
	}
	if items, _ := s.Pending(ctx); len(items) != 1 || items[0].ID != "ev1" || items[0].Attempts != 1 {
		t.Errorf("inbox = %+v", items)
	}
	if dup, _ := s.MarkProcessed(ctx, time.Time{}, "ev1"); !dup {
		t.Error("processed event not copied")
	}
	if open, _ := s.OpenReplies(ctx); len(open) != 1 || len(open[0].Refs) != 1 {
		t.Errorf("open replies = %+v", open)
	}
	_, errOut, code = MustRunKimibot(t, "", nil, "migrate-store", "--from", path, "--to", url)
	if code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("second migrate-store exit %d, stderr %s; want a refusal", code, errOut)
	}
}
