package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
)

// The benchmark's store: 5,000 triages over 40 branches with 50,000
// events, recorded through the store's normal API.
const (
	benchTriages  = 5000
	benchBranches = 40
	benchEvents   = 10 // per triage
	benchPerTri   = 4  // branches per triage
)

var (
	benchOnce  sync.Once
	benchStore *store.Store
	benchErr   error
	benchNow   = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
)

func benchBranch(i int) string { return fmt.Sprintf("release-1.%d", i) }

func buildBenchStore(dir string) (*store.Store, error) {
	ctx := context.Background()
	clock := benchNow.AddDate(-1, 0, 0)
	st, err := store.Open(ctx, dir, func() time.Time { return clock })
	if err != nil {
		return nil, err
	}
	var vulns []scan.Vulnerability
	for i := range benchTriages {
		vulns = append(vulns, scan.Vulnerability{
			ID: fmt.Sprintf("GO-2026-%04d", i), Aliases: []string{fmt.Sprintf("CVE-2026-%05d", i)},
			Summary: fmt.Sprintf("Denial of service in package %d <b>via</b> crafted input", i),
		})
	}
	for b := range benchBranches {
		sc := &store.Scan{Branch: benchBranch(b), Commit: fmt.Sprintf("%040x", b+1), CommitTime: clock, Tool: "vexloom", Engine: "x/vuln", DBSource: "golang.org/x/vulndb", DBVersion: "v0.0.1", At: clock}
		var vs []scan.Vulnerability
		if b == 0 {
			vs = vulns
		}
		if err := st.RecordScan(ctx, sc, nil, vs); err != nil {
			return nil, err
		}
	}
	docs := make([][]openvex.Statement, benchBranches)
	for i := range benchTriages {
		vuln, dep := fmt.Sprintf("GO-2026-%04d", i), fmt.Sprintf("example.com/dep%d", i%300)
		at := clock.Add(time.Duration(i) * 6 * time.Minute) // over the year
		open := i%5 < 2
		level := scan.LevelPackage
		if open {
			level = scan.LevelSymbol
		}
		var evs []store.Event
		var branches []string
		for k := range benchPerTri {
			b := benchBranch((i + k*7) % benchBranches)
			branches = append(branches, b)
			data, _ := json.Marshal(triage.Observation{Branch: b, Commit: "c", Module: "example.com/project", DependencyVersion: "v1.0.0", FixedVersion: "v1.0.1", Level: level,
				Symbols: []string{"pkg.Func"}, Traces: []scan.Trace{{{Module: "example.com/project", Package: "example.com/project/cmd", Function: "main", Position: &scan.Position{Filename: "cmd/main.go", Line: 10}}, {Module: dep, Package: dep + "/pkg", Function: "Func"}}}})
			evs = append(evs, store.Event{Kind: store.KindObserved, At: at, Author: "vexloom", Branches: []string{b}, Data: data})
		}
		status, just := "not_affected", "vulnerable_code_not_in_execute_path"
		if open {
			status, just = "under_investigation", ""
		}
		evs = append(evs, store.Event{Kind: store.KindAssessment, At: at, Author: "vexloom", Source: string(assess.SourceAutomatic), Status: status, Justification: just, Impact: "proven by the analysis"})
		if open {
			evs = append(evs, store.Event{Kind: store.KindState, At: at, Author: "vexloom", Data: json.RawMessage(`{"to":"open","reason":"reached"}`)})
			for k := range benchEvents - len(evs) {
				evs = append(evs, store.Event{Kind: store.KindComment, At: at.Add(time.Duration(k+1) * time.Hour), Author: "someone", Notes: "<script>x</script> not an approver"})
			}
		} else {
			decided := at.Add(time.Duration(i%40) * 24 * time.Hour)
			evs = append(evs,
				store.Event{Kind: store.KindState, At: at, Author: "vexloom", Data: json.RawMessage(`{"to":"assessed","reason":"automatic"}`)},
				store.Event{Kind: store.KindAssessment, At: decided, Author: "alice", Source: string(assess.SourceMaintainer), Status: "not_affected", Justification: "vulnerable_code_cannot_be_controlled_by_adversary", Impact: "trusted input only"},
			)
			for k, b := range branches[:benchEvents-len(evs)-1] {
				data, _ := json.Marshal(map[string]any{"branch": b, "decision": 0, "document_version": 2})
				evs = append(evs, store.Event{Kind: store.KindPublished, At: decided.Add(time.Duration(k) * time.Minute), Author: "vexloom", Data: data})
			}
			evs = append(evs, store.Event{Kind: store.KindState, At: decided, Author: "vexloom", Data: json.RawMessage(`{"from":"assessed","to":"published","reason":"published"}`)})
		}
		if len(evs) != benchEvents {
			return nil, fmt.Errorf("triage %d has %d events", i, len(evs))
		}
		if _, _, err := st.EnsureTriage(ctx, vuln, dep, evs); err != nil {
			return nil, err
		}
		for _, b := range branches {
			bi := 0
			fmt.Sscanf(b, "release-1.%d", &bi)
			stt := openvex.Statement{
				Vulnerability: openvex.Vulnerability{Name: openvex.VulnerabilityID(fmt.Sprintf("CVE-2026-%05d", i))},
				Products:      []openvex.Product{{Component: openvex.Component{ID: "pkg:golang/example.com/project@v1.0.0"}, Subcomponents: []openvex.Subcomponent{{Component: openvex.Component{ID: "pkg:golang/" + dep + "@v1.0.0"}}}}},
				Status:        openvex.Status(status), Justification: openvex.Justification(just),
			}
			docs[bi] = append(docs[bi], stt)
		}
	}
	for b := range benchBranches {
		for v := 1; v <= 2; v++ {
			doc := vex.NewDocument("bench", "vexloom", clock)
			doc.Version = v
			for _, s := range docs[b] {
				if v == 1 && s.Status == openvex.StatusNotAffected {
					s.Status, s.Justification = openvex.StatusUnderInvestigation, ""
				}
				doc.Statements = append(doc.Statements, s)
			}
			if err := vex.Finalize(doc); err != nil {
				return nil, err
			}
			body, err := vex.Marshal(doc)
			if err != nil {
				return nil, err
			}
			if err := st.RecordDocument(ctx, store.Document{Branch: benchBranch(b), Version: v, ContentHash: fmt.Sprint(v), Path: "vex/x.json", At: clock, Body: body}, nil); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// BenchmarkPages measures each page's server time and size over the
// large store: "cold" derives the views from the store again (the first
// request after anything was recorded), "warm" serves from the derived
// snapshot.
func BenchmarkPages(b *testing.B) {
	benchOnce.Do(func() {
		start := time.Now()
		// VEXLOOM_BENCH_STORE keeps the store between runs.
		if dir := os.Getenv("VEXLOOM_BENCH_STORE"); dir != "" {
			if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
				benchStore, benchErr = store.Open(context.Background(), dir, nil)
				return
			}
			benchStore, benchErr = buildBenchStore(dir)
			return
		}
		benchStore, benchErr = buildBenchStore(filepath.Join(tempRoot, "bench"))
		b.Logf("built the store (%d triages, %d branches, %d events) in %s", benchTriages, benchBranches, benchTriages*benchEvents, time.Since(start).Round(time.Millisecond))
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	d, err := New(Options{Store: benchStore, Project: "example.com/project", Now: func() time.Time { return benchNow }})
	if err != nil {
		b.Fatal(err)
	}
	tri := store.TriageID("GO-2026-0007", "example.com/dep7")
	pages := []struct{ name, path string }{
		{"overview", "/"}, {"overview-page20", "/?page=20"},
		{"queue", "/triages"}, {"queue-all-page30", "/triages?state=all&page=30"}, {"queue-filtered", "/triages?branch=release-1.3&level=symbol"},
		{"triage", "/triages/" + tri}, {"releases", "/releases"}, {"branch-diff", "/releases/branch/release-1.3"}, {"charts", "/charts"},
		{"api-overview", "/api/v1/overview"}, {"api-queue-page1", "/api/v1/triages?page=1"}, {"api-triage", "/api/v1/triages/" + tri},
		{"api-releases", "/api/v1/releases"}, {"api-charts", "/api/v1/charts"},
	}
	for _, mode := range []string{"cold", "warm"} {
		for _, pg := range pages {
			p := pg.path
			b.Run(mode+"-"+pg.name, func(b *testing.B) {
				var size int
				cpu0 := cpuTime()
				for b.Loop() {
					if mode == "cold" {
						d.Invalidate()
					}
					rec := httptest.NewRecorder()
					d.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
					if rec.Code != http.StatusOK {
						b.Fatalf("%s: %d %s", p, rec.Code, rec.Body)
					}
					size = rec.Body.Len()
				}
				b.ReportMetric(float64(size), "bytes/page")
				// On a shared machine the wall time counts others' work
				// too; the process's CPU time per page does not.
				b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
