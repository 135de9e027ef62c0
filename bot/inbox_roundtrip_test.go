package bot_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"kimibot/bot"
	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

// An event stored in the durable inbox as JSON comes back whole after a
// restart.
func TestEventSurvivesInboxRoundTrip(t *testing.T) {
	ev := bot.Event{Kind: bot.EventAction, DedupeKeys: []string{"slack:event:Ev1", "slack:C1:1700.1"},
		Thread: bot.ThreadRef{Platform: "slack", Workspace: "T1", Channel: "C1", Thread: "1700.0", DM: true},
		User:   bot.User{ID: "U1", Name: "ana", Roles: []string{"R1"}}, Text: "hello", Message: "1700.1",
		InReplyTo: "1700.0", Addressed: true, Time: time.Date(2026, 12, 4, 10, 0, 0, 123, time.UTC),
		Attachments: []bot.Attachment{{Name: "a.png", MIME: "image/png", Size: 10, URL: "https://files/a.png"}},
		Action: &bot.Action{Kind: "approve", DraftID: "d1", User: bot.User{ID: "U2"}, Platform: "slack",
			Text: "ok", DedupeKey: "slack:action:1"}}
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kimibot.db")
	s := storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
	ctx := context.Background()
	if dup, err := s.Accept(ctx, conversation.InboxItem{ID: "slack:event:Ev1", Thread: ev.Thread.Key(),
		DedupeKeys: ev.DedupeKeys, Payload: payload}); err != nil || dup {
		t.Fatalf("Accept = %v, %v", dup, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = storagetest.MustOpenAt(t, path, storage.Options{NoSync: true})
	items, err := s.Pending(ctx)
	if err != nil || len(items) != 1 {
		t.Fatalf("Pending = %+v, %v", items, err)
	}
	var got bot.Event
	if err := json.Unmarshal(items[0].Payload, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("event after the round trip:\n%+v\nwant\n%+v", got, ev)
	}
}
