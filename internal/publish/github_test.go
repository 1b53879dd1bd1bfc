package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/ghfake"
)

func TestGitHubAttestations(t *testing.T) {
	ctx := context.Background()
	srv := ghfake.New(t)
	srv.CreateRepo("kubernetes/kubernetes")
	srv.AddToken("tok", "release-bot")
	store, err := NewGitHub(srv.Client(t, "tok"), "kubernetes/kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	if store.Name() != "github:kubernetes/kubernetes" {
		t.Errorf("name %q", store.Name())
	}
	image := digestOf("image")
	obj := releaseObject(t, t0, "CVE-1", image)
	r, err := store.Publish(ctx, obj)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != SHA256(obj.Bundle).String() || !strings.HasSuffix(r.Location, "repos/kubernetes/kubernetes/attestations/"+image.String()) {
		t.Fatalf("receipt %+v", r)
	}
	atts := srv.Attestations("kubernetes/kubernetes")
	if len(atts) != 1 || !jsonEqual(t, atts[0].Bundle, obj.Bundle) {
		t.Fatalf("server has %d attestations", len(atts))
	}
	// Idempotent: the same bundle is found, not uploaded again.
	if _, err := store.Publish(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Attestations("kubernetes/kubernetes")); n != 1 {
		t.Fatalf("republish uploaded again: %d attestations", n)
	}
	// A new version is a new attestation; the old one stays.
	v2 := releaseObject(t, t0.Add(time.Hour), "CVE-2", image)
	if _, err := store.Publish(ctx, v2); err != nil {
		t.Fatal(err)
	}
	got, err := store.List(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !jsonEqual(t, got[0], v2.Bundle) || !jsonEqual(t, got[1], obj.Bundle) {
		t.Fatalf("listed %d bundles", len(got))
	}
	none, err := store.List(ctx, digestOf("nothing"))
	if err != nil || len(none) != 0 {
		t.Fatalf("list of an unknown subject: %d, %v", len(none), err)
	}
}

func TestGitHubListFollowsCursorPages(t *testing.T) {
	ctx := context.Background()
	srv := ghfake.New(t)
	srv.CreateRepo("o/r")
	srv.AddToken("tok", "bot")
	store, err := NewGitHub(srv.Client(t, "tok"), "o/r")
	if err != nil {
		t.Fatal(err)
	}
	image := digestOf("image")
	const n = 105 // more than one page of 100
	for i := range n {
		if _, err := store.Publish(ctx, releaseObject(t, t0.Add(time.Duration(i)*time.Minute), fmt.Sprintf("CVE-%d", i), image)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := store.List(ctx, image)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("listed %d of %d", len(got), n)
	}
}

func TestGitHubRefusals(t *testing.T) {
	ctx := context.Background()
	srv := ghfake.New(t)
	srv.CreateRepo("o/r")
	srv.AddToken("tok", "bot")
	image := digestOf("image")
	store, err := NewGitHub(srv.Client(t, "tok"), "o/r")
	if err != nil {
		t.Fatal(err)
	}
	unsigned := releaseObject(t, t0, "CVE-1", image)
	unsigned.Bundle = nil
	if _, err := store.Publish(ctx, unsigned); !errors.Is(err, ErrUnsigned) {
		t.Errorf("unsigned: %v", err)
	}
	bad, _ := NewGitHub(srv.Client(t, "wrong"), "o/r")
	if _, err := bad.Publish(ctx, releaseObject(t, t0, "CVE-1", image)); err == nil {
		t.Error("publish with a bad token succeeded")
	}
	srv.Fail(ghfake.Fault{Method: http.MethodPost, Path: "/repos/o/r/attestations", Status: http.StatusInternalServerError, Body: `{"message":"boom"}`})
	if _, err := store.Publish(ctx, releaseObject(t, t0, "CVE-1", image)); err == nil {
		t.Error("a server error was not reported")
	}
	if len(srv.Attestations("o/r")) != 0 {
		t.Error("attestation stored despite the failure")
	}
	for _, repo := range []string{"", "o", "o/r/x", "../r", "o/..", "o/r?x"} {
		if _, err := NewGitHub(srv.Client(t, "tok"), repo); err == nil {
			t.Errorf("NewGitHub(%q) accepted", repo)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	ca, err := canonicalJSON(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := canonicalJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ca, cb)
}
