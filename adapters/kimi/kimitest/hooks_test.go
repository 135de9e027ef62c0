package kimitest

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

func TestHoldPausesBeforeFinalChunkAndOnWriteCountsEvents(t *testing.T) {
	s := MustServer(t, Moonshot)
	hold := make(chan struct{})
	written := make(chan int, 16)
	s.Enqueue(Response{Content: "abcdefgh", ChunkSize: 4, Hold: hold, OnWrite: func(i int, at time.Time) {
		written <- i
	}})
	resp, err := postChatRaw(s, body("kimi-k2-turbo-preview", map[string]any{"stream": true}, user("hi")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	var lines []string
	for len(lines) < 3 { // role chunk and the two content chunks arrive before the hold
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read before hold: %v", err)
		}
		if strings.HasPrefix(line, "data: ") {
			lines = append(lines, line)
		}
	}
	for want := range 3 {
		if got := <-written; got != want {
			t.Fatalf("OnWrite index = %d, want %d", got, want)
		}
	}
	select {
	case i := <-written:
		t.Fatalf("event %d written while held", i)
	default:
	}
	if strings.Contains(strings.Join(lines, ""), "finish_reason\":\"stop") {
		t.Fatal("final chunk sent before Hold was closed")
	}
	close(hold)
	rest, err := r.ReadString(0)
	if err == nil || !strings.Contains(rest, `"finish_reason":"stop"`) || !strings.HasSuffix(rest, "data: [DONE]\n\n") {
		t.Fatalf("after hold: %q (%v)", rest, err)
	}
}
