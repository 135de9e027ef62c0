package storage_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

// BenchmarkInboxCycle measures one event's way through the durable inbox:
// Accept (with its dedupe keys), Begin and Done, three transactions.
func BenchmarkInboxCycle(b *testing.B) {
	for _, mode := range syncModes {
		b.Run(mode.name, func(b *testing.B) {
			s := storagetest.MustOpenAt(b, tempDB(b), storage.Options{NoSync: mode.noSync})
			ctx := context.Background()
			payload := []byte(strings.Repeat(`{"text":"hello kimi"}`, 20))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprint("e", i)
				it := conversation.InboxItem{ID: id, Thread: "slack/T/C/1", DedupeKeys: []string{"ev" + id, "C1:" + id},
					Payload: payload}
				if dup, err := s.Accept(ctx, it); err != nil || dup {
					b.Fatal(dup, err)
				}
				if _, err := s.Begin(ctx, id); err != nil {
					b.Fatal(err)
				}
				if err := s.Done(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpenChecked measures Open of a database of several megabytes,
// with the read-through check that refuses damaged files.
func BenchmarkOpenChecked(b *testing.B) {
	path := tempDB(b)
	s, err := storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	text := strings.Repeat("a message of some length ", 20)
	for i := range 2000 {
		msgs := make([]conversation.Message, 5)
		for j := range msgs {
			msgs[j] = conversation.Message{Role: conversation.RoleUser, Text: text, Time: time.Unix(int64(i), 0)}
		}
		if _, err := s.Append(ctx, conversation.ThreadKey(fmt.Sprint("slack/T/C/", i)), msgs...); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		s, err := storage.Open(path, storage.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(info.Size())/(1<<20), "file-MiB")
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/open")
}
