package triage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/owners"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// The project the tests observe: one module at the root, one in tools/,
// with three real vulnerabilities of the Go vulnerability database.
const (
	appModule   = "example.com/app"
	toolsModule = "example.com/app/tools"

	// GO-2024-3333 (CVE-2024-45338): non-linear parsing in
	// golang.org/x/net/html.
	htmlVuln = "GO-2024-3333"
	netDep   = "golang.org/x/net"
	// GO-2023-2102 (HTTP/2 rapid reset) is in both the standard library
	// and golang.org/x/net.
	resetVuln = "GO-2023-2102"
	// GO-2024-3321 (CVE-2024-45337): misuse of ServerConfig.PublicKeyCallback
	// in golang.org/x/crypto/ssh.
	sshVuln   = "GO-2024-3321"
	cryptoDep = "golang.org/x/crypto"
)

var (
	epoch      = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	maintained = []string{"main", "release-1.0", "release-1.1"}
)

// clock is a test clock that moves on one second at each reading, so the
// events of different transactions have different times and those of one
// transaction share one.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir(), (&clock{t: epoch}).now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// htmlFinding is GO-2024-3333 in golang.org/x/net at a level, as the
// scanner reports it: with the imported packages from package level and a
// call trace from cmd/app/main.go at symbol level.
func htmlFinding(level scan.Level, version string) scan.Finding {
	f := scan.Finding{
		ID:                 htmlVuln,
		Aliases:            []string{"CVE-2024-45338", "GHSA-w32m-9786-jp63"},
		Module:             netDep,
		Version:            version,
		FixedVersion:       "v0.33.0",
		Level:              level,
		VulnerablePackages: []string{"golang.org/x/net/html"},
		VulnerableSymbols:  []string{"golang.org/x/net/html.Parse", "golang.org/x/net/html.ParseFragment"},
	}
	if level >= scan.LevelPackage {
		f.Packages = []string{"golang.org/x/net/html"}
	}
	if level >= scan.LevelSymbol {
		f.Symbols = []string{"golang.org/x/net/html.Parse"}
		f.Traces = []scan.Trace{{
			{Module: netDep, Version: version, Package: "golang.org/x/net/html", Function: "Parse"},
			{Module: appModule, Package: appModule + "/cmd/app", Function: "main", Position: &scan.Position{Filename: "cmd/app/main.go", Line: 21, Column: 14}},
		}}
	}
	return f
}

// resetFinding is GO-2023-2102 in a dependency (stdlib or x/net).
func resetFinding(dep, version string, level scan.Level) scan.Finding {
	f := scan.Finding{
		ID:           resetVuln,
		Aliases:      []string{"CVE-2023-39325", "CVE-2023-44487", "GHSA-4374-p667-p6c8"},
		Module:       dep,
		Version:      version,
		FixedVersion: "v0.17.0",
		Level:        level,
	}
	pkg := "golang.org/x/net/http2"
	if dep == "stdlib" {
		pkg, f.FixedVersion = "net/http", "v1.21.3"
	}
	f.VulnerablePackages = []string{pkg}
	if level >= scan.LevelPackage {
		f.Packages = []string{pkg}
	}
	if level >= scan.LevelSymbol {
		f.Symbols = []string{pkg + ".Server.ServeConn"}
		f.Traces = []scan.Trace{{
			{Module: dep, Version: version, Package: pkg, Function: "ServeConn", Receiver: "*Server"},
			{Module: appModule, Package: appModule + "/internal/server", Function: "Run", Position: &scan.Position{Filename: "internal/server/server.go", Line: 40, Column: 2}},
		}}
	}
	return f
}

func sshFinding(level scan.Level) scan.Finding {
	return scan.Finding{
		ID: sshVuln, Aliases: []string{"CVE-2024-45337", "GHSA-v778-237x-gjrc"},
		Module: cryptoDep, Version: "v0.30.0", FixedVersion: "v0.31.0", Level: level,
		VulnerablePackages: []string{"golang.org/x/crypto/ssh"},
	}
}

// in places a finding in a module of the project.
func in(module string, f scan.Finding) ModuleFinding {
	dir := "."
	if module == toolsModule {
		dir = "tools"
	}
	return ModuleFinding{Module: module, ModuleDir: dir, ModuleVersion: "v1.2.0", GoVersion: "go1.26.8", Finding: f}
}

func observed(branch, commit string, fs ...ModuleFinding) Observed {
	return Observed{
		Branch: branch, Commit: commit, Findings: fs,
		Evidence: assess.Evidence{Analysis: "symbol", Tool: "vexloom test", Engine: "golang.org/x/vuln v1.9.0", Database: "fixture@v1"},
	}
}

func mustObserve(t testing.TB, st *store.Store, o Observed) []Change {
	t.Helper()
	ch, err := Observe(context.Background(), st, o)
	if err != nil {
		t.Fatalf("observing %s@%s: %v", o.Branch, o.Commit, err)
	}
	return ch
}

