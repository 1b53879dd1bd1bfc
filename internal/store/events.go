package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Kind is what an event records.
type Kind string

// Event kinds.
const (
	// KindObserved: the vulnerability was found on a branch, in a module,
	// at a level (first time, or at a new level, version or commit).
	KindObserved Kind = "observed"
	// KindGone: it is no longer found on a branch (or in a module of it).
	KindGone Kind = "gone"
	// KindAssessment: a decision (automatic, maintainer's or an advisory's).
	KindAssessment Kind = "assessment"
	// KindWithdrawal: a maintainer retracted an earlier decision.
	KindWithdrawal Kind = "withdrawal"
	// KindState: a lifecycle transition (opened, assessed, published,
	// closed, reopened, flagged for re-assessment).
	KindState Kind = "state"
	// KindPublished: the decision in force on a branch was written into that
	// branch's VEX document.
	KindPublished Kind = "published"
	// KindComment: a comment that changed nothing (rejected or unauthorized),
	// kept for the record.
	KindComment Kind = "comment"
)

// Event is one entry of a triage's history.
type Event struct {
	Seq      int64
	TriageID string
	Kind     Kind
	At       time.Time
	// Author is who made it: a login, or "vexloom" for the scanner.
	Author string
	// Source: automatic, maintainer or advisory (assessments).
	Source string
	// Branches scopes an assessment or withdrawal; empty means every branch.
	// Observations name their one branch here.
	Branches []string
	// The decision (assessments).
	Status        string
	Justification string
	Impact        string
	Action        string
	Notes         string
	// Command is the parsed command; CommentRef the comment it came from
	// (see Comment), whose exact text is kept there.
	Command    string
	CommentRef string
	// Retracts is the Seq of the assessment a withdrawal retracts.
	Retracts int64
	// Evidence and Data are kind-specific JSON.
	Evidence json.RawMessage
	Data     json.RawMessage
}

