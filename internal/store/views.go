package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// viewsMigration adds what the store keeps of every triage's derivation
// between runs, so that reading every triage's view (status, triage list)
// reads one row per triage rather than every event, and derives again
// only the histories that moved.
//
// triage_views holds a triage's derivation as of its event upto (the last
// of its history then), encoded by the caller in a format it numbers;
// view_marks records, for a format, a position in the history up to which
// every triage has its current row. Both are append-only like the rest of
// the store: a triage whose history moves gets a new row, a new mark says
// so, nothing is rewritten. Rows are derived data: a store copied with
// them, or without any, derives the same views.
var viewsMigration = `
CREATE TABLE triage_views (
	triage_id TEXT NOT NULL,
	format    INTEGER NOT NULL,
	upto      INTEGER NOT NULL,
	body      BLOB NOT NULL,
	PRIMARY KEY (triage_id, format, upto)
);

CREATE TABLE view_marks (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	format   INTEGER NOT NULL,
	position INTEGER NOT NULL,
	at       TEXT NOT NULL
);
CREATE INDEX view_marks_format ON view_marks(format, seq);
` + appendOnly("triage_views", "view_marks")

// ViewSnapshot is what the store keeps of the triages' derivations in one
// format, and what moved since.
type ViewSnapshot struct {
	// Position is the history's position (an event Seq) up to which every
	// triage with events has its row in Bodies; 0 when none was recorded.
	Position int64
	// Bodies holds each triage's latest row, by triage ID.
	Bodies map[string][]byte
	// Stale holds the whole histories, by triage ID, of the triages with
	// events after Position: their rows, if any, are out of date. With no
	// recorded position, it is every history.
	Stale map[string][]Event
}

// ViewSnapshot reads the derivations kept in format and the histories
// that moved since they were recorded.
func (s *Store) ViewSnapshot(ctx context.Context, format int) (*ViewSnapshot, error) {
	pos, err := viewMark(ctx, s.db, format)
	if err != nil {
		return nil, err
	}
	out := &ViewSnapshot{Position: pos, Bodies: map[string][]byte{}}
	if pos > 0 {
		err := eachRow(ctx, s.db, func(rows *sql.Rows) error {
			var id string
			var body []byte
			if err := rows.Scan(&id, &body); err != nil {
				return err
			}
			out.Bodies[id] = body
			return nil
		}, `SELECT v.triage_id, v.body FROM triage_views v
			JOIN (SELECT triage_id, MAX(upto) AS upto FROM triage_views WHERE format = ? AND upto <= ? GROUP BY triage_id) m
			ON v.triage_id = m.triage_id AND v.upto = m.upto
			WHERE v.format = ?`, format, pos, format)
		if err != nil {
			return nil, fmt.Errorf("reading the triages' derived views: %w", err)
		}
	}
	if out.Stale, err = historiesAfter(ctx, s.db, pos); err != nil {
		return nil, err
	}
	return out, nil
}

// RecordViews brings the derivations kept in format up to date, in one
// transaction: derive is given the whole history of every triage with
// events after the latest recorded position (every triage, the first
// time), returns each one's encoded derivation, and those are recorded
// with the history's current position. It returns how many triages it
// recorded; nothing is written when the history did not move.
func (s *Store) RecordViews(ctx context.Context, format int, derive func(histories map[string][]Event) (map[string][]byte, error)) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *Tx) error {
		n = 0
		prev, err := viewMark(ctx, tx, format)
		if err != nil {
			return err
		}
		var pos int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&pos); err != nil {
			return err
		}
		if pos == prev {
			return nil
		}
		histories, err := historiesAfter(ctx, tx, prev)
		if err != nil {
			return err
		}
		bodies, err := derive(histories)
		if err != nil {
			return err
		}
		for id, h := range histories {
			body, ok := bodies[id]
			if !ok {
				return fmt.Errorf("no derived view of %s to record", id)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO triage_views (triage_id, format, upto, body) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`,
				id, format, h[len(h)-1].Seq, body); err != nil {
				return fmt.Errorf("recording the derived view of %s: %w", id, err)
			}
			n++
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO view_marks (format, position, at) VALUES (?,?,?)`, format, pos, stamp(s.now()))
		return err
	})
	return n, err
}

// viewMark is the latest position recorded for format, 0 if none.
func viewMark(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, format int) (int64, error) {
	var pos int64
	err := q.QueryRowContext(ctx, `SELECT position FROM view_marks WHERE format = ? ORDER BY seq DESC LIMIT 1`, format).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the position of the derived views: %w", err)
	}
	return pos, nil
}

// historiesAfter reads the whole histories of the triages with events
// after pos, by triage ID: every history when pos is 0.
func historiesAfter(ctx context.Context, q querier, pos int64) (map[string][]Event, error) {
	if pos == 0 {
		return eventsByTriage(ctx, q, eventColumns+` ORDER BY seq`)
	}
	return eventsByTriage(ctx, q, eventColumns+` WHERE triage_id IN (SELECT triage_id FROM events WHERE seq > ?) ORDER BY seq`, pos)
}
