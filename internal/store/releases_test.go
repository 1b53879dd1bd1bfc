package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestReleaseRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	s, err := Open(ctx, t.TempDir(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.LatestReleaseDocument(ctx, "v1.0.0"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no document yet: %v", err)
	}
	d := ReleaseDocument{Release: "v1.0.0", Version: 1, Branch: "release-1.0", Commit: "abc", StatementsHash: "h1",
		Decisions: map[string]int64{"GO-1/m": 7}, At: now, Body: []byte("{}"), Bundle: []byte("b")}
	if err := s.RecordReleaseDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordReleaseDocument(ctx, d); err == nil {
		t.Error("a version was recorded twice")
	}
	d.Version, d.StatementsHash, d.Bundle = 2, "h2", nil
	if err := s.RecordReleaseDocument(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := s.LatestReleaseDocument(ctx, "v1.0.0")
	if err != nil || got.Version != 2 || got.Bundle != nil || got.Decisions["GO-1/m"] != 7 || !got.At.Equal(now) {
		t.Fatalf("latest: %+v %v", got, err)
	}
	all, err := s.ReleaseDocuments(ctx, "")
	if err != nil || len(all) != 2 || string(all[0].Bundle) != "b" {
		t.Fatalf("all: %+v %v", all, err)
	}
	if err := s.RecordReleaseDocument(ctx, ReleaseDocument{Release: "v0.9.0", Version: 1, Branch: "release-0.9", Commit: "def", At: now, Body: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	origins, err := s.ReleaseOrigins(ctx, "")
	if err != nil || len(origins) != 2 || origins[0].Release != "v0.9.0" || origins[1].Release != "v1.0.0" || origins[1].Version != 1 ||
		origins[1].Commit != "abc" || origins[1].Branch != "release-1.0" || origins[1].Body != nil || !origins[1].At.Equal(now) {
		t.Fatalf("origins: %+v %v", origins, err)
	}
	if one, err := s.ReleaseOrigins(ctx, "v1.0.0"); err != nil || len(one) != 1 || one[0].StatementsHash != "h1" {
		t.Fatalf("origin of v1.0.0: %+v %v", one, err)
	}
	if err := s.RecordReleaseImages(ctx, []ReleaseImage{{Release: "v1.0.0", Reference: "r/x:v1.0.0", Repository: "r/x", Platform: "linux/amd64", Digest: "sha256:aa", At: now}}); err != nil {
		t.Fatal(err)
	}
	imgs, err := s.ReleaseImages(ctx, "v1.0.0")
	if err != nil || len(imgs) != 1 || imgs[0].Digest != "sha256:aa" {
		t.Fatalf("images: %+v %v", imgs, err)
	}
	bin := ReleaseBinary{Release: "v1.0.0", Name: "kubectl", Digest: "sha256:cc", Size: 42, Package: "k8s.io/kubernetes/cmd/kubectl",
		Module: "k8s.io/kubernetes", Version: "v1.0.0", GoVersion: "go1.26.0", Modules: map[string]string{"golang.org/x/net": "v0.1.0"}, At: now}
	if err := s.RecordReleaseBinaries(ctx, []ReleaseBinary{bin, {Release: "v1.0.0", Name: "kubelet", Digest: "sha256:dd", At: now}}); err != nil {
		t.Fatal(err)
	}
	bins, err := s.ReleaseBinaries(ctx, "v1.0.0")
	if err != nil || len(bins) != 2 || bins[0].Digest != "sha256:cc" || bins[0].Size != 42 || bins[0].Modules["golang.org/x/net"] != "v0.1.0" ||
		bins[0].Package != bin.Package || bins[0].GoVersion != "go1.26.0" || !bins[0].At.Equal(now) || bins[1].Modules == nil {
		t.Fatalf("binaries: %+v %v", bins, err)
	}
	if bins, err := s.ReleaseBinaries(ctx, "v2.0.0"); err != nil || len(bins) != 0 {
		t.Fatalf("binaries of a release without any: %+v %v", bins, err)
	}
	if err := s.RecordReleasePublication(ctx, ReleasePublication{Release: "v1.0.0", Version: 2, Store: "local", ID: "sha256:bb", At: now}); err != nil {
		t.Fatal(err)
	}
	pubs, err := s.ReleasePublications(ctx, "v1.0.0")
	if err != nil || len(pubs) != 1 || pubs[0].Version != 2 {
		t.Fatalf("publications: %+v %v", pubs, err)
	}
	s.RecordReleaseCheck(ctx, "v1.0.0", "a")
	s.RecordReleaseCheck(ctx, "v1.0.0", "b")
	if c, err := s.ReleaseChecks(ctx); err != nil || c["v1.0.0"] != "b" {
		t.Fatalf("checks: %v %v", c, err)
	}
	// Append-only like every other table.
	for _, q := range []string{`UPDATE release_documents SET body = 'x'`, `DELETE FROM release_publications`, `DELETE FROM release_images`, `UPDATE release_checks SET inputs = ''`, `DELETE FROM release_binaries`, `UPDATE release_binaries SET digest = ''`} {
		if _, err := s.db.ExecContext(ctx, q); err == nil {
			t.Errorf("%s was allowed", q)
		}
	}
	m1, err := s.DecisionMark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tr, _, err := s.EnsureTriage(ctx, "GO-1", "m", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, Event{TriageID: tr.ID, Kind: KindAssessment, Source: "maintainer", Status: "not_affected"}); err != nil {
		t.Fatal(err)
	}
	if m2, _ := s.DecisionMark(ctx); m2 == m1 {
		t.Error("a maintainer's decision does not move the decision mark")
	}
}
