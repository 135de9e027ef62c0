package bot

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
)

// leaseTable is the leases of several replicas, kept in memory.
type leaseTable struct {
	mu     sync.Mutex
	now    time.Time
	leases map[string]struct {
		holder  string
		expires time.Time
	}
}

// memLeaser takes leases in a leaseTable in the name of one replica.
type memLeaser struct {
	t      *leaseTable
	holder string
}

var _ Leaser = (*memLeaser)(nil)

func (l *memLeaser) Acquire(_ context.Context, name string, ttl time.Duration) (bool, error) {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	cur, ok := l.t.leases[name]
	if ok && cur.holder != l.holder && !cur.expires.Before(l.t.now) {
		return false, nil
	}
	cur.holder, cur.expires = l.holder, l.t.now.Add(ttl)
	l.t.leases[name] = cur
	return true, nil
}

func (l *memLeaser) Release(_ context.Context, name string) error {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	if l.t.leases[name].holder == l.holder {
		delete(l.t.leases, name)
	}
	return nil
}

func (l *memLeaser) Held(context.Context) (map[string]bool, error) {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	out := map[string]bool{}
	for name, cur := range l.t.leases {
		if !cur.expires.Before(l.t.now) {
			out[name] = true
		}
	}
	return out, nil
}

// TestDeskLeaseSendsRemindersOnce runs the reminder round of two replicas
// sharing a store at once: only the holder of the desk lease reminds, and
// another replica takes over once that lease expires.
func TestDeskLeaseSendsRemindersOnce(t *testing.T) {
	store, err := storage.Open(filepath.Join(t.TempDir(), "r.db"), storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	table := &leaseTable{now: now, leases: map[string]struct {
		holder  string
		expires time.Time
	}{}}
	var engines []*Engine
	var posters []*postRecorder
	for _, name := range []string{"a", "b"} {
		e := NewEngine(Config{Threads: store, Events: store, Settings: store, Drafts: store,
			ReminderAfter: 30 * time.Minute, Now: func() time.Time { return now },
			Leaser: &memLeaser{t: table, holder: name}})
		p := &postRecorder{}
		e.Register(p)
		engines, posters = append(engines, e), append(posters, p)
	}
	ctx := context.Background()
	round := func() {
		var wg sync.WaitGroup
		for _, e := range engines {
			wg.Go(func() {
				if e.leases.leads(ctx) {
					e.desk.remind(ctx)
				}
			})
		}
		wg.Wait()
	}
	draft := func(id string, thread conversation.ThreadKey) {
		d := conversation.Draft{ID: id, Kind: conversation.DraftReply, Thread: thread, ReviewChannel: "CREV",
			Card: MsgRef{Platform: "test", Channel: "CREV", ID: "card-" + id}, CustomerName: "Carla",
			Created: now.Add(-time.Hour)}
		if _, err := store.CreateDraft(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	draft("d1", "test/W1/CSUP/T1")
	round()
	if a, b := len(posters[0].posts), len(posters[1].posts); a+b != 1 {
		t.Fatalf("reminders posted by the replicas: %d and %d, want one in all", a, b)
	}
	leader := 0
	if len(posters[1].posts) == 1 {
		leader = 1
	}
	table.mu.Lock()
	table.now = table.now.Add(time.Hour)
	table.mu.Unlock()
	engines[leader].leases.l = &memLeaser{t: table, holder: "gone"}
	draft("d2", "test/W1/CSUP/T2")
	if !engines[1-leader].leases.leads(ctx) {
		t.Fatal("the other replica did not take the expired desk lease")
	}
	engines[1-leader].desk.remind(ctx)
	if n := len(posters[1-leader].posts); n != 1 {
		t.Errorf("reminders by the new leader = %d, want 1 for the new draft", n)
	}
}
