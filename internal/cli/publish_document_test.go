package cli

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/attest"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/vex"
)

// cursors is a HeldLog in memory.
type cursors map[string]string

func (c cursors) SetCursor(_ context.Context, k, v string) error { c[k] = v; return nil }
func (c cursors) Cursor(_ context.Context, k string) (string, error) {
	return c[k], nil
}

func releaseDoc(t *testing.T) *openvex.VEX {
	t.Helper()
	doc, err := vex.Parse([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/r1","author":"t","timestamp":"2026-01-01T00:00:00Z","version":1,
"statements":[
 {"vulnerability":{"name":"CVE-2026-0001"},"products":[{"@id":"pkg:golang/example.com/app@v1.0.0"}],"status":"not_affected","justification":"vulnerable_code_not_present"},
 {"vulnerability":{"name":"CVE-2026-0002"},"products":[{"@id":"pkg:golang/example.com/app@v1.0.0"}],"status":"under_investigation"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// publish.Document signs a release once, for its commit, and the
// subjects it hands the stores are those of the signed statement; what it
// holds back is recorded and readable.
func TestPublishDocumentSubjectsAreWhatWasSigned(t *testing.T) {
	ctx := t.Context()
	priv, _, err := attest.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	key, err := attest.LoadPrivateKey(priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	local, err := publish.NewLocal(t.TempDir(), func() time.Time { return time.Unix(1795000000, 0) })
	if err != nil {
		t.Fatal(err)
	}
	commit := strings.Repeat("a1", 20)
	log := cursors{}
	res, err := publish.Document(ctx, releaseDoc(t), publish.Options{
		Kind: publish.KindRelease, Ref: "v1.0.0", Now: time.Unix(1795000000, 0),
		Signer: key, Commit: commit, Held: log, Stores: []publish.Store{local},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Receipts) != 1 || len(res.Held) != 1 || res.Held[0].Vulnerability != "CVE-2026-0002" {
		t.Fatalf("receipts %+v, held %+v", res.Receipts, res.Held)
	}
	// The subjects published are the statement's, read back from the bundle.
	back, signed, err := publish.BundleObject(res.Object.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	if len(signed.Statements) != 1 {
		t.Errorf("the signed document has %d statements, want the public one", len(signed.Statements))
	}
	if !reflect.DeepEqual(back.Subjects, res.Object.Subjects) || len(back.Subjects) != 1 || back.Subjects[0].Digest[digest.GitCommit] != commit {
		t.Errorf("subjects published %+v, signed %+v", res.Object.Subjects, back.Subjects)
	}
	rec, ok, err := publish.ReadHeld(ctx, log, "v1.0.0")
	if err != nil || !ok || rec.Document != res.Document.ID || !reflect.DeepEqual(rec.Held, res.Held) {
		t.Errorf("held record %+v %v %v", rec, ok, err)
	}

	// Unsigned, a release is refused; a branch is published unsigned.
	if _, err := publish.Document(ctx, releaseDoc(t), publish.Options{Kind: publish.KindRelease, Ref: "v1.0.0", Stores: []publish.Store{local}}); !errors.Is(err, publish.ErrUnsigned) {
		t.Errorf("an unsigned release: %v", err)
	}
	res, err = publish.Document(ctx, releaseDoc(t), publish.Options{Kind: publish.KindBranch, Ref: "main", Stores: []publish.Store{local}})
	if err != nil || res.Object.Bundle != nil || len(res.Object.Subjects) != 0 {
		t.Errorf("a branch: %v %+v", err, res.Object)
	}
	// Everything held: nothing is published.
	all := releaseDoc(t)
	all.Statements = all.Statements[1:]
	if _, err := publish.Document(ctx, all, publish.Options{Kind: publish.KindBranch, Ref: "main", Stores: []publish.Store{local}}); !errors.Is(err, publish.ErrAllHeld) {
		t.Errorf("all held: %v", err)
	}
	// A store spec publish does not know is named as such.
	if _, err := publish.OpenStore(ctx, "ftp:x", publish.Project{}); !errors.Is(err, publish.ErrStoreSpec) {
		t.Errorf("ftp:x: %v", err)
	}
}
