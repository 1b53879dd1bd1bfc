package triage

import (
	"context"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// A Go finding in a release image's report is matched against the
// release's document in the store, else the triage history of the
// release's branch; without either the store holds no analysis of it.
func TestReleaseAnalysis(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	mustObserve(t, st, observed("main", "c1", in(appModule, htmlFinding(scan.LevelModule, "v0.32.0"))))
	mustObserve(t, st, observed("release-1.0", "c2", in(appModule, sshFinding(scan.LevelSymbol))))
	// Scans record the vulnerabilities' descriptions, with their aliases.
	for _, f := range []scan.Finding{htmlFinding(scan.LevelModule, "v0.32.0"), sshFinding(scan.LevelSymbol)} {
		if err := st.PutVulnerability(ctx, scan.Vulnerability{ID: f.ID, Aliases: f.Aliases}); err != nil {
			t.Fatal(err)
		}
	}

	html := []string{"CVE-2024-45338"}
	ssh := []string{"CVE-2024-45337"}

	// No document, no branch: nothing to match against.
	a, err := ReleaseAnalysis(ctx, st, "v1.0.0", "")
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != "" || a.Match(html, "pkg:golang/golang.org/x/net@v0.32.0").Found {
		t.Errorf("no analysis: %+v", a)
	}

	// The branch's history: the module-level finding is not_affected on
	// main; the ssh finding is release-1.0's, not main's.
	a, err = ReleaseAnalysis(ctx, st, "v1.0.0", "main")
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != "the triage history of branch main" {
		t.Errorf("source %q", a.Source)
	}
	if m := a.Match(html, "pkg:golang/golang.org/x/net@v0.32.0"); !m.Found || m.Status != string(openvex.StatusNotAffected) {
		t.Errorf("html on main: %+v", m)
	}
	if m := a.Match([]string{htmlVuln}, "pkg:golang/golang.org/x/net@v0.32.0"); !m.Found {
		t.Errorf("html by its Go ID: %+v", m)
	}
	if m := a.Match(ssh, "pkg:golang/golang.org/x/crypto@v0.30.0"); m.Found {
		t.Errorf("ssh is not on main: %+v", m)
	}
	if m := a.Match(html, "pkg:golang/golang.org/x/crypto@v0.30.0"); m.Found {
		t.Errorf("html in another module: %+v", m)
	}

	// The tracked release's document wins over the branch's history.
	ts := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	doc := vex.NewDocument("app maintainers", "", ts)
	doc.Statements = []openvex.Statement{{
		Vulnerability: openvex.Vulnerability{Name: sshVuln, Aliases: []openvex.VulnerabilityID{"CVE-2024-45337"}}, Timestamp: &ts,
		Products: []openvex.Product{{
			Component:     openvex.Component{ID: "pkg:golang/" + appModule + "@v1.0.0"},
			Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: "pkg:golang/golang.org/x/crypto@v0.30.0"}}},
		}},
		Status: openvex.StatusAffected, ActionStatement: "Upgrade golang.org/x/crypto.",
	}}
	if err := vex.Finalize(doc); err != nil {
		t.Fatal(err)
	}
	body, err := vex.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordReleaseDocument(ctx, store.ReleaseDocument{Release: "v1.0.0", Version: 3, Branch: "release-1.0", Commit: "c2", StatementsHash: "h", At: ts, Body: body}); err != nil {
		t.Fatal(err)
	}
	a, err = ReleaseAnalysis(ctx, st, "v1.0.0", "main")
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != "version 3 of the VEX of release v1.0.0" {
		t.Errorf("source %q", a.Source)
	}
	if m := a.Match(ssh, "pkg:golang/golang.org/x/crypto@v0.30.0"); !m.Found || m.Status != string(openvex.StatusAffected) {
		t.Errorf("ssh in the release's document: %+v", m)
	}
	// Another version of the module is not what the document speaks of.
	if m := a.Match(ssh, "pkg:golang/golang.org/x/crypto@v0.31.0"); m.Found {
		t.Errorf("another version matched: %+v", m)
	}
	if m := a.Match(html, "pkg:golang/golang.org/x/net@v0.32.0"); m.Found {
		t.Errorf("html is not in the release's document: %+v", m)
	}
}
