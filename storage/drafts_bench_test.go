package storage_test

import (
	"context"
	"fmt"
	"testing"

	"kimibot/conversation"
	"kimibot/storage"
	"kimibot/storage/storagetest"
)

// BenchmarkCreateDraft creates drafts in 16 threads, each superseding its
// thread's previous one, so the cost of a create with a growing history of
// settled drafts shows.
func BenchmarkCreateDraft(b *testing.B) {
	for _, mode := range syncModes {
		b.Run(mode.name, func(b *testing.B) {
			s := storagetest.MustOpenAt(b, tempDB(b), storage.Options{NoSync: mode.noSync})
			ctx := context.Background()
			superseded := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				key := conversation.ThreadKey(fmt.Sprintf("slack/T1/C1/%d", i%16))
				sup, err := s.CreateDraft(ctx, newDraft(fmt.Sprintf("d%08d", i), key))
				if err != nil {
					b.Fatal(err)
				}
				superseded += len(sup)
			}
			b.StopTimer()
			if want := max(b.N-16, 0); superseded != want {
				b.Fatalf("%d drafts superseded, want %d", superseded, want)
			}
			b.ReportMetric(float64(superseded)/float64(b.N), "superseded/op")
		})
	}
}

// BenchmarkUpdateDraft claims a pending draft and then reopens it, each an
// update with an audit record.
func BenchmarkUpdateDraft(b *testing.B) {
	s := storagetest.MustOpen(b)
	ctx := context.Background()
	if _, err := s.CreateDraft(ctx, newDraft("d1", threadA)); err != nil {
		b.Fatal(err)
	}
	reopen := func(d *conversation.Draft) (*conversation.AuditRecord, error) {
		d.State = conversation.DraftPending
		return &conversation.AuditRecord{Action: "regenerate"}, nil
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		fn := claim
		if i%2 == 1 {
			fn = reopen
		}
		if _, err := s.UpdateDraft(ctx, "d1", fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDraftsByState lists the pending drafts among 2,000 stored ones,
// one in a hundred pending, as a reminder sweep would.
func BenchmarkDraftsByState(b *testing.B) {
	const stored = 2000
	s := storagetest.MustOpen(b)
	ctx := context.Background()
	for i := range stored {
		d := newDraft(fmt.Sprintf("d%05d", i), conversation.ThreadKey(fmt.Sprintf("slack/T1/C1/%d", i)))
		if i%100 != 0 {
			d.State = conversation.DraftSent
		}
		if _, err := s.CreateDraft(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		got, err := s.DraftsByState(ctx, conversation.DraftPending)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != stored/100 {
			b.Fatalf("%d pending drafts, want %d", len(got), stored/100)
		}
	}
	b.ReportMetric(stored, "drafts-scanned/op")
}
