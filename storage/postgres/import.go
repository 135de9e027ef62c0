package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"kimibot/conversation"
	"kimibot/storage"
)

// ErrNotEmpty matches the error Import returns when the database already
// holds conversations, drafts or events.
var ErrNotEmpty = errors.New("database is not empty")

// Import copies everything fill hands to its sink into this store, in one
// transaction: nothing is written unless all of it is. It refuses a
// database that already holds data.
func (s *Store) Import(ctx context.Context, fill func(ctx context.Context, sink storage.Sink) error) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var used bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kimibot_threads) OR EXISTS (SELECT 1 FROM kimibot_drafts)
			OR EXISTS (SELECT 1 FROM kimibot_events) OR EXISTS (SELECT 1 FROM kimibot_inbox)`).Scan(&used)
		if err != nil {
			return err
		}
		if used {
			return ErrNotEmpty
		}
		if err := fill(ctx, &importer{tx: tx}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE kimibot_threads t SET next_seq = coalesce(
			(SELECT max(seq) FROM kimibot_messages m WHERE m.thread = t.key), 0)`)
		return err
	})
	if err != nil {
		return fmt.Errorf("import into %s: %w", s.where, err)
	}
	return nil
}

// importer writes the records of an Export inside one transaction.
type importer struct{ tx pgx.Tx }

var _ storage.Sink = (*importer)(nil)

func (w *importer) exec(ctx context.Context, sql string, args ...any) error {
	_, err := w.tx.Exec(ctx, sql, args...)
	return err
}

// Thread implements storage.Sink.
func (w *importer) Thread(ctx context.Context, th conversation.Thread) error {
	return w.exec(ctx, `INSERT INTO kimibot_threads (key, active, generation, created, updated) VALUES ($1, $2, $3, $4, $5)`,
		string(th.Key), th.Active, th.Generation, nano(th.Created), nano(th.Updated))
}

// Message implements storage.Sink.
func (w *importer) Message(ctx context.Context, key conversation.ThreadKey, generation int, m conversation.Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return w.exec(ctx, `INSERT INTO kimibot_messages (thread, generation, seq, data) VALUES ($1, $2, $3, $4)`,
		string(key), generation, int64(m.Seq), data)
}

// Ref implements storage.Sink.
func (w *importer) Ref(ctx context.Context, ref string, key conversation.ThreadKey) error {
	return w.exec(ctx, `INSERT INTO kimibot_refs (ref, thread) VALUES ($1, $2)`, ref, string(key))
}

// Event implements storage.Sink.
func (w *importer) Event(ctx context.Context, id string, at time.Time) error {
	return w.exec(ctx, `INSERT INTO kimibot_events (id, at) VALUES ($1, $2)`, id, nano(at))
}

// Setting implements storage.Sink.
func (w *importer) Setting(ctx context.Context, key, value string) error {
	return w.exec(ctx, `INSERT INTO kimibot_settings (key, value) VALUES ($1, $2)`, key, value)
}

// Usage implements storage.Sink.
func (w *importer) Usage(ctx context.Context, rec conversation.UsageRecord) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return w.exec(ctx, `INSERT INTO kimibot_usage (at, platform, usr, channel, thread, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		nano(rec.Time), rec.Platform, rec.User, rec.Channel, rec.Thread, data)
}

// Draft implements storage.Sink.
func (w *importer) Draft(ctx context.Context, d conversation.Draft) error {
	return insertDraft(ctx, w.tx, d)
}

// Audit implements storage.Sink.
func (w *importer) Audit(ctx context.Context, rec conversation.AuditRecord) error {
	return appendAudit(ctx, w.tx, rec)
}

// Inbox implements storage.Sink.
func (w *importer) Inbox(ctx context.Context, it conversation.InboxItem) error {
	attempts := it.Attempts
	it.Seq, it.Attempts = 0, 0
	data, err := json.Marshal(it)
	if err != nil {
		return err
	}
	return w.exec(ctx, `INSERT INTO kimibot_inbox (id, thread, attempts, data) VALUES ($1, $2, $3, $4)`,
		it.ID, string(it.Thread), attempts, data)
}

// Reply implements storage.Sink.
func (w *importer) Reply(ctx context.Context, r conversation.ReplyRecord) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return w.exec(ctx, `INSERT INTO kimibot_replies (id, thread, started, data) VALUES ($1, $2, $3, $4)`,
		r.ID, string(r.Thread), nano(r.Started), data)
}
