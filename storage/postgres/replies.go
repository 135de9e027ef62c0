package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"kimibot/conversation"
)

// OpenReply records r, which needs an ID and a thread. A zero State becomes
// conversation.ReplyStreaming and a zero Started the store's clock. Opening
// an ID again replaces its record.
func (s *Store) OpenReply(ctx context.Context, r conversation.ReplyRecord) error {
	r, err := r.Opening(s.now())
	if err != nil {
		return err
	}
	data, err := json.Marshal(r)
	if err == nil {
		_, err = s.pool.Exec(ctx, `INSERT INTO kimibot_replies (id, thread, started, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET thread = $2, started = $3, data = $4`,
			r.ID, string(r.Thread), nano(r.Started), data)
	}
	if err != nil {
		return fmt.Errorf("open reply %s: %w", r.ID, err)
	}
	return nil
}

// UpdateReply loads the record id (or fails with conversation.ErrNotFound),
// lets fn change it and stores it with Updated set to the store's clock, in
// one transaction that holds the row. If fn returns an error nothing is
// written and the error is returned as is.
func (s *Store) UpdateReply(ctx context.Context, id string, fn func(r *conversation.ReplyRecord) error) (conversation.ReplyRecord, error) {
	var (
		r     conversation.ReplyRecord
		fnErr error
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var data []byte
		err := tx.QueryRow(ctx, `SELECT data FROM kimibot_replies WHERE id = $1 FOR UPDATE`, id).Scan(&data)
		if noRows(err) {
			return conversation.ErrNotFound
		} else if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("decode reply record: %w", err)
		}
		if fnErr = fn(&r); fnErr != nil {
			return fnErr
		}
		if r.ID != id {
			return conversation.ErrIdentity
		}
		r.Updated = s.now()
		if data, err = json.Marshal(r); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE kimibot_replies SET thread = $2, started = $3, data = $4 WHERE id = $1`,
			id, string(r.Thread), nano(r.Started), data)
		return err
	})
	if fnErr != nil {
		return conversation.ReplyRecord{}, fnErr
	}
	if err != nil {
		return conversation.ReplyRecord{}, fmt.Errorf("update reply %s: %w", id, err)
	}
	return r, nil
}

// CloseReply forgets the record id; a record that is gone is not an error.
func (s *Store) CloseReply(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM kimibot_replies WHERE id = $1`, id); err != nil {
		return fmt.Errorf("close reply %s: %w", id, err)
	}
	return nil
}

// OpenReplies returns every recorded reply, oldest Started first (ties by ID).
func (s *Store) OpenReplies(ctx context.Context) ([]conversation.ReplyRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT data FROM kimibot_replies ORDER BY started, id`)
	var out []conversation.ReplyRecord
	if err == nil {
		out, err = collectJSON[conversation.ReplyRecord](rows)
	}
	if err != nil {
		return nil, fmt.Errorf("list open replies: %w", err)
	}
	return out, nil
}
