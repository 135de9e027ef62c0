package slack

import (
	"context"
	"time"
)

// Budget shares Slack's rate limits among the replicas of one app. With
// one, each rate-limited write is taken from the shared budget as well as
// from the replica's own pacer, so that the replicas together stay within
// Slack's per-workspace and per-channel limits.
type Budget interface {
	// Take records one call under key when fewer than limit calls were
	// recorded in the last window, and returns zero; otherwise it records
	// nothing and returns how long to wait before asking again.
	Take(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error)
}

// sharedBudget is one pacer's part of a Budget.
type sharedBudget struct {
	budget Budget
	key    string
	limit  int
	window time.Duration
}

// share makes the pacer take every call from the shared budget too: at
// most limit calls under key in any window, with a margin of two calls and
// a twentieth of the window for the time between taking a slot and Slack
// counting the call (a loaded replica may take that long to send it). A nil budget or a pacer without a limit shares nothing.
func (p *pacer) share(b Budget, key string, limit int, window time.Duration) {
	if b == nil || limit <= 0 || window <= 0 {
		return
	}
	p.shared = &sharedBudget{budget: b, key: key, limit: max(1, limit-2), window: window + window/20}
}

// take waits until the shared budget allows one more call, unless stop
// says the call is no longer needed. When the budget cannot be read the
// call goes out: the replica's own pacer still holds it to Slack's limits
// for one replica.
func (s *sharedBudget) take(ctx context.Context, stop *stopper) (bool, error) {
	if s == nil {
		return true, nil
	}
	for {
		wait, err := s.budget.Take(ctx, s.key, s.limit, s.window)
		if err != nil || wait <= 0 {
			return true, ctx.Err()
		}
		if ok, err := stop.sleep(ctx, wait); !ok || err != nil {
			return ok, err
		}
	}
}
