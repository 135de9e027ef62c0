package discord

import (
	"context"
	"time"

	"kimibot/internal/tasks"
)

// Budget shares Discord's global request limit among the replicas (shards)
// of one bot: with one, every request outside the webhook routes is taken
// from the shared budget as well as from the replica's own limiter.
type Budget interface {
	// Take records one request under key when fewer than limit were
	// recorded in the last window, and returns zero; otherwise it records
	// nothing and returns how long to wait before asking again.
	Take(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error)
}

// globalKey is the key of the global budget in a shared Budget.
const globalKey = "discord:global"

// takeShared waits until the shared budget allows one more request. When
// the budget cannot be read the request goes out: the replica's own
// limiter still holds it to the global limit for one replica.
func (l *limiter) takeShared(ctx context.Context) error {
	if l.budget == nil {
		return nil
	}
	for {
		wait, err := l.budget.Take(ctx, globalKey, globalLimit, globalWindow+globalWindow/50)
		if err != nil || wait <= 0 {
			return ctx.Err()
		}
		if err := tasks.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}
