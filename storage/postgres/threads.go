package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"kimibot/conversation"
)

// errInvalidRef rejects message refs that cannot be indexed.
var errInvalidRef = errors.New("message ref needs a platform and an id")

// Append stores msgs at the end of the thread in one transaction, creating
// the thread (active) if it does not exist, and returns them with Seq set.
// Messages without a Time get the store's clock.
func (s *Store) Append(ctx context.Context, key conversation.ThreadKey, msgs ...conversation.Message) ([]conversation.Message, error) {
	now := s.now()
	out := make([]conversation.Message, len(msgs))
	err := s.inTx(ctx, func(tx pgx.Tx) error { return appendTx(ctx, tx, key, now, msgs, out) })
	if err != nil {
		return nil, fmt.Errorf("append to thread %s: %w", key, err)
	}
	return out, nil
}

// appendTx is Append inside tx: it stores msgs, with Seq and Time set, in
// out.
func appendTx(ctx context.Context, tx pgx.Tx, key conversation.ThreadKey, now time.Time, msgs, out []conversation.Message) error {
	var gen int
	var last int64
	err := tx.QueryRow(ctx, `INSERT INTO kimibot_threads AS t (key, active, created, updated, next_seq)
		VALUES ($1, true, $2, $2, $3)
		ON CONFLICT (key) DO UPDATE SET updated = $2, next_seq = t.next_seq + $3
		RETURNING generation, next_seq`, string(key), nano(now), len(msgs)).Scan(&gen, &last)
	if err != nil {
		return err
	}
	first := last - int64(len(msgs)) + 1
	for i, m := range msgs {
		m.Seq = uint64(first + int64(i))
		if m.Time.IsZero() {
			m.Time = now
		}
		data, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode message: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kimibot_messages (thread, generation, seq, data)
			VALUES ($1, $2, $3, $4)`, string(key), gen, int64(m.Seq), data); err != nil {
			return err
		}
		out[i] = m
	}
	return nil
}

// Messages returns the messages of the thread's current generation, oldest
// first; a thread that does not exist has none.
func (s *Store) Messages(ctx context.Context, key conversation.ThreadKey) ([]conversation.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT m.data FROM kimibot_messages m
		JOIN kimibot_threads t ON t.key = m.thread AND t.generation = m.generation
		WHERE m.thread = $1 ORDER BY m.seq`, string(key))
	if err != nil {
		return nil, fmt.Errorf("load thread %s: %w", key, err)
	}
	out, err := collectJSON[conversation.Message](rows)
	if err != nil {
		return nil, fmt.Errorf("load thread %s: %w", key, err)
	}
	return out, nil
}

// Thread returns the thread's state, or conversation.ErrNotFound.
func (s *Store) Thread(ctx context.Context, key conversation.ThreadKey) (conversation.Thread, error) {
	th := conversation.Thread{Key: key}
	var created, updated int64
	err := s.pool.QueryRow(ctx, `SELECT active, generation, created, updated FROM kimibot_threads WHERE key = $1`,
		string(key)).Scan(&th.Active, &th.Generation, &created, &updated)
	if noRows(err) {
		err = conversation.ErrNotFound
	}
	if err != nil {
		return conversation.Thread{}, fmt.Errorf("load thread %s: %w", key, err)
	}
	th.Created, th.Updated = time.Unix(0, created), time.Unix(0, updated)
	return th, nil
}

// SetActive makes the bot follow (true) or leave (false) the thread,
// creating the thread record if it does not exist yet.
func (s *Store) SetActive(ctx context.Context, key conversation.ThreadKey, active bool) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO kimibot_threads (key, active, created, updated) VALUES ($1, $2, $3, $3)
		ON CONFLICT (key) DO UPDATE SET active = $2, updated = $3`, string(key), active, nano(s.now()))
	if err != nil {
		return fmt.Errorf("set thread %s active=%t: %w", key, active, err)
	}
	return nil
}

// Reset starts a new generation of the thread, so Messages no longer returns
// what came before. Resetting a thread that does not exist does nothing.
func (s *Store) Reset(ctx context.Context, key conversation.ThreadKey) error {
	_, err := s.pool.Exec(ctx, `UPDATE kimibot_threads SET generation = generation + 1, updated = $2 WHERE key = $1`,
		string(key), nano(s.now()))
	if err != nil {
		return fmt.Errorf("reset thread %s: %w", key, err)
	}
	return nil
}

// IndexRefs records that the platform messages refs belong to the thread.
// A ref indexed again moves to the new thread.
func (s *Store) IndexRefs(ctx context.Context, key conversation.ThreadKey, refs ...conversation.MsgRef) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error { return indexRefsTx(ctx, tx, key, refs) })
	if err != nil {
		return fmt.Errorf("index refs of thread %s: %w", key, err)
	}
	return nil
}

// indexRefsTx is IndexRefs inside tx.
func indexRefsTx(ctx context.Context, tx pgx.Tx, key conversation.ThreadKey, refs []conversation.MsgRef) error {
	for _, ref := range refs {
		k, err := refKey(ref)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kimibot_refs (ref, thread) VALUES ($1, $2)
			ON CONFLICT (ref) DO UPDATE SET thread = $2`, k, string(key)); err != nil {
			return err
		}
	}
	return nil
}

// ThreadByRef returns the thread a platform message belongs to, matching
// platform, channel and id exactly, or conversation.ErrNotFound.
func (s *Store) ThreadByRef(ctx context.Context, ref conversation.MsgRef) (conversation.ThreadKey, error) {
	k, err := refKey(ref)
	var key string
	if err == nil {
		err = s.pool.QueryRow(ctx, `SELECT thread FROM kimibot_refs WHERE ref = $1`, k).Scan(&key)
	}
	if noRows(err) {
		err = conversation.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("find thread of message %s/%s/%s: %w", ref.Platform, ref.Channel, ref.ID, err)
	}
	return conversation.ThreadKey(key), nil
}

// refKey is "platform/channel/id".
func refKey(ref conversation.MsgRef) (string, error) {
	if ref.Platform == "" || ref.ID == "" {
		return "", errInvalidRef
	}
	return ref.Platform + "/" + ref.Channel + "/" + ref.ID, nil
}

// collectJSON decodes the single bytea column of every row.
func collectJSON[T any](rows pgx.Rows) ([]T, error) {
	var out []T
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			rows.Close()
			return nil, err
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("decode %T: %w", v, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