func appendEvent(ctx context.Context, tx *Tx, ev Event, now time.Time) (Event, error) {
	if ev.At.IsZero() {
		ev.At = now
	}
	if ev.TriageID == "" || ev.Kind == "" {
		return ev, errors.New("an event needs a triage and a kind")
	}
	branches := ""
	if len(ev.Branches) > 0 {
		branches = mustJSON(ev.Branches)
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO events (triage_id, kind, at, author, source, branches, status, justification, impact, action, notes, command, comment_ref, retracts, evidence, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING seq`,
		ev.TriageID, string(ev.Kind), stamp(ev.At), ev.Author, ev.Source, branches, ev.Status, ev.Justification, ev.Impact, ev.Action, ev.Notes, ev.Command, ev.CommentRef, ev.Retracts, string(ev.Evidence), string(ev.Data)).Scan(&ev.Seq)
	if err != nil {
		return ev, fmt.Errorf("recording a %s event of %s: %w", ev.Kind, ev.TriageID, err)
	}
	return ev, nil
}

// Append records events, all or none.
func (s *Store) Append(ctx context.Context, evs ...Event) ([]Event, error) {
	var out []Event
	err := s.tx(ctx, func(tx *Tx) error {
		out = out[:0]
		now := s.now()
		for _, ev := range evs {
			e, err := appendEvent(ctx, tx, ev, now)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// AppendIf records events only if check, run inside the same transaction,
// returns true: the derive-then-write steps of concurrent runs serialise on
// it, so two runs never record the same transition twice.
func (s *Store) AppendIf(ctx context.Context, triageID string, check func(history []Event) ([]Event, error)) ([]Event, error) {
	var out []Event
	err := s.tx(ctx, func(tx *Tx) error {
		out = nil
		history, err := events(ctx, tx, triageID)
		if err != nil {
			return err
		}
		evs, err := check(history)
		if err != nil {
			return err
		}
		now := s.now()
		for _, ev := range evs {
			ev.TriageID = triageID
			e, err := appendEvent(ctx, tx, ev, now)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// eachRow runs a query and hands each row to fn, in order.
func eachRow(ctx context.Context, q querier, fn func(*sql.Rows) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryRows runs a query and reads each row with scan: the rows' values in
// order, nil when there are none.
func queryRows[T any](ctx context.Context, q querier, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := eachRow(ctx, q, func(rows *sql.Rows) error {
		v, err := scan(rows)
		if err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eventsByTriage reads the events a query selects into histories, by
// triage ID.
func eventsByTriage(ctx context.Context, q querier, query string, args ...any) (map[string][]Event, error) {
	out := map[string][]Event{}
	err := eachRow(ctx, q, func(rows *sql.Rows) error {
		ev, err := scanEvent(rows)
		if err != nil {
			return err
		}
		out[ev.TriageID] = append(out[ev.TriageID], ev)
		return nil
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Events returns a triage's history, oldest first.
func (s *Store) Events(ctx context.Context, triageID string) ([]Event, error) {
	return events(ctx, s.db, triageID)
}

// AllEvents returns every triage's history, by triage ID.
func (s *Store) AllEvents(ctx context.Context) (map[string][]Event, error) {
	return eventsByTriage(ctx, s.db, eventColumns+` ORDER BY seq`)
}

const eventColumns = `SELECT seq, triage_id, kind, at, author, source, branches, status, justification, impact, action, notes, command, comment_ref, retracts, evidence, data FROM events`

func events(ctx context.Context, q querier, triageID string) ([]Event, error) {
	return queryRows(ctx, q, scanEvent, eventColumns+` WHERE triage_id = ? ORDER BY seq`, triageID)
}

func scanEvent(rows *sql.Rows) (Event, error) {
	var ev Event
	var kind, at, branches, evidence, data string
	if err := rows.Scan(&ev.Seq, &ev.TriageID, &kind, &at, &ev.Author, &ev.Source, &branches, &ev.Status, &ev.Justification, &ev.Impact, &ev.Action, &ev.Notes, &ev.Command, &ev.CommentRef, &ev.Retracts, &evidence, &data); err != nil {
		return ev, err
	}
	ev.Kind = Kind(kind)
	ev.At = parseStamp(at)
	if branches != "" {
		if err := json.Unmarshal([]byte(branches), &ev.Branches); err != nil {
			return ev, err
		}
	}
	if evidence != "" {
		ev.Evidence = json.RawMessage(evidence)
	}
	if data != "" {
		ev.Data = json.RawMessage(data)
	}
	return ev, nil
}

// Comment is a comment vexloom read, with what it made of it.
type Comment struct {
	// Ref identifies the comment in its backend ("local:…",
	// "github:issuecomment:123"); a comment is processed once.
	Ref      string
	TriageID string
	Author   string
	At       time.Time
	Body     string
	URL      string
	// Outcome: applied, rejected, unauthorized, ignored.
	Outcome string
	// Reply is what vexloom answers (empty when it only reacts).
	Reply    string
	Recorded time.Time
}

// ErrDuplicate is returned when a comment was already processed.
var ErrDuplicate = errors.New("already processed")

// RecordComment stores a processed comment together with the events it
// produced, atomically. A comment already recorded returns ErrDuplicate and
// records nothing: processing is idempotent across crashes and concurrent
// runs.
func (s *Store) RecordComment(ctx context.Context, c Comment, evs []Event) ([]Event, error) {
	var out []Event
	err := s.tx(ctx, func(tx *Tx) error {
		out = nil
		now := s.now()
		c.Recorded = now
		res, err := tx.ExecContext(ctx, `INSERT INTO comments (ref, triage_id, author, at, body, url, outcome, reply, recorded) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`,
			c.Ref, c.TriageID, c.Author, stamp(c.At), c.Body, c.URL, c.Outcome, c.Reply, stamp(now))
		if err != nil {
			return fmt.Errorf("recording comment %s: %w", c.Ref, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrDuplicate
		}
		for _, ev := range evs {
			ev.TriageID = c.TriageID
			ev.CommentRef = c.Ref
			if ev.At.IsZero() {
				ev.At = c.At
			}
			e, err := appendEvent(ctx, tx, ev, now)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Comment returns a processed comment.
func (s *Store) Comment(ctx context.Context, ref string) (Comment, error) {
	var c Comment
	var at, rec string
	err := s.db.QueryRowContext(ctx, `SELECT ref, triage_id, author, at, body, url, outcome, reply, recorded FROM comments WHERE ref = ?`, ref).
		Scan(&c.Ref, &c.TriageID, &c.Author, &at, &c.Body, &c.URL, &c.Outcome, &c.Reply, &rec)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("comment %s: %w", ref, ErrNotFound)
	}
	c.At, c.Recorded = parseStamp(at), parseStamp(rec)
	return c, err
}

// Comments returns a triage's processed comments, oldest first.
func (s *Store) Comments(ctx context.Context, triageID string) ([]Comment, error) {
	return queryRows(ctx, s.db, func(rows *sql.Rows) (Comment, error) {
		var c Comment
		var at, rec string
		err := rows.Scan(&c.Ref, &c.TriageID, &c.Author, &at, &c.Body, &c.URL, &c.Outcome, &c.Reply, &rec)
		c.At, c.Recorded = parseStamp(at), parseStamp(rec)
		return c, err
	}, `SELECT ref, triage_id, author, at, body, url, outcome, reply, recorded FROM comments WHERE triage_id = ? ORDER BY recorded, ref`, triageID)
}

// Ack records that vexloom did something visible about a comment or a
// triage in a backend (reacted, replied, commented, closed), so it is never
// done twice. remoteRef is the backend's ID of what was made, if any.
func (s *Store) Ack(ctx context.Context, ref, kind, remoteRef string) error {
	return s.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO acks (ref, kind, at, remote_ref) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`, ref, kind, stamp(s.now()), remoteRef)
		return err
	})
}

