package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"kimibot/conversation"
)

var _ conversation.TurnStore = (*Store)(nil)

// EndTurn stores the end of a turn in one transaction: it appends the
// messages, indexes the refs, records the usage (a zero Time becomes the
// store's clock), closes the reply record and removes the inbox item.
func (s *Store) EndTurn(ctx context.Context, end conversation.TurnEnd) ([]conversation.Message, error) {
	now := s.now()
	out := make([]conversation.Message, len(end.Messages))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if len(end.Messages) > 0 {
			if err := appendTx(ctx, tx, end.Thread, now, end.Messages, out); err != nil {
				return err
			}
		}
		if err := indexRefsTx(ctx, tx, end.Thread, end.Refs); err != nil {
			return err
		}
		for _, rec := range end.Usage {
			if rec.Time.IsZero() {
				rec.Time = now
			}
			if err := insertUsage(ctx, tx, rec); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM kimibot_replies WHERE id = $1`, end.Reply); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM kimibot_inbox WHERE id = $1`, end.Item)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("end turn in thread %s: %w", end.Thread, err)
	}
	return out, nil
}
