package triage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// viewFormat numbers how a derivation is encoded and what derive makes of
// a history. The store keeps derivations by format: a vexloom whose
// derivation or encoding differs uses a new number, and derives every
// triage again the first time (TestViewFormatPinned fails until it does).
const viewFormat = 1

// ListViews returns every triage's view as Views derives it, but without
// its history (Events is nil): what status and triage list show. Each
// triage's derivation comes from the store, as RecordViews last kept it;
// only the histories that moved since are read and derived again.
func ListViews(ctx context.Context, st *store.Store, maintained []string) ([]View, error) {
	triages, err := st.Triages(ctx)
	if err != nil {
		return nil, err
	}
	snap, err := st.ViewSnapshot(ctx, viewFormat)
	if err != nil {
		return nil, err
	}
	return viewsOf(ctx, st, triages, func(t store.Triage, commits map[string]string) (View, error) {
		d, err := kept(ctx, st, snap, t.ID)
		if err != nil {
			return View{}, err
		}
		return d.view(t, maintained, commits), nil
	})
}

// kept is a triage's derivation: from its history if it moved since the
// snapshot, else as the snapshot keeps it. A kept derivation that cannot
// be read (the store was written to by hand, or damaged) is derived again
// from the history, which is what it stands for.
func kept(ctx context.Context, st *store.Store, snap *store.ViewSnapshot, id string) (derivation, error) {
	if h, ok := snap.Stale[id]; ok {
		return derive(h), nil
	}
	body, ok := snap.Bodies[id]
	if !ok {
		// No event at all (the snapshot holds every triage with one).
		return derive(nil), nil
	}
	d, err := decodeDerivation(body)
	if err == nil {
		return d, nil
	}
	h, err := st.Events(ctx, id)
	if err != nil {
		return derivation{}, err
	}
	return derive(h), nil
}

// RecordViews keeps in the store the derivation of every triage whose
// history moved since it was last called (every triage, the first time),
// for ListViews. It returns how many it recorded.
func RecordViews(ctx context.Context, st *store.Store) (int, error) {
	n, err := st.RecordViews(ctx, viewFormat, func(histories map[string][]store.Event) (map[string][]byte, error) {
		out := make(map[string][]byte, len(histories))
		for id, h := range histories {
			out[id] = derive(h).encode()
		}
		return out, nil
	})
	if err != nil {
		return 0, fmt.Errorf("keeping the triages' derived views: %w", err)
	}
	return n, nil
}

// The encoding of a derivation: its fields in order, integers as varints,
// strings and byte strings with their length, slices and byte strings
// that may be nil with their length plus one (0 is nil), times in
// time.Time's binary form. Nothing in it is JSON to decode again.

const (
	refNone      = 0 // no event
	refEvent     = 1 // an event follows
	refAutomatic = 2 // the decision is the automatic assessment
)

func (d derivation) encode() []byte {
	var e encoder
	e.byte(viewFormat)
	e.strs(d.EverSeen)
	e.str(string(d.Recorded))
	e.time(d.RecordedAt)
	e.bool(d.FromAdvisory)
	e.uint(uint64(len(d.Branches)))
	for i := range d.Branches {
		b := &d.Branches[i]
		e.str(b.Branch)
		e.str(b.Commit)
		e.count(len(b.Observations), b.Observations == nil)
		for j := range b.Observations {
			e.observation(&b.Observations[j])
		}
		e.int(int64(b.Level))
		if b.Automatic == nil {
			e.uint(refNone)
		} else {
			e.uint(refEvent)
			e.event(b.Automatic)
		}
		switch {
		case b.Decision == nil:
			e.uint(refNone)
		case b.Decision == b.Automatic:
			e.uint(refAutomatic)
		default:
			e.uint(refEvent)
			e.event(b.Decision)
		}
		e.bool(b.Flagged)
		e.int(b.PublishedDecision)
		e.time(b.FirstObserved)
	}
	return e.b
}