// Claim acknowledges (ref, kind) unless it already was, and reports
// whether this call was the first: of two processes claiming the same
// webhook delivery or reply, exactly one gets true.
func (s *Store) Claim(ctx context.Context, ref, kind, remoteRef string) (bool, error) {
	var first bool
	err := s.tx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO acks (ref, kind, at, remote_ref) VALUES (?,?,?,?) ON CONFLICT DO NOTHING`, ref, kind, stamp(s.now()), remoteRef)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	return first, err
}

// Acked reports whether (ref, kind) was acknowledged, with the remote ref.
func (s *Store) Acked(ctx context.Context, ref, kind string) (bool, string, error) {
	var remote string
	err := s.db.QueryRowContext(ctx, `SELECT remote_ref FROM acks WHERE ref = ? AND kind = ?`, ref, kind).Scan(&remote)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	return err == nil, remote, err
}

// Document is a written branch VEX document.
type Document struct {
	Branch      string
	Version     int
	ContentHash string
	Path        string
	At          time.Time
	Body        []byte
}

// RecordDocument stores a new version of a branch's document. Versions only
// grow: recording a version that exists fails.
func (s *Store) RecordDocument(ctx context.Context, d Document, evs []Event) error {
	return s.tx(ctx, func(tx *Tx) error {
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO documents (branch, version, content_hash, path, at, body) VALUES (?,?,?,?,?,?)`,
			d.Branch, d.Version, d.ContentHash, d.Path, stamp(d.At), d.Body); err != nil {
			return fmt.Errorf("recording version %d of the VEX of %s: %w", d.Version, d.Branch, err)
		}
		for _, ev := range evs {
			if _, err := appendEvent(ctx, tx, ev, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// LatestDocument returns the newest document of a branch; ErrNotFound if
// none was written yet.
func (s *Store) LatestDocument(ctx context.Context, branch string) (*Document, error) {
	var d Document
	var at string
	err := s.db.QueryRowContext(ctx, `SELECT branch, version, content_hash, path, at, body FROM documents WHERE branch = ? ORDER BY version DESC LIMIT 1`, branch).
		Scan(&d.Branch, &d.Version, &d.ContentHash, &d.Path, &at, &d.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("VEX of %s: %w", branch, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	d.At = parseStamp(at)
	return &d, nil
}

// Documents returns every version of a branch's document, oldest first.
func (s *Store) Documents(ctx context.Context, branch string) ([]Document, error) {
	return queryRows(ctx, s.db, func(rows *sql.Rows) (Document, error) {
		var d Document
		var at string
		err := rows.Scan(&d.Branch, &d.Version, &d.ContentHash, &d.Path, &at, &d.Body)
		d.At = parseStamp(at)
		return d, err
	}, `SELECT branch, version, content_hash, path, at, body FROM documents WHERE branch = ? ORDER BY version`, branch)
}

// SetCursor records a backend's position (a since timestamp, an ETag).
func (s *Store) SetCursor(ctx context.Context, key, value string) error {
	return s.tx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cursors (key, value, at) VALUES (?,?,?)`, key, value, stamp(s.now()))
		return err
	})
}

// Cursor returns a backend's last recorded position ("" if none).
func (s *Store) Cursor(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM cursors WHERE key = ? ORDER BY seq DESC LIMIT 1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

// EventsOnBranch returns the histories, by triage ID, of the triages with
// an event naming branch (an observation, a gone): the triages a scan of
// that branch can change, read in one query.
func (s *Store) EventsOnBranch(ctx context.Context, branch string) (map[string][]Event, error) {
	quoted, err := json.Marshal(branch)
	if err != nil {
		return nil, err
	}
	return eventsByTriage(ctx, s.db, eventColumns+` WHERE triage_id IN (SELECT triage_id FROM events WHERE branches LIKE ? ESCAPE '\') ORDER BY seq`, "%"+likeEscape(string(quoted))+"%")
}

// History is what `vexloom history` shows: the events of the triage
// triageID, or of every triage when it is "", at or after after, oldest
// first; and, for one triage, the comments they came from by reference.
func (s *Store) History(ctx context.Context, triageID string, after time.Time) ([]Event, map[string]Comment, error) {
	comments := map[string]Comment{}
	var evs []Event
	if triageID != "" {
		var err error
		if evs, err = s.Events(ctx, triageID); err != nil {
			return nil, nil, err
		}
		cs, err := s.Comments(ctx, triageID)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cs {
			comments[c.Ref] = c
		}
	} else {
		all, err := s.AllEvents(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range all {
			evs = append(evs, e...)
		}
		slices.SortFunc(evs, func(a, b Event) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	evs = slices.DeleteFunc(evs, func(ev Event) bool { return ev.At.Before(after) })
	return evs, comments, nil
}
