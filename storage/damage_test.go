package storage_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"kimibot/conversation"
	"kimibot/storage"
)

// pageSize is the page size bbolt gives new files.
var pageSize = os.Getpagesize()

// MustValidFile returns the bytes of a closed, sound database with a few
// threads, events and inbox items in it.
func MustValidFile(tb testing.TB) []byte {
	tb.Helper()
	path := tempDB(tb)
	s, err := storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	for i := range 20 {
		key := conversation.ThreadKey(fmt.Sprintf("slack/T/C/%d", i))
		if _, err := s.Append(ctx, key, conversation.Message{Role: conversation.RoleUser,
			Text: strings.Repeat(fmt.Sprintf("message %d ", i), 40)}); err != nil {
			tb.Fatal(err)
		}
		if _, err := s.Accept(ctx, conversation.InboxItem{ID: fmt.Sprint(i), Thread: key,
			DedupeKeys: []string{fmt.Sprint("ev", i)}, Payload: []byte("{}")}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// garbage overwrites data from offset from on with deterministic noise.
func garbage(data []byte, from int, seed uint64) []byte {
	out := append([]byte(nil), data...)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := from; i < len(out); i++ {
		out[i] = byte(r.Uint32())
	}
	return out
}

// zero clears data from offset from on.
func zero(data []byte, from int) []byte {
	out := append([]byte(nil), data...)
	clear(out[from:])
	return out
}

// damagedFiles are database files that must be refused with ErrDamaged.
// bbolt grows a file ahead of its use, so the tail of a file may be unused:
// used is the size its pages take.
func damagedFiles(tb testing.TB) map[string][]byte {
	valid := MustValidFile(tb)
	used := storage.UsedSize(tb, valid)
	return map[string][]byte{
		"GarbagePastMetaPages":   garbage(valid, 2*pageSize, 1),
		"GarbagePastFourPages":   garbage(valid, 4*pageSize, 2),
		"ZeroPagesPastMeta":      zero(valid, 2*pageSize),
		"AllZero":                make([]byte, 4*pageSize),
		"TruncatedToMeta":        valid[:2*pageSize],
		"TruncatedToThreePages":  valid[:3*pageSize],
		"TruncatedMidPage":       valid[:used-pageSize/2],
		"TruncatedInsideMeta":    valid[:100],
		"BothMetaPagesGarbled":   append(garbage(valid[:2*pageSize], 0, 4), valid[2*pageSize:]...),
		"NotADatabase":           []byte(strings.Repeat("not a database ", 1000)),
		"GarbageEverywhereSmall": garbage(make([]byte, 8*pageSize), 0, 5),
	}
}

// MustRefuse opens data as a database file and expects ErrDamaged, with a
// message that names the file, and the file free again afterwards.
func MustRefuse(tb testing.TB, data []byte) {
	tb.Helper()
	path := tempDB(tb)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	for range 2 { // the second open proves the first let go of the file lock
		s, err := storage.Open(path, storage.Options{Timeout: 100 * time.Millisecond})
		if err == nil {
			s.Close()
			tb.Fatal("Open accepted a damaged file")
		}
		if !errors.Is(err, storage.ErrDamaged) || !strings.Contains(err.Error(), path) ||
			!strings.Contains(err.Error(), "restore it from a backup") {
			tb.Fatalf("Open error = %v, want ErrDamaged naming the file and the way out", err)
		}
	}
}

func TestOpenDamagedFiles(t *testing.T) {
	for name, data := range damagedFiles(t) {
		t.Run(name, func(t *testing.T) { MustRefuse(t, data) })
	}
}

func TestOpenSoundFileAfterCheck(t *testing.T) {
	path := tempDB(t)
	if err := os.WriteFile(path, MustValidFile(t), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open of a sound file: %v", err)
	}
	defer s.Close()
	if items, err := s.Pending(context.Background()); err != nil || len(items) != 20 {
		t.Fatalf("pending = %d, %v; want the 20 stored items", len(items), err)
	}
	if err := s.Verify(context.Background()); err != nil {
		t.Errorf("Check of a sound file: %v", err)
	}
}

// FuzzOpen feeds arbitrary files to Open: it may refuse them, but it must
// never panic, and a refusal must release the file.
func FuzzOpen(f *testing.F) {
	valid := MustValidFile(f)
	f.Add(valid)
	for _, data := range damagedFiles(f) {
		f.Add(data)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := tempDB(t)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := storage.Open(path, storage.Options{Timeout: 100 * time.Millisecond, NoSync: true})
		if err != nil {
			if errors.Is(err, storage.ErrLocked) {
				t.Fatalf("Open = %v; a refused file must not stay locked", err)
			}
			return
		}
		ctx := context.Background()
		_, _ = s.Pending(ctx)
		_, _ = s.OpenReplies(ctx)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBackupWhileInUse(t *testing.T) {
	s := MustOpen(t)
	ctx := context.Background()
	MustAccept(t, s, item("e1", "k/1", "ev1"))
	path := tempDB(t)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Backup(ctx, f)
	if err != nil || n == 0 {
		t.Fatalf("Backup = %d, %v", n, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	MustAccept(t, s, item("e2", "k/1", "ev2")) // the store stays usable
	if err := storage.Check(ctx, path); err != nil {
		t.Fatalf("Check of the copy: %v", err)
	}
	copied, err := storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer copied.Close()
	if got := pendingIDs(t, copied); len(got) != 1 || got[0] != "e1" {
		t.Errorf("copy holds %v, want the item stored before the backup", got)
	}
}

func TestCheckRefusesDamagedFiles(t *testing.T) {
	ctx := context.Background()
	path := tempDB(t)
	if err := os.WriteFile(path, damagedFiles(t)["GarbagePastMetaPages"], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := storage.Check(ctx, path); !errors.Is(err, storage.ErrDamaged) {
		t.Fatalf("Check = %v, want ErrDamaged", err)
	}
	if err := storage.Check(ctx, path+".missing"); err == nil || errors.Is(err, storage.ErrDamaged) {
		t.Errorf("Check of a missing file = %v, want a plain error", err)
	}
}
