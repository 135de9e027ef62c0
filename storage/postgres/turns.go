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
	appended := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		answered := true
		if len(end.Messages) > 0 && end.AnswerTo != 0 {
			err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kimibot_messages m JOIN kimibot_threads t
				ON t.key = m.thread AND t.generation = m.generation WHERE m.thread = $1 AND m.seq = $2)`,
				string(end.Thread), int64(end.AnswerTo)).Scan(&answered)
			if err != nil {
				return err
			}
		}
		appended = len(end.Messages) > 0 && answered
		if appended {
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
	if !appended {
		return nil, nil
	}
	return out, nil
}
