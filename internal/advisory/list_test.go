package advisory

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/store"
)

// demoProject is the demo project (examples/demo) as the lead's CLI sees it:
// its release v1.0.0 on release-1.0, a later fixed release, and main.
func demoProject() Project {
	return Project{
		Module: "example.com/vexloom-demo",
		Products: []Product{
			{Kind: Branch, Ref: "main", Version: "v1.1.0-dev"},
			{Kind: Branch, Ref: "release-1.0", Version: "v1.0.1"},
			{Kind: Release, Ref: "v1.0.0", Version: "v1.0.0", Purls: []string{"pkg:golang/example.com/vexloom-demo@v1.0.0"}},
			{Kind: Release, Ref: "v1.0.1", Version: "v1.0.1", Purls: []string{"pkg:golang/example.com/vexloom-demo@v1.0.1"}},
		},
	}
}

func TestDemoAdvisory(t *testing.T) {
	for name, src := range map[string]Source{
		"osv":  {OSV: "testdata/demo/CVE-2026-0001.json"},
		"feed": {Feed: "testdata/demo/feed.json"},
		"both": {Feed: "testdata/demo/feed.json", OSV: "testdata/demo"},
	} {
		t.Run(name, func(t *testing.T) {
			st := openStore(t)
			p := demoProject()
			if name == "feed" {
				// The feed names the component "demo".
				p.Components = []Component{{Name: "demo", Binaries: []string{"demo"}}}
			}
			res, err := Sync(context.Background(), st, src, Options{Project: p, Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Advisories) != 1 || res.Advisories[0].ID != "CVE-2026-0001" {
				t.Fatalf("advisories: %+v (ignored %+v)", res.Advisories, res.Ignored)
			}
			got := statementsOf(t, st)
			if s := got["CVE-2026-0001 v1.0.0"]; s.Status != openvex.StatusAffected || !strings.HasPrefix(s.Action, "Upgrade to v1.0.1 or later.") {
				t.Errorf("v1.0.0: %+v", s)
			}
			if name != "osv" && !strings.Contains(got["CVE-2026-0001 v1.0.0"].Action, "Mitigation: Limit the size of the page") {
				t.Errorf("mitigation missing: %q", got["CVE-2026-0001 v1.0.0"].Action)
			}
			for _, ref := range []string{"v1.0.1", "release-1.0", "main"} {
				if s := got["CVE-2026-0001 "+ref]; s.Status != openvex.StatusFixed {
					t.Errorf("%s: %+v", ref, s)
				}
			}
			tr, err := st.FindTriage(context.Background(), "CVE-2026-0001")
			if err != nil || tr.Dependency != "example.com/vexloom-demo" {
				t.Errorf("triage %+v %v", tr, err)
			}
		})
	}
}

func TestListAndRender(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if advs, err := List(ctx, st); err != nil || len(advs) != 0 {
		t.Fatalf("empty store: %v %v", advs, err)
	}
	// A triage with only scanner events is not an advisory.
	if _, _, err := st.EnsureTriage(ctx, "GO-2024-3333", "golang.org/x/net", []store.Event{{Kind: store.KindObserved, Author: "vexloom", Branches: []string{"main"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(ctx, st, Source{OSV: "testdata/demo"}, Options{Project: demoProject(), Now: func() time.Time { return testNow }}); err != nil {
		t.Fatal(err)
	}
	advs, err := List(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(advs) != 1 {
		t.Fatalf("%d advisories", len(advs))
	}
	a := advs[0]
	if a.ID != "CVE-2026-0001" || a.Triage == "" || len(a.Statements) != 4 || a.Summary == "" || a.Source != "testdata/demo" ||
		!a.Published.Equal(time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)) || len(a.Severity) != 1 {
		t.Errorf("listed: %+v", a)
	}

	var tb bytes.Buffer
	if err := WriteTable(&tb, advs); err != nil {
		t.Fatal(err)
	}
	want := "ADVISORY       PUBLISHED   PRODUCT               VERSION     STATUS    DETAIL\n" +
		"CVE-2026-0001  2026-01-20  main (branch)         v1.1.0-dev  fixed     fixed in v1.0.1\n" +
		"CVE-2026-0001  2026-01-20  release-1.0 (branch)  v1.0.1      fixed     fixed in v1.0.1\n" +
		"CVE-2026-0001  2026-01-20  v1.0.0 (release)      v1.0.0      affected  Upgrade to v1.0.1 or later.\n" +
		"CVE-2026-0001  2026-01-20  v1.0.1 (release)      v1.0.1      fixed     fixed in v1.0.1\n"
	if tb.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", tb.String(), want)
	}

	var jb bytes.Buffer
	if err := WriteJSON(&jb, advs); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema     string `json:"schema"`
		Advisories []struct {
			ID         string `json:"id"`
			Triage     string `json:"triage"`
			Statements []struct {
				Status  string  `json:"status"`
				Action  string  `json:"action_statement"`
				Product Product `json:"product"`
			} `json:"statements"`
		} `json:"advisories"`
	}
	if err := json.Unmarshal(jb.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != Schema || len(doc.Advisories) != 1 || doc.Advisories[0].Statements[2].Action != "Upgrade to v1.0.1 or later." {
		t.Errorf("json: %s", jb.String())
	}
	var again bytes.Buffer
	WriteJSON(&again, advs)
	if !bytes.Equal(jb.Bytes(), again.Bytes()) {
		t.Error("JSON is not reproducible")
	}
	var empty bytes.Buffer
	WriteJSON(&empty, nil)
	if !strings.Contains(empty.String(), `"advisories": []`) {
		t.Errorf("empty: %s", empty.String())
	}

	// Hostile text cannot break the table.
	advs[0].Statements[2].Action = "line\none\tand\x1b[2J more " + strings.Repeat("é", 80)
	tb.Reset()
	WriteTable(&tb, advs)
	if strings.Count(tb.String(), "\n") != 5 || strings.Contains(tb.String(), "\x1b") {
		t.Errorf("table: %q", tb.String())
	}
}
