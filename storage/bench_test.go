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

// syncModes runs a benchmark with and without fsync.
var syncModes = []struct {
	name   string
	noSync bool
}{{"NoSync", true}, {"Sync", false}}

func BenchmarkAppend(b *testing.B) {
	for _, mode := range syncModes {
		b.Run(mode.name, func(b *testing.B) {
			path := tempDB(b)
			s := storagetest.MustOpenAt(b, path, storage.Options{NoSync: mode.noSync})
			ctx := context.Background()
			msg := conversation.Message{Role: conversation.RoleUser, UserID: "U1", Text: strings.Repeat("hello kimi ", 40)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				key := conversation.ThreadKey(fmt.Sprintf("slack/T/C/%d", i%64))
				if _, err := s.Append(ctx, key, msg); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if info, err := os.Stat(path); err == nil {
				b.ReportMetric(float64(info.Size())/float64(b.N), "file-B/msg")
			}
		})
	}
}

func BenchmarkMarkProcessed(b *testing.B) {
	for _, mode := range syncModes {
		b.Run(mode.name, func(b *testing.B) {
			s := storagetest.MustOpenAt(b, tempDB(b), storage.Options{NoSync: mode.noSync})
			ctx := context.Background()
			t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
			dups := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				// Every third call repeats an earlier event, as a redelivery would.
				id := i
				if i%3 == 2 {
					id = i - 1
				}
				dup, err := s.MarkProcessed(ctx, t0.Add(time.Duration(i)*time.Millisecond),
					fmt.Sprintf("Ev%08d", id), fmt.Sprintf("C1/%d.000100", id))
				if err != nil {
					b.Fatal(err)
				}
				if dup {
					dups++
				}
			}
			b.StopTimer()
			if want := b.N / 3; dups != want {
				b.Fatalf("%d duplicates detected, want %d", dups, want)
			}
			b.ReportMetric(float64(dups)/float64(b.N), "dup-ratio")
		})
	}
}