func history(t testing.TB, st *store.Store, id string) []store.Event {
	t.Helper()
	evs, err := st.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func kinds(evs []store.Event) []store.Kind {
	var out []store.Kind
	for _, ev := range evs {
		out = append(out, ev.Kind)
	}
	return out
}

func countKind(evs []store.Event, k store.Kind) int {
	n := 0
	for _, ev := range evs {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

// view derives a triage's view from the store.
func view(t testing.TB, st *store.Store, vuln, dep string, branches []string) View {
	t.Helper()
	ctx := context.Background()
	tr, err := st.FindTriage(ctx, store.TriageID(vuln, dep))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ViewOf(ctx, st, tr, branches)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustReconcile(t testing.TB, st *store.Store, branches []string) []Transition {
	t.Helper()
	trs, err := Reconcile(context.Background(), st, branches)
	if err != nil {
		t.Fatal(err)
	}
	return trs
}

// The project's OWNERS files, as Prow reads them: alice approves the whole
// repository, carol the command that calls x/net, dana (through an alias)
// the vendored x/net; rob only reviews; sam is in the security team.
var ownersFiles = map[string]string{
	"OWNERS_ALIASES": `aliases:
  net-approvers:
    - dana
  security-team:
    - sam
`,
	"OWNERS": `# See https://go.k8s.io/owners
approvers:
  - alice
reviewers:
  - rob
`,
	"cmd/app/OWNERS": `approvers:
  - Carol
reviewers:
  - rob
emeritus_approvers:
  - eve
`,
	"vendor/golang.org/x/net/OWNERS": `approvers:
  - net-approvers
`,
	"docs/OWNERS": `approvers:
  - doris
`,
}

// authorized are the logins that may decide the x/net triages.
var authorized = []string{"alice", "carol", "dana", "sam"}

func policy(t testing.TB) *owners.Approvers {
	t.Helper()
	var files []string
	for name, text := range ownersFiles {
		if _, err := owners.ParseFile([]byte(text)); err != nil && name != "OWNERS_ALIASES" {
			t.Fatalf("%s: %v", name, err)
		}
		files = append(files, name)
	}
	slices.Sort(files)
	tree, warnings, err := owners.Load(files, func(p string) ([]byte, error) {
		text, ok := ownersFiles[p]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(text), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Fatalf("OWNERS warnings: %v", warnings)
	}
	return &owners.Approvers{Tree: tree, SecurityTeam: []string{"security-team"}}
}

var commentSeq int

// comment makes a comment with a fresh Ref.
func comment(triageID, author, body string) Comment {
	commentSeq++
	return Comment{Ref: fmt.Sprintf("local:test-%d", commentSeq), TriageID: triageID, Author: author, Body: body, At: epoch.Add(time.Duration(commentSeq) * time.Minute)}
}

func mustApply(t testing.TB, st *store.Store, rules Rules, c Comment) Outcome {
	t.Helper()
	out, err := Apply(context.Background(), st, rules, c)
	if err != nil {
		t.Fatalf("applying %q by %s: %v", c.Body, c.Author, err)
	}
	return out
}

// publishBranch does what a run does after deciding: writes the branch's
// VEX document when it changed and records which decisions it states.
func publishBranch(t testing.TB, st *store.Store, branches []string, branch string, now time.Time) *BranchDocument {
	t.Helper()
	ctx := context.Background()
	views, err := Views(ctx, st, branches)
	if err != nil {
		t.Fatal(err)
	}
	prev, err := st.LatestDocument(ctx, branch)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	bd, err := BuildBranchDocument(DocumentInput{Repository: "https://example.com/app", Branch: branch, Views: views, Author: "App Security", Tooling: "vexloom test", Previous: prev, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var pubs []store.Event
	for _, v := range views {
		b := v.Branch(branch)
		if b == nil || b.Decision == nil || b.PublishedDecision == b.Decision.Seq {
			continue
		}
		data, _ := json.Marshal(publication{Branch: branch, Decision: b.Decision.Seq, Version: bd.Doc.Version})
		pubs = append(pubs, store.Event{TriageID: v.ID, Kind: store.KindPublished, Author: assess.AutomaticAuthor, Source: string(assess.SourceAutomatic), Branches: []string{branch}, Data: data})
	}
	if bd.Changed {
		body, err := vex.Marshal(bd.Doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.RecordDocument(ctx, store.Document{Branch: branch, Version: bd.Doc.Version, ContentHash: bd.ContentHash, At: now, Body: body}, pubs); err != nil {
			t.Fatal(err)
		}
	} else if len(pubs) > 0 {
		if _, err := st.Append(ctx, pubs...); err != nil {
			t.Fatal(err)
		}
	}
	return bd
}
