package store

import (
	"context"
	"runtime"
	"sync"
)

// parallelHistory is the size of history above which AllEventsParallel
// reads it in parts.
var parallelHistory int64 = 4000

// AllEventsParallel returns what AllEvents does — every triage's history,
// by triage ID, each in order — reading it in parts over as many
// connections as there are processors: decoding the rows is most of the
// time `status` and `triage list` take on a large store. Writes are
// serialised (Store.tx), so every event up to the newest one visible when
// the read begins is committed: the parts, bounded by it, read one
// consistent history.
func (s *Store) AllEventsParallel(ctx context.Context) (map[string][]Event, error) {
	var last int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events`).Scan(&last); err != nil {
		return nil, err
	}
	parts := min(runtime.GOMAXPROCS(0), 4)
	if last < parallelHistory || parts < 2 {
		parts = 1
	}
	chunks := make([][]Event, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		from, to := last*int64(i)/int64(parts), last*int64(i+1)/int64(parts)
		wg.Add(1)
		go func() {
			defer wg.Done()
			chunks[i], errs[i] = s.eventRange(ctx, from, to)
		}()
	}
	wg.Wait()
	out := map[string][]Event{}
	for i, c := range chunks {
		if errs[i] != nil {
			return nil, errs[i]
		}
		for _, ev := range c {
			out[ev.TriageID] = append(out[ev.TriageID], ev)
		}
	}
	return out, nil
}

// eventRange reads the events with from < seq <= to, in order.
func (s *Store) eventRange(ctx context.Context, from, to int64) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, eventColumns+` WHERE seq > ? AND seq <= ? ORDER BY seq`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make([]Event, 0, to-from)
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}
