package vexsource

import (
	"context"
	"fmt"
	"os"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/publish"
)

// local is a local store of published documents (publish.Local): the
// project's own (no dir), where nothing published yet is a note, or one
// named by its directory, which must exist. A record that does not read
// fails the read: a damaged store is never taken for an empty one.
type local struct {
	spec string
	dir  string
	o    Options
}

func (l *local) String() string { return l.spec }
func (l *local) Kind() Kind     { return KindLocal }

// open opens the store; nil when the project has published nothing yet.
func (l *local) open() (*publish.Local, error) {
	dir := l.dir
	if dir == "" {
		if l.o.Published == nil {
			return nil, fmt.Errorf("%w: %s: no project store here", ErrSpec, l.spec)
		}
		d, err := l.o.Published()
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(d); err != nil {
			l.o.note("vex: %s: nothing published in %s yet (vexloom publish)", l.spec, d)
			return nil, nil
		}
		dir = d
	} else if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	return publish.NewLocal(dir, l.o.Now)
}

func (l *local) Documents(ctx context.Context) ([]Document, error) {
	return l.list(ctx, publish.Query{})
}

func (l *local) About(ctx context.Context, d digest.Digest) ([]Document, error) {
	return l.list(ctx, publish.Query{Subject: &d})
}

func (l *local) list(ctx context.Context, q publish.Query) ([]Document, error) {
	s, err := l.open()
	if s == nil || err != nil {
		return nil, err
	}
	recs, err := s.List(ctx, q)
	if err != nil {
		return nil, err
	}
	var out []Document
	for _, r := range recs {
		d := Document{ID: r.ID, Origin: "published " + r.ID}
		if r.Object.Bundle != nil {
			d.Bundle, d.Form = r.Object.Bundle, attest.FormBundle
		} else if d, err = read(r.Object.Document, d); err != nil {
			return nil, fmt.Errorf("%s: %w", r.ID, err)
		}
		out = append(out, d)
	}
	return out, nil
}