func decodeDerivation(body []byte) (derivation, error) {
	dec := decoder{b: body}
	var d derivation
	if f := dec.byte(); dec.err == nil && f != viewFormat {
		return d, fmt.Errorf("a derived view in format %d, not %d", f, viewFormat)
	}
	d.EverSeen = dec.strs()
	d.Recorded = State(dec.str())
	d.RecordedAt = dec.time()
	d.FromAdvisory = dec.bool()
	n := dec.length()
	for i := 0; i < n && dec.err == nil; i++ {
		var b BranchState
		b.Branch = dec.str()
		b.Commit = dec.str()
		if m, isNil := dec.countOrNil(); !isNil {
			b.Observations = make([]Observation, 0, m)
			for j := 0; j < m && dec.err == nil; j++ {
				b.Observations = append(b.Observations, dec.observation())
			}
		}
		b.Level = scan.Level(dec.int())
		switch dec.uint() {
		case refNone:
		case refEvent:
			b.Automatic = dec.event()
		default:
			dec.fail("an unknown reference")
		}
		switch dec.uint() {
		case refNone:
		case refEvent:
			b.Decision = dec.event()
		case refAutomatic:
			if b.Automatic == nil {
				dec.fail("a decision naming no automatic assessment")
			}
			b.Decision = b.Automatic
		default:
			dec.fail("an unknown reference")
		}
		b.Flagged = dec.bool()
		b.PublishedDecision = dec.int()
		b.FirstObserved = dec.time()
		d.Branches = append(d.Branches, b)
	}
	if dec.err == nil && len(dec.b) > 0 {
		dec.fail("trailing bytes")
	}
	if dec.err != nil {
		return derivation{}, dec.err
	}
	return d, nil
}

func (e *encoder) observation(o *Observation) {
	e.str(o.Branch)
	e.str(o.Commit)
	e.str(o.Module)
	e.str(o.ModuleDir)
	e.str(o.ModuleVersion)
	e.str(o.DependencyVersion)
	e.str(o.FixedVersion)
	e.int(int64(o.Level))
	e.str(o.GoVersion)
	e.strs(o.Symbols)
	e.strs(o.Packages)
	e.count(len(o.Traces), o.Traces == nil)
	for _, tr := range o.Traces {
		e.count(len(tr), tr == nil)
		for _, f := range tr {
			e.str(f.Module)
			e.str(f.Version)
			e.str(f.Package)
			e.str(f.Function)
			e.str(f.Receiver)
			e.bool(f.Position != nil)
			if f.Position != nil {
				e.str(f.Position.Filename)
				e.int(int64(f.Position.Line))
				e.int(int64(f.Position.Column))
			}
		}
	}
	e.str(o.Image)
}

func (d *decoder) observation() Observation {
	var o Observation
	o.Branch = d.str()
	o.Commit = d.str()
	o.Module = d.str()
	o.ModuleDir = d.str()
	o.ModuleVersion = d.str()
	o.DependencyVersion = d.str()
	o.FixedVersion = d.str()
	o.Level = scan.Level(d.int())
	o.GoVersion = d.str()
	o.Symbols = d.strs()
	o.Packages = d.strs()
	if n, isNil := d.countOrNil(); !isNil {
		o.Traces = make([]scan.Trace, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			var tr scan.Trace
			if m, isNil := d.countOrNil(); !isNil {
				tr = make(scan.Trace, 0, m)
				for j := 0; j < m && d.err == nil; j++ {
					var f scan.Frame
					f.Module = d.str()
					f.Version = d.str()
					f.Package = d.str()
					f.Function = d.str()
					f.Receiver = d.str()
					if d.bool() {
						f.Position = &scan.Position{Filename: d.str(), Line: int(d.int()), Column: int(d.int())}
					}
					tr = append(tr, f)
				}
			}
			o.Traces = append(o.Traces, tr)
		}
	}
	o.Image = d.str()
	return o
}

