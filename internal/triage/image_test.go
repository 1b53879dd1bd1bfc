package triage

import (
	"context"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/store"
)

const (
	libcKey = "pkg:deb/debian/libc6"
	zlibKey = "pkg:deb/debian/zlib1g"
)

func imageObserved(findings ...ImageFinding) ImageObserved {
	return ImageObserved{Release: "v1.34.2", Image: "registry.example/kube-proxy", Digest: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		Scanner: "trivy report trivy.json", Findings: findings}
}

// Findings in a release image become triages: one the base image's VEX
// covers is assessed from it and needs no person; one it does not is open
// until a maintainer with OWNERS rights answers, whose decision then wins;
// observing the same report again records nothing; a finding no longer
// reported is gone. Maintained branches do not hide image triages.
func TestObserveImage(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	ts := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	covered := &openvex.Statement{Status: openvex.StatusNotAffected, Justification: openvex.VulnerableCodeNotInExecutePath,
		StatusNotes: "Inherited from the VEX of the base image debian-base.", Timestamp: &ts}
	libc := ImageFinding{Vulnerability: "CVE-2024-1111", Package: libcKey + "@2.36-9", PackageKey: libcKey, Version: "2.36-9", Covered: covered}
	zlib := ImageFinding{Vulnerability: "CVE-2025-3333", Package: zlibKey + "@1.2.13", PackageKey: zlibKey, Version: "1.2.13", FixedVersion: "1.2.13-1"}
	changes, err := ObserveImage(ctx, st, imageObserved(libc, zlib))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || !changes[0].Created || !changes[1].Created {
		t.Fatalf("changes %+v", changes)
	}
	if again, err := ObserveImage(ctx, st, imageObserved(libc, zlib)); err != nil || len(again) != 0 {
		t.Fatalf("observing the same report again: %+v, %v", again, err)
	}

	lv := view(t, st, "CVE-2024-1111", libcKey, maintained)
	if lv.State != Assessed || len(lv.Branches) != 1 || lv.Branches[0].Branch != "image:v1.34.2" || lv.Branches[0].NeedsPerson() {
		t.Errorf("covered finding: state %s, branches %+v", lv.State, lv.Branches)
	}
	if d := lv.Branches[0].Decision; d == nil || d.Author != BaseVEXAuthor || d.Status != "not_affected" {
		t.Errorf("covered finding's decision: %+v", d)
	}
	zv := view(t, st, "CVE-2025-3333", zlibKey, maintained)
	if zv.State != Open || !zv.Branches[0].NeedsPerson() || zv.Branches[0].Observations[0].Module != "registry.example/kube-proxy@sha256:1111111111111111111111111111111111111111111111111111111111111111" {
		t.Fatalf("uncovered finding: state %s, %+v", zv.State, zv.Branches)
	}

	// Someone who is not an approver cannot decide it; an approver can.
	rules := Rules{Policy: policy(t), Maintained: maintained}
	out, err := Apply(ctx, st, rules, Comment{Ref: "c1", TriageID: zv.ID, Author: "mallory", Body: "/not_affected:vulnerable_code_not_in_execute_path", At: ts})
	if err != nil || out.Kind != OutcomeUnauthorized {
		t.Fatalf("mallory: %+v, %v", out, err)
	}
	out, err = Apply(ctx, st, rules, Comment{Ref: "c2", TriageID: zv.ID, Author: "alice", Body: "/not_affected:vulnerable_code_not_in_execute_path\nkube-proxy never decompresses input.", At: ts})
	if err != nil || out.Kind != OutcomeApplied {
		t.Fatalf("alice: %+v, %v", out, err)
	}
	zv = view(t, st, "CVE-2025-3333", zlibKey, maintained)
	if zv.State == Open || zv.Branches[0].Decision == nil || zv.Branches[0].Decision.Author != "alice" {
		t.Errorf("after alice's answer: state %s, decision %+v", zv.State, zv.Branches[0].Decision)
	}
	// A maintainer's decision wins over the base image's.
	if _, err := Apply(ctx, st, rules, Comment{Ref: "c3", TriageID: lv.ID, Author: "alice", Body: "/affected\nUpgrade the base image.", At: ts}); err != nil {
		t.Fatal(err)
	}
	if d := view(t, st, "CVE-2024-1111", libcKey, maintained).Branches[0].Decision; d == nil || d.Author != "alice" || d.Status != "affected" {
		t.Errorf("the base image's statement won over a maintainer's: %+v", d)
	}
	// The next report no longer has zlib: it is gone, the triage closes.
	if _, err := ObserveImage(ctx, st, imageObserved(libc)); err != nil {
		t.Fatal(err)
	}
	if v := view(t, st, "CVE-2025-3333", zlibKey, maintained); v.State != Closed {
		t.Errorf("a finding no longer reported: state %s", v.State)
	}
	// update's pass over unmaintained branches leaves image observations be.
	if _, err := Unmaintained(ctx, st, maintained); err != nil {
		t.Fatal(err)
	}
	if v := view(t, st, "CVE-2024-1111", libcKey, maintained); len(v.Branches) != 1 {
		t.Errorf("Unmaintained removed an image observation: %+v", v.Branches)
	}
	if _, err := st.FindTriage(ctx, store.TriageID("CVE-2024-1111", libcKey)); err != nil {
		t.Fatal(err)
	}
}
