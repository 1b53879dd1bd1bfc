package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/digest"
)

const (
	kube    = "pkg:golang/k8s.io/kubernetes@v1.34.2"
	xnet    = "pkg:golang/golang.org/x/net@v0.35.0"
	imageID = "pkg:oci/kube-apiserver@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef?repository_url=registry.k8s.io/kube-apiserver"
)

func clockAt(ts time.Time) func() time.Time {
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		ts = ts.Add(time.Second)
		return ts
	}
}

func newLocal(t *testing.T) *Local {
	t.Helper()
	l, err := NewLocal(t.TempDir(), clockAt(t0))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalPublishGetList(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
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
	r, err := l.Publish(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.ID, "sha256:") || r.Store != l.Name() || !strings.HasPrefix(r.Location, l.Dir()) {
		t.Fatalf("receipt %+v", r)
	}
	if _, err := os.Stat(r.Location); err != nil {
		t.Fatalf("receipt location: %v", err)
	}
	got, err := l.Get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Object.Document, doc) || !bytes.Equal(got.Object.Bundle, obj.Bundle) ||
		got.Object.Kind != KindRelease || got.Object.Ref != "v1.34.2" || !reflect.DeepEqual(got.Object.Subjects, obj.Subjects) ||
		got.Object.Products[0] != kube || !got.PublishedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("read back %+v", got)
	}
	for name, q := range map[string]Query{
		"all":             {},
		"subject":         {Subject: &bin},
		"product":         {Product: kube},
		"product escaped": {Product: "pkg:golang/k8s.io%2Fkubernetes@1.34.2"},
		"package":         {Product: "pkg:golang/k8s.io/kubernetes"},
	} {
		recs, err := l.List(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(recs) != 1 || recs[0].ID != r.ID {
			t.Errorf("%s: got %d records", name, len(recs))
		}
	}
	other := digestOf("other")
	for name, q := range map[string]Query{
		"other subject": {Subject: &other},
		"other version": {Product: "pkg:golang/k8s.io/kubernetes@v1.34.1"},
		"other package": {Product: "pkg:golang/k8s.io/api"},
	} {
		recs, err := l.List(ctx, q)
		if err != nil || len(recs) != 0 {
			t.Errorf("%s: %d records, %v", name, len(recs), err)
		}
	}
	if _, err := l.List(ctx, Query{Subject: &bin, Product: kube}); err == nil {
		t.Error("query by subject and product accepted")
	}
	if _, err := l.Get(ctx, SHA256([]byte("nothing")).String()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an unknown ID: %v", err)
	}
}

