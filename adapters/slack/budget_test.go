package slack

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/slack/slacktest"
	"kimibot/internal/budgettest"
)

// TestReplicasShareTheWriteBudget streams replies from three adapters, as
// three replicas do, into one workspace: sharing one budget, together
// they break none of Slack's limits, and every reply is complete.
func TestReplicasShareTheWriteBudget(t *testing.T) {
	const window, perReplica, replicas = 3 * time.Second, 12, 3
	fake := slacktest.Start(t, slacktest.Options{Window: window, PostInterval: window / 60})
	budget := &budgettest.Memory{}
	var adapters []*Adapter
	for range replicas {
		adapters = append(adapters, MustAdapter(t, fake, func(c *Config) {
			c.LimitWindow, c.Footer, c.Budget = window, true, budget
		}))
	}
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i := range perReplica * replicas {
		a := adapters[i%replicas]
		wg.Go(func() {
			to := threadTarget(fmt.Sprintf("C%d", i%4), fmt.Sprintf("1700000000.%06d", i))
			r := MustReply(t, a, to)
			for j := range 20 {
				_ = r.Append(ctx, fmt.Sprintf("%d-%d ", i, j))
				if j%5 == 4 {
					_ = fake.Wait(ctx, func() bool { return strings.Contains(lastShown(fake, to), fmt.Sprintf("%d-%d ", i, j-3)) })
				}
			}
			if _, err := r.Finish(ctx, testFooter); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range perReplica * replicas {
		msgs := fake.Thread(fmt.Sprintf("C%d", i%4), fmt.Sprintf("1700000000.%06d", i))
		if len(msgs) != 1 || !strings.HasSuffix(msgs[0].Shown(), fmt.Sprintf("%d-19 ", i)) || msgs[0].Streaming {
			t.Fatalf("reply %d shows %+v", i, msgs)
		}
	}
	if v := fake.Violations(); len(v) != 0 {
		t.Fatalf("%d violations by %d replicas together: %+v", len(v), replicas, v)
	}
}