func (e *encoder) event(ev *store.Event) {
	e.int(ev.Seq)
	e.str(ev.TriageID)
	e.str(string(ev.Kind))
	e.time(ev.At)
	e.str(ev.Author)
	e.str(ev.Source)
	e.strs(ev.Branches)
	e.str(ev.Status)
	e.str(ev.Justification)
	e.str(ev.Impact)
	e.str(ev.Action)
	e.str(ev.Notes)
	e.str(ev.Command)
	e.str(ev.CommentRef)
	e.int(ev.Retracts)
	e.bytesOrNil(ev.Evidence)
	e.bytesOrNil(ev.Data)
}

func (d *decoder) event() *store.Event {
	var ev store.Event
	ev.Seq = d.int()
	ev.TriageID = d.str()
	ev.Kind = store.Kind(d.str())
	ev.At = d.time()
	ev.Author = d.str()
	ev.Source = d.str()
	ev.Branches = d.strs()
	ev.Status = d.str()
	ev.Justification = d.str()
	ev.Impact = d.str()
	ev.Action = d.str()
	ev.Notes = d.str()
	ev.Command = d.str()
	ev.CommentRef = d.str()
	ev.Retracts = d.int()
	if b := d.bytesOrNil(); b != nil {
		ev.Evidence = json.RawMessage(b)
	}
	if b := d.bytesOrNil(); b != nil {
		ev.Data = json.RawMessage(b)
	}
	return &ev
}

type encoder struct{ b []byte }

func (e *encoder) byte(c byte)   { e.b = append(e.b, c) }
func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)  { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) count(n int, isNil bool) {
	if isNil {
		e.uint(0)
		return
	}
	e.uint(uint64(n) + 1)
}

func (e *encoder) bool(v bool) {
	if v {
		e.byte(1)
	} else {
		e.byte(0)
	}
}

func (e *encoder) strs(ss []string) {
	e.count(len(ss), ss == nil)
	for _, s := range ss {
		e.str(s)
	}
}

func (e *encoder) bytesOrNil(b []byte) {
	e.count(len(b), b == nil)
	e.b = append(e.b, b...)
}

// time writes t in its binary form; a time whose zone that form cannot
// hold (never one the store reads) is written as text.
func (e *encoder) time(t time.Time) {
	if b, err := t.AppendBinary(nil); err == nil {
		e.bytesOrNil(b)
		return
	}
	e.uint(0)
	e.str(t.Format(time.RFC3339Nano))
}

// decoder reads an encoded derivation; the first error stops it and every
// later read returns a zero value.
type decoder struct {
	b   []byte
	err error
}

var errDerivation = errors.New("a damaged derived view")

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errDerivation, why)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("cut short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("a bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("a bad number")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// length reads a count of items, each at least a byte long: never more
// than the bytes left.
func (d *decoder) length() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail("a count beyond its end")
		return 0
	}
	return int(n)
}

func (d *decoder) countOrNil() (int, bool) {
	n := d.uint()
	if d.err != nil || n == 0 {
		return 0, true
	}
	if n-1 > uint64(len(d.b)) {
		d.fail("a count beyond its end")
		return 0, true
	}
	return int(n - 1), false
}

func (d *decoder) take(n int) []byte {
	if n > len(d.b) {
		d.fail("cut short")
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) str() string { return string(d.take(d.length())) }

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("a bad flag")
	return false
}

func (d *decoder) strs() []string {
	n, isNil := d.countOrNil()
	if isNil {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}

func (d *decoder) bytesOrNil() []byte {
	n, isNil := d.countOrNil()
	if isNil {
		return nil
	}
	b := d.take(n)
	if d.err != nil {
		return nil
	}
	return b
}

func (d *decoder) time() time.Time {
	var t time.Time
	b := d.bytesOrNil()
	if d.err != nil {
		return t
	}
	if b == nil {
		s := d.str()
		if d.err != nil {
			return t
		}
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			d.fail("a bad time")
		}
		return t
	}
	if err := t.UnmarshalBinary(b); err != nil {
		d.fail("a bad time")
	}
	return t
}