func TestLocalIdempotentAndHistory(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
	v1 := docBytes(t, t0, stmt("CVE-1", kube, openvex.StatusUnderInvestigation, t0))
	obj := Object{Document: v1, Products: []string{kube}, Kind: KindBranch, Ref: "main"}
	r1, err := l.Publish(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	files := countFiles(t, l.Dir())
	again, err := l.Publish(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, r1) {
		t.Fatalf("second publish: %+v, first %+v", again, r1)
	}
	if n := countFiles(t, l.Dir()); n != files {
		t.Fatalf("second publish of the same object wrote files: %d → %d", files, n)
	}
	rec, err := l.Get(ctx, r1.ID)
	if err != nil || !rec.PublishedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("publication time after republish: %v %v", rec.PublishedAt, err)
	}

	v2 := docBytes(t, t0.Add(time.Hour), stmt("CVE-1", kube, openvex.StatusNotAffected, t0.Add(time.Hour)))
	r2, err := l.Publish(ctx, Object{Document: v2, Products: []string{kube}, Kind: KindBranch, Ref: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if r2.ID == r1.ID {
		t.Fatal("a new version got the old ID")
	}
	recs, err := l.List(ctx, Query{Product: kube})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != r1.ID || recs[1].ID != r2.ID {
		t.Fatalf("history: %+v", recs)
	}
	if !bytes.Equal(recs[0].Object.Document, v1) {
		t.Error("the old version is not readable as it was")
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	if err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLocalConcurrentPublishers(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	same := Object{Document: docBytes(t, t0, stmt("CVE-1", kube, openvex.StatusFixed, t0)), Products: []string{kube}, Kind: KindBranch, Ref: "main"}
	var wg sync.WaitGroup
	ids := make([]string, 32)
	errs := make([]error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Separate handles on the same directory, as separate processes.
			l, err := NewLocal(dir, nil)
			if err != nil {
				errs[i] = err
				return
			}
			obj := same
			if i%2 == 1 {
				obj = Object{Document: docBytes(t, t0, stmt(fmt.Sprintf("CVE-%d", 100+i), kube, openvex.StatusFixed, t0)), Products: []string{kube}, Kind: KindBranch, Ref: "main"}
			}
			r, err := l.Publish(ctx, obj)
			ids[i], errs[i] = r.ID, err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("publisher %d: %v", i, err)
		}
	}
	for i := 2; i < 32; i += 2 {
		if ids[i] != ids[0] {
			t.Fatalf("publishers of the same object got different IDs")
		}
	}
	l, _ := NewLocal(dir, nil)
	recs, err := l.List(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 17 {
		t.Fatalf("%d records, want 17", len(recs))
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Errorf("%d files left in tmp/", len(left))
	}
}

func TestLocalCrashLeftoversAreInvisible(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
	// A crash while writing leaves a partial file in tmp/ and possibly
	// complete blobs that no index names.
	if err := os.WriteFile(filepath.Join(l.Dir(), "tmp", "w-123"), []byte(`{"kind":`), 0o644); err != nil {
		t.Fatal(err)
	}
	doc := docBytes(t, t0, stmt("CVE-1", kube, openvex.StatusFixed, t0))
	if _, err := l.putBlob(doc); err != nil {
		t.Fatal(err)
	}
	recs, err := l.List(ctx, Query{})
	if err != nil || len(recs) != 0 {
		t.Fatalf("after a crash: %d records, %v", len(recs), err)
	}
	r, err := l.Publish(ctx, Object{Document: doc, Products: []string{kube}, Kind: KindBranch, Ref: "main"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Get(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
}

func TestLocalDetectsCorruption(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
	doc := docBytes(t, t0, stmt("CVE-1", kube, openvex.StatusFixed, t0))
	r, err := l.Publish(ctx, Object{Document: doc, Products: []string{kube}, Kind: KindBranch, Ref: "main"})
	if err != nil {
		t.Fatal(err)
	}
	docPath := filepath.Join(l.Dir(), "objects", "sha256", SHA256(doc).Hex)
	if err := os.Chmod(docPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docPath, bytes.Replace(doc, []byte("fixed"), []byte("fixeD"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Get(ctx, r.ID); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a tampered object: %v", err)
	}
	// Publishing it again does not paper over the damage.
	if _, err := l.Publish(ctx, Object{Document: doc, Products: []string{kube}, Kind: KindBranch, Ref: "main"}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("republish over a tampered object: %v", err)
	}
}

func TestLocalRejectsHostileObjects(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t)
	doc := docBytes(t, t0, stmt("CVE-1", kube, openvex.StatusFixed, t0))
	bin := digestOf("bin")
	base := Object{Document: doc, Products: []string{kube}, Kind: KindBranch, Ref: "main"}
	// An OpenVEX document's start, then 64 MiB never written (they cost
	// no memory unless read).
	huge := make([]byte, 64<<20+64)
	copy(huge, `{"@context":"https://openvex.dev/ns/v0.2.0","x":"`)
	cases := map[string]func(o *Object){
		"not OpenVEX":          func(o *Object) { o.Document = []byte(`{"bomFormat":"CycloneDX"}`) },
		"not JSON":             func(o *Object) { o.Document = []byte("<html>") },
		"empty document":       func(o *Object) { o.Document = nil },
		"huge document":        func(o *Object) { o.Document = huge },
		"huge bundle":          func(o *Object) { o.Bundle = make([]byte, MaxBundleSize+1) },
		"bundle not a bundle":  func(o *Object) { o.Bundle = []byte(`{"mediaType":"text/plain"}`) },
		"traversal in product": func(o *Object) { o.Products = []string{"pkg:golang/../../etc/passwd@v1"} },
		"product not a purl":   func(o *Object) { o.Products = []string{"../../etc/passwd"} },
		"bad subject digest": func(o *Object) {
			o.Subjects = []Subject{digest.SubjectOf("", Digest{Algorithm: "sha256", Hex: "../../../etc/passwd"})}
		},
		"subject without digest": func(o *Object) { o.Subjects = []Subject{{Name: "kube-apiserver"}} },
		"bad algorithm":          func(o *Object) { o.Subjects = []Subject{digest.SubjectOf("", Digest{Algorithm: "../x", Hex: bin.Hex})} },
		"bad kind":               func(o *Object) { o.Kind = "nightly" },
		"control in ref":         func(o *Object) { o.Ref = "main\n" },
		"empty ref":              func(o *Object) { o.Ref = "" },
		"bundle of another document": func(o *Object) {
			o.Bundle = signedBundle(t, docBytes(t, t0, stmt("CVE-2", kube, openvex.StatusFixed, t0)), bin)
			o.Subjects = []Subject{digest.SubjectOf("", bin)}
		},
		"bundle of another predicate type": func(o *Object) {
			o.Bundle = signedBundleOfType(t, "https://slsa.dev/provenance/v1", doc, bin)
			o.Subjects = []Subject{digest.SubjectOf("", bin)}
		},
		"signed predicate not OpenVEX": func(o *Object) {
			// The predicate type says OpenVEX, the predicate is not.
			o.Bundle = signedBundle(t, []byte(`{"@context":"https://openvex.dev/ns/v0.2.0"}`), bin)
			o.Subjects = []Subject{digest.SubjectOf("", bin)}
		},
		"subject not signed": func(o *Object) {
			o.Bundle = signedBundle(t, doc, bin)
			o.Subjects = []Subject{digest.SubjectOf("", digestOf("other"))}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			o := base
			mutate(&o)
			if _, err := l.Publish(ctx, o); !errors.Is(err, ErrInvalidObject) {
				t.Fatalf("got %v, want ErrInvalidObject", err)
			}
		})
	}
	// A ref with path elements is only data: nothing is written outside the
	// store.
	parent := filepath.Dir(l.Dir())
	before, _ := os.ReadDir(parent)
	o := base
	o.Ref = "../../../../tmp/evil"
	if _, err := l.Publish(ctx, o); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadDir(parent)
	if len(after) != len(before) {
		t.Error("publishing wrote outside the store directory")
	}
	for _, id := range []string{"sha256:../../etc/passwd", "sha256:" + strings.Repeat("A", 64), "md5:abc", "nonsense"} {
		if _, err := l.Get(ctx, id); err == nil {
			t.Errorf("Get(%q) succeeded", id)
		}
	}
}
