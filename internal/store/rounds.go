package store

import (
	"context"
	"fmt"
)

// Rounds. Runners sharing a store (one per branch, on as many machines)
// each record their branch; the shared work that follows — applying
// comments, writing every branch's document, syncing the backend and
// rebuilding the feed — is a round's, and one runner does it for all of
// them. The rounds table says which: a round is begun (a row of kind
// "begun") under the "round" lease, when no branch is being worked on,
// and done (a row of kind "done" naming the begun row) once its work
// succeeded. Every branch recorded before a round began is covered by
// that round once it is done.

// RoundMark is the newest round begun so far (0 if none). A runner reads
// it while it still holds its last branch's lease: a round begun after
// that (a greater id) began once the branch was recorded, so covers it.
func (s *Store) RoundMark(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM rounds WHERE kind = 'begun'`).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("reading the rounds: %w", err)
	}
	return id, nil
}

// RoundDoneSince reports whether a round begun after mark is done.
func (s *Store) RoundDoneSince(ctx context.Context, mark int64) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM rounds WHERE kind = 'done' AND ref > ?`, mark).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("reading the rounds: %w", err)
	}
	return n > 0, nil
}

// BeginRound records that runner begins a round, and returns its id.
func (s *Store) BeginRound(ctx context.Context, runner string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO rounds (kind, ref, runner, at) VALUES ('begun', 0, ?, ?) RETURNING id`, runner, stamp(s.now())).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("recording the round: %w", err)
	}
	return id, nil
}

// EndRound records that the round begun as id is done.
func (s *Store) EndRound(ctx context.Context, id int64, runner string) error {
	err := s.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rounds (kind, ref, runner, at) VALUES ('done', ?, ?, ?)`, id, runner, stamp(s.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("recording the round: %w", err)
	}
	return nil
}

// Round is a round recorded in the store.
type Round struct {
	ID     int64
	Runner string
	Done   bool
}

// Rounds lists the rounds begun, oldest first, and whether each is done.
func (s *Store) Rounds(ctx context.Context) ([]Round, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT b.id, b.runner, EXISTS (SELECT 1 FROM rounds d WHERE d.kind = 'done' AND d.ref = b.id) FROM rounds b WHERE b.kind = 'begun' ORDER BY b.id`)
	if err != nil {
		return nil, fmt.Errorf("reading the rounds: %w", err)
	}
	defer rows.Close()
	var out []Round
	for rows.Next() {
		var r Round
		if err := rows.Scan(&r.ID, &r.Runner, &r.Done); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
