package publish

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/digest"
)

// TestLocalReportsDamageNeverNothing: whatever happened to a published
// store's files, reading it says which file is damaged; it never answers
// as if nothing had been published, and publishing again does not paper
// over a damaged index entry.
func TestLocalReportsDamageNeverNothing(t *testing.T) {
	ctx := context.Background()
	bin := digestOf("binary")
	doc := docBytes(t, t0, stmt("CVE-2025-22870", kube, openvex.StatusNotAffected, t0, xnet))
	obj := Object{
		Bundle:   signedBundle(t, doc, bin),
		Document: doc,
		Subjects: []Subject{digest.SubjectOf("kube-apiserver", bin)},
		Products: []string{kube},
		Kind:     KindRelease,
		Ref:      "v1.34.2",
	}
	write := func(p string, b []byte) {
		os.Chmod(p, 0o644)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	type setup struct {
		dir   string
		id    Digest
		entry string // index/all/<id>
	}
	cases := []struct {
		name    string
		damage  func(s setup) string // returns the path the error must name
		getOK   bool                 // Get of the record may still succeed
		pubOK   bool                 // publishing the object again may succeed
		notOpen bool                 // NewLocal itself refuses
	}{
		{name: "index entry emptied", damage: func(s setup) string { write(s.entry, nil); return s.entry }},
		{name: "index entry random bytes", damage: func(s setup) string { write(s.entry, []byte("\x00\xff\x10garbage")); return s.entry }},
		{name: "index entry cut short", damage: func(s setup) string {
			b, _ := os.ReadFile(s.entry)
			write(s.entry, b[:len(b)/2])
			return s.entry
		}},
		{name: "index entry naming another record", damage: func(s setup) string {
			write(s.entry, []byte(`{"id":"`+digestOf("other").String()+`","published_at":"2026-03-01T12:00:00Z"}`))
			return s.entry
		}},
		{name: "index entry without a time", damage: func(s setup) string {
			write(s.entry, []byte(`{"id":"`+s.id.String()+`"}`))
			return s.entry
		}},
		{name: "index entry is a directory", damage: func(s setup) string {
			os.Remove(s.entry)
			os.Mkdir(s.entry, 0o755)
			return s.entry
		}},
		{name: "a stray file in the index", damage: func(s setup) string {
			p := filepath.Join(s.dir, "index", "all", "notes.txt")
			write(p, []byte("hello"))
			return p
		}, getOK: true, pubOK: true},
		{name: "record missing", damage: func(s setup) string {
			p := filepath.Join(s.dir, "objects", "sha256", s.id.Hex)
			os.Remove(p)
			return p
		}, pubOK: true},
		{name: "record emptied", damage: func(s setup) string {
			p := filepath.Join(s.dir, "objects", "sha256", s.id.Hex)
			write(p, nil)
			return p
		}},
		{name: "document missing", damage: func(s setup) string {
			os.Remove(filepath.Join(s.dir, "objects", "sha256", SHA256(doc).Hex))
			return filepath.Join(s.dir, "objects", "sha256", s.id.Hex)
		}, pubOK: true},
		{name: "bundle missing", damage: func(s setup) string {
			os.Remove(filepath.Join(s.dir, "objects", "sha256", SHA256(obj.Bundle).Hex))
			return filepath.Join(s.dir, "objects", "sha256", s.id.Hex)
		}, pubOK: true},
		{name: "index/all removed", damage: func(s setup) string {
			p := filepath.Join(s.dir, "index", "all")
			os.RemoveAll(p)
			return p
		}, getOK: true, notOpen: true, pubOK: true},
		{name: "index removed", damage: func(s setup) string {
			os.RemoveAll(filepath.Join(s.dir, "index"))
			return s.dir
		}, notOpen: true},
		{name: "objects replaced by a file", damage: func(s setup) string {
			p := filepath.Join(s.dir, "objects", "sha256")
			os.RemoveAll(p)
			write(p, []byte("x"))
			return p
		}, notOpen: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l, err := NewLocal(dir, clockAt(t0))
			if err != nil {
				t.Fatal(err)
			}
			r, err := l.Publish(ctx, obj)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := ParseDigest(r.ID)
			named := tc.damage(setup{dir: l.Dir(), id: id, entry: filepath.Join(l.Dir(), "index", "all", id.Hex)})
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), named) {
					t.Errorf("%s: %v, want %v naming %s", what, err, ErrCorrupt, named)
				}
			}
			l2, err := NewLocal(dir, clockAt(t0))
			if tc.notOpen {
				check("NewLocal", err)
				// A store opened before the damage reports it too.
				if recs, err := l.List(ctx, Query{}); err == nil {
					t.Errorf("List on the store opened before: %d records, no error", len(recs))
				}
				return
			}
			if err != nil {
				t.Fatalf("NewLocal: %v", err)
			}
			recs, err := l2.List(ctx, Query{})
			check("List", err)
			if len(recs) != 0 {
				t.Errorf("List returned %d records with an error", len(recs))
			}
			if _, err := l2.Get(ctx, r.ID); !tc.getOK {
				check("Get", err)
			}
			if _, err := l2.Publish(ctx, obj); !tc.pubOK {
				check("Publish again", err)
			}
		})
	}

	// A directory with files that is not a store is not taken for an
	// empty one.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "README.md"), []byte("docs"), 0o644)
	if _, err := NewLocal(other, nil); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), other) {
		t.Errorf("a directory of other files: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "index")); !os.IsNotExist(err) {
		t.Errorf("NewLocal wrote into a directory that is not a store: %v", err)
	}
}
