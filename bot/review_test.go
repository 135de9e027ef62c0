package bot

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
)

// postRecorder is a minimal platform that records Post calls.
type postRecorder struct {
	posts []ThreadRef
	texts []string
}

func (p *postRecorder) Name() string                                      { return "test" }
func (p *postRecorder) Run(ctx context.Context, _ Host) error             { <-ctx.Done(); return nil }
func (p *postRecorder) Reply(context.Context, ReplyTarget) (Reply, error) { return &collector{}, nil }
func (p *postRecorder) Post(_ context.Context, where ThreadRef, text, _ string) (MsgRef, error) {
	p.posts = append(p.posts, where)
	p.texts = append(p.texts, text)
	return MsgRef{Platform: "test", Channel: where.Channel, ID: "r"}, nil
}
func (p *postRecorder) FindPosted(context.Context, ThreadRef, string) (MsgRef, bool, error) {
	return MsgRef{}, false, nil
}

func TestRemindOncePerDraft(t *testing.T) {
	store, err := storage.Open(filepath.Join(t.TempDir(), "r.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	e := NewEngine(Config{Threads: store, Events: store, Settings: store, Drafts: store, ReminderAfter: 30 * time.Minute,
		Now: func() time.Time { return now }})
	p := &postRecorder{}
	e.Register(p)
	ctx := context.Background()
	for i, age := range []time.Duration{45 * time.Minute, 10 * time.Minute} {
		d := conversation.Draft{ID: []string{"old", "young"}[i], Kind: conversation.DraftReply,
			Thread: "test/W1/CSUP/T1", ReviewChannel: "CREV", Card: MsgRef{Platform: "test", Channel: "CREV", ID: "card" + string(rune('1'+i))},
			CustomerName: "Carla", Created: now.Add(-age)}
		if i == 1 {
			d.Thread = "test/W1/CSUP/T2"
		}
		if _, err := store.CreateDraft(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	e.desk.remind(ctx)
	e.desk.remind(ctx)
	if len(p.posts) != 1 {
		t.Fatalf("reminders = %d, want one for the old draft only", len(p.posts))
	}
	if p.posts[0].Channel != "CREV" || p.posts[0].Thread != "card1" || p.texts[0] != "Reminder: this reply from Carla has waited 45m0s for review." {
		t.Fatalf("reminder %q in %+v", p.texts[0], p.posts[0])
	}
}

func TestLineDiff(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{"same", "same", ""},
		{"a\nb\nc", "a\nB\nc", "  a\n- b\n+ B\n  c"},
		{"", "new", "- \n+ new"},
		{"one\ntwo", "one", "  one\n- two"},
	}
	for _, c := range cases {
		if got := lineDiff(c.a, c.b); got != c.want {
			t.Errorf("lineDiff(%q, %q) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}
