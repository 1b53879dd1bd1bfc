package dashboard

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/branch"
	"github.com/vexloom/vexloom/internal/publish"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
)

// Cell classes: where a vulnerability stands on a branch or release.
const (
	ClassNeeds    = "needs"    // needs a person
	ClassPerson   = "person"   // not_affected, decided by a person (or an advisory)
	ClassAnalysis = "analysis" // not_affected, proven by the analysis
	ClassAffected = "affected" // affected
	ClassFixed    = "fixed"    // fixed
)

// Column kinds.
const (
	KindBranch  = "branch"
	KindRelease = "release"
)

// snapshot is everything the pages show, derived once per store revision.
type snapshot struct {
	Revision string
	Now      time.Time
	Project  string

	Columns []*column
	// Views are the triages (not the project's own advisories), by ID.
	Views []*triage.View
	byID  map[string]*triage.View
	// Advisories are the project's own advisories.
	Advisories []*triage.View
	Queue      []queueItem
	Rows       []matrixRow
	Head       headline
	Charts     charts
}

// column is a maintained branch or a release in the matrix.
type column struct {
	Name    string
	Kind    string
	Commit  string
	Scanned time.Time
	DB      string
	// Versions of the column's VEX document (branches) with where and when
	// each was published.
	Versions []docVersion
	// Published are the documents published for it (releases, and branch
	// documents in the local published store).
	Published []published
	// Cells by triage ID.
	Cells map[string]cell
	Gate  gateVerdict

	// Tracked is true for a tracked release: one whose living VEX update
	// keeps in the store (Versions are then its document's versions).
	Tracked bool
	// Branch is the maintained branch a tracked release was cut from.
	Branch string
	// Images are the platform images a tracked release's references
	// resolved to, as recorded.
	Images []store.ReleaseImage
	// Binaries are the executables its latest document names.
	Binaries []binaryProduct
	// latest is a tracked release's latest document, parsed.
	latest *openvex.VEX
}

// binaryProduct is a shipped executable named in a release's document.
type binaryProduct struct {
	ID     string
	Digest string
}

// Latest is the column's latest document version (nil when none).
func (c *column) Latest() *docVersion {
	if len(c.Versions) == 0 {
		return nil
	}
	return &c.Versions[len(c.Versions)-1]
}

// Stores names the stores a version was pushed to, once each.
func (v docVersion) Stores() []string {
	var out []string
	for _, p := range v.Publications {
		if !slices.Contains(out, p.Store) {
			out = append(out, p.Store)
		}
	}
	return out
}

// doc is the document the column's cells and gate are read from: a
// tracked release's latest version, else the latest published one.
func (c *column) doc() *openvex.VEX {
	if c.latest != nil {
		return c.latest
	}
	if len(c.Published) > 0 {
		return c.Published[len(c.Published)-1].doc
	}
	return nil
}

type docVersion struct {
	Version     int
	ContentHash string
	Path        string
	At          time.Time
	Size        int
	// Statements is counted where one branch's versions are shown.
	Statements int
	// Signed says a tracked release's version has a Sigstore bundle, and
	// Publications where it was pushed.
	Signed         bool
	StatementsHash string
	Publications   []store.ReleasePublication
}

// published is a document in the local published store.
type published struct {
	ID         string
	At         time.Time
	Signed     bool
	Subjects   []publish.Subject
	Products   []string
	Statements int
	Store      string
	// statements by status (releases' cells and verdict).
	doc *openvex.VEX
}

type cell struct {
	Class string
	Level string
	Title string
}

type gateVerdict struct {
	Pass bool
	// Known is false when there is nothing to judge.
	Known   bool
	Reason  string
	Blocked []string
}

type queueItem struct {
	View     *triage.View
	Since    time.Time
	Branches []string
	Level    scan.Level
}

type matrixRow struct {
	View  *triage.View
	Since time.Time
	Cells []cell
}

type headline struct {
	Analysis, Person, Affected, Fixed, Waiting int
	WaitingTriages                             int
	Open, Assessed, Published, Closed          int
	Oldest                                     []queueItem
	Advisories                                 int
}

// loader reads the store into snapshots.
type loader struct {
	opts Options
}

// maintained returns the branches the project maintains as the store knows
// them: those with a recorded scan that match the configured names or
// patterns (every scanned branch when none are configured).
func maintained(scans map[string]*store.Scan, patterns []string) []string {
	var out []string
	for b := range scans {
		if len(patterns) == 0 {
			out = append(out, b)
			continue
		}
		if branch.MatchAny(patterns, b) {
			out = append(out, b)
		}
	}
	sort.Strings(out)
	return out
}

func (l *loader) load(ctx context.Context, revision string) (*snapshot, error) {
	st := l.opts.Store
	now := l.opts.Now()
	scans, err := st.LatestScans(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the scans: %w", err)
	}
	branches := maintained(scans, l.opts.Branches)
	all, err := views(ctx, st, scans, branches)
	if err != nil {
		return nil, fmt.Errorf("deriving the triages: %w", err)
	}
	s := &snapshot{Revision: revision, Now: now, Project: l.opts.Project, byID: map[string]*triage.View{}}
	for i := range all {
		v := &all[i]
		if (triage.Project{Module: l.opts.Project}).IsAdvisory(*v) {
			s.Advisories = append(s.Advisories, v)
			continue
		}
		s.Views = append(s.Views, v)
		s.byID[v.ID] = v
	}
	for _, v := range s.Advisories {
		s.byID[v.ID] = v
	}

	for _, b := range branches {
		sc := scans[b]
		c := &column{Name: b, Kind: KindBranch, Commit: sc.Commit, Scanned: sc.At, DB: sc.DBSource + "@" + sc.DBVersion, Cells: map[string]cell{}}
		docs, err := st.Documents(ctx, b)
		if err != nil {
			return nil, fmt.Errorf("reading the VEX of %s: %w", b, err)
		}
		for _, d := range docs {
			c.Versions = append(c.Versions, docVersion{Version: d.Version, ContentHash: d.ContentHash, Path: d.Path, At: d.At, Size: len(d.Body)})
		}
		s.Columns = append(s.Columns, c)
	}
	if err := l.loadTracked(ctx, s); err != nil {
		return nil, err
	}
	if err := l.loadPublished(ctx, s); err != nil {
		return nil, err
	}

	for _, v := range s.Views {
		for i := range v.Branches {
			b := &v.Branches[i]
			col := s.column(KindBranch, b.Branch)
			if col == nil {
				continue
			}
			c := branchCell(b)
			col.Cells[v.ID] = c
			switch c.Class {
			case ClassNeeds:
				s.Head.Waiting++
			case ClassAnalysis:
				s.Head.Analysis++
			case ClassPerson:
				s.Head.Person++
			case ClassAffected:
				s.Head.Affected++
			case ClassFixed:
				s.Head.Fixed++
			}
		}
		switch v.State {
		case triage.Open:
			s.Head.Open++
		case triage.Assessed:
			s.Head.Assessed++
		case triage.Published:
			s.Head.Published++
		case triage.Closed:
			s.Head.Closed++
		}
	}
	s.Head.Advisories = len(s.Advisories)
	s.releaseCells()

	for _, v := range triage.Queue(derefs(s.Views)) {
		pv := s.byID[v.ID]
		since, _ := pv.Waiting()
		it := queueItem{View: pv, Since: since}
		for _, b := range pv.Branches {
			if b.NeedsPerson() {
				it.Branches = append(it.Branches, b.Branch)
				if b.Level > it.Level {
					it.Level = b.Level
				}
			}
		}
		s.Queue = append(s.Queue, it)
	}
	s.Head.WaitingTriages = len(s.Queue)
	s.Head.Oldest = s.Queue[:min(len(s.Queue), 10)]

	// The matrix: what is present somewhere, what needs a person first
	// (the oldest first), then by name.
	waiting := map[string]time.Time{}
	for _, it := range s.Queue {
		waiting[it.View.ID] = it.Since
	}
	for _, v := range s.Views {
		r := matrixRow{View: v, Since: waiting[v.ID]}
		present := false
		for _, c := range s.Columns {
			cl := c.Cells[v.ID]
			if cl.Class != "" {
				present = true
			}
			r.Cells = append(r.Cells, cl)
		}
		if present {
			s.Rows = append(s.Rows, r)
		}
	}
	slices.SortStableFunc(s.Rows, func(a, b matrixRow) int {
		aw, bw := !a.Since.IsZero(), !b.Since.IsZero()
		if aw != bw {
			if aw {
				return -1
			}
			return 1
		}
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		return cmp.Compare(a.View.Name()+a.View.Dependency, b.View.Name()+b.View.Dependency)
	})
	for _, c := range s.Columns {
		c.Gate = s.gate(c)
	}
	s.Charts = buildCharts(s)
	return s, nil
}

// views derives every triage's view as triage.Views does, reading the
// history and the vulnerabilities in one query each.
func views(ctx context.Context, st *store.Store, scans map[string]*store.Scan, maintained []string) ([]triage.View, error) {
	triages, err := st.Triages(ctx)
	if err != nil {
		return nil, err
	}
	all, err := st.AllEvents(ctx)
	if err != nil {
		return nil, err
	}
	vulns, err := st.Vulnerabilities(ctx)
	if err != nil {
		return nil, err
	}
	commits := map[string]string{}
	for b, sc := range scans {
		commits[b] = sc.Commit
	}
	out := make([]triage.View, 0, len(triages))
	for _, t := range triages {
		v := triage.Derive(t, all[t.ID], maintained, commits)
		v.Vulnerability = scan.Vulnerability{ID: t.VulnID}
		if vv, ok := vulns[t.VulnID]; ok {
			v.Vulnerability = vv
		}
		out = append(out, v)
	}
	return out, nil
}

func derefs(vs []*triage.View) []triage.View {
	out := make([]triage.View, len(vs))
	for i, v := range vs {
		out[i] = *v
	}
	return out
}

// loadPublished reads the local published store: release documents become
// columns of their own, branch documents say where each version went.
func (l *loader) loadPublished(ctx context.Context, s *snapshot) error {
	if l.opts.Published == nil {
		return nil
	}
	recs, err := l.opts.Published.List(ctx, publish.Query{})
	if err != nil {
		return fmt.Errorf("reading the published documents: %w", err)
	}
	for _, r := range recs {
		p := published{
			ID: r.ID, At: r.PublishedAt, Signed: len(r.Object.Bundle) > 0,
			Subjects: r.Object.Subjects, Products: r.Object.Products, Store: "local",
		}
		if doc, err := vex.Parse(r.Object.Document); err == nil {
			p.doc = doc
			p.Statements = len(doc.Statements)
		}
		kind := KindBranch
		if r.Object.Kind == publish.KindRelease {
			kind = KindRelease
		}
		c := s.column(kind, r.Object.Ref)
		if c == nil {
			if kind == KindBranch {
				continue // a branch no longer maintained
			}
			c = &column{Name: r.Object.Ref, Kind: KindRelease, Cells: map[string]cell{}}
			s.Columns = append(s.Columns, c)
		}
		c.Published = append(c.Published, p)
	}
	return nil
}

// loadTracked reads the tracked releases' living documents: each becomes
// a release column, with its versions, images, binaries and where each
// version was pushed.
func (l *loader) loadTracked(ctx context.Context, s *snapshot) error {
	st := l.opts.Store
	docs, err := st.ReleaseDocuments(ctx, "")
	if err != nil {
		return fmt.Errorf("reading the tracked releases: %w", err)
	}
	var c *column
	for i := range docs {
		d := &docs[i]
		if c == nil || c.Name != d.Release {
			c = &column{Name: d.Release, Kind: KindRelease, Tracked: true, Cells: map[string]cell{}}
			s.Columns = append(s.Columns, c)
		}
		sum := sha256.Sum256(d.Body)
		c.Versions = append(c.Versions, docVersion{
			Version: d.Version, ContentHash: "sha256:" + hex.EncodeToString(sum[:]), At: d.At, Size: len(d.Body),
			Signed: len(d.Bundle) > 0, StatementsHash: d.StatementsHash,
		})
		c.Branch, c.Commit = d.Branch, d.Commit
		if i+1 == len(docs) || docs[i+1].Release != d.Release {
			doc, err := vex.Parse(d.Body)
			if err != nil {
				return fmt.Errorf("version %d of the VEX of release %s: %w", d.Version, d.Release, err)
			}
			c.latest = doc
			c.Binaries = binaries(doc)
		}
	}
	for _, c := range s.Columns {
		if !c.Tracked {
			continue
		}
		if c.Images, err = st.ReleaseImages(ctx, c.Name); err != nil {
			return fmt.Errorf("reading the images of release %s: %w", c.Name, err)
		}
		pubs, err := st.ReleasePublications(ctx, c.Name)
		if err != nil {
			return fmt.Errorf("reading where release %s was published: %w", c.Name, err)
		}
		for _, p := range pubs {
			for i := range c.Versions {
				if c.Versions[i].Version == p.Version {
					c.Versions[i].Publications = append(c.Versions[i].Publications, p)
				}
			}
		}
	}
	return nil
}

// binaries are the products of a document that are executables: those
// with a SHA-256 that are not container images.
func binaries(doc *openvex.VEX) []binaryProduct {
	var out []binaryProduct
	seen := map[string]bool{}
	for _, st := range doc.Statements {
		for _, p := range st.Products {
			id := p.ID
			if pu, ok := p.Identifiers[openvex.PURL]; ok {
				id = pu
			}
			h, ok := p.Hashes[openvex.SHA256]
			if !ok || strings.HasPrefix(id, "pkg:oci/") || seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, binaryProduct{ID: id, Digest: "sha256:" + string(h)})
		}
	}
	slices.SortFunc(out, func(a, b binaryProduct) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (s *snapshot) column(kind, name string) *column {
	for _, c := range s.Columns {
		if c.Kind == kind && c.Name == name {
			return c
		}
	}
	return nil
}

// Column finds a column by kind and name.
func (s *snapshot) Column(kind, name string) *column { return s.column(kind, name) }

func branchCell(b *triage.BranchState) cell {
	c := cell{Level: b.Level.String()}
	switch {
	case b.NeedsPerson():
		c.Class = ClassNeeds
		c.Title = "needs a person"
		if b.Flagged {
			c.Title = "needs a person: a decision no longer holds"
		}
	case b.Decision.Status == string(openvex.StatusAffected):
		c.Class, c.Title = ClassAffected, "affected, by "+b.Decision.Author
	case b.Decision.Status == string(openvex.StatusFixed):
		c.Class, c.Title = ClassFixed, "fixed, by "+b.Decision.Author
	case b.Decision.Source == string(assess.SourceAutomatic):
		c.Class, c.Title = ClassAnalysis, "not_affected: "+b.Decision.Justification+" (proven by analysis)"
	default:
		c.Class, c.Title = ClassPerson, "not_affected: "+b.Decision.Justification+", decided by "+b.Decision.Author
	}
	return c
}

// releaseCells fills release columns from their latest published
// document: each statement is matched to its triage by vulnerability and
// dependency.
func (s *snapshot) releaseCells() {
	type key struct{ name, dep string }
	index := map[key]*triage.View{}
	for _, v := range s.Views {
		for _, id := range append([]string{v.VulnID, v.Name()}, v.Vulnerability.Aliases...) {
			index[key{strings.ToUpper(id), v.Dependency}] = v
		}
	}
	for _, c := range s.Columns {
		if c.Kind != KindRelease {
			continue
		}
		doc := c.doc()
		if doc == nil {
			continue
		}
		for _, st := range doc.Statements {
			ids := []string{string(st.Vulnerability.Name)}
			for _, a := range st.Vulnerability.Aliases {
				ids = append(ids, string(a))
			}
			var deps []string
			for _, p := range st.Products {
				for _, sc := range p.Subcomponents {
					for _, id := range []string{sc.ID, sc.Identifiers[openvex.PURL]} {
						if m, _, ok := purl.Module(id); ok {
							deps = append(deps, m)
						}
					}
				}
			}
			for _, id := range ids {
				for _, dep := range deps {
					v := index[key{strings.ToUpper(id), dep}]
					if v == nil {
						continue
					}
					c.Cells[v.ID] = statementCell(v, st)
				}
			}
		}
	}
}

func statementCell(v *triage.View, st openvex.Statement) cell {
	c := cell{}
	switch st.Status {
	case openvex.StatusAffected:
		c.Class, c.Title = ClassAffected, "affected"
	case openvex.StatusFixed:
		c.Class, c.Title = ClassFixed, "fixed"
	case openvex.StatusUnderInvestigation:
		c.Class, c.Title = ClassNeeds, "under investigation: needs a person"
	default:
		c.Class, c.Title = ClassAnalysis, "not_affected: "+string(st.Justification)
		// A person made this decision when the history has theirs.
		for _, ev := range v.Events {
			if ev.Kind == store.KindAssessment && ev.Source != string(assess.SourceAutomatic) &&
				ev.Status == string(st.Status) && ev.Justification == string(st.Justification) {
				c.Class, c.Title = ClassPerson, "not_affected: "+string(st.Justification)+", decided by "+ev.Author
			}
		}
	}
	return c
}

// gate is the release gate's default rule over what the store knows: a
// column fails while a vulnerability reached by the code (a branch's
// symbol-level finding, or a release statement still under investigation
// or affected) has no decision saying not_affected or fixed.
func (s *snapshot) gate(c *column) gateVerdict {
	g := gateVerdict{Known: true, Pass: true}
	if c.Kind == KindBranch {
		for _, v := range s.Views {
			b := v.Branch(c.Name)
			if b == nil || b.Level < scan.LevelSymbol {
				continue
			}
			if b.NeedsPerson() || (b.Decision.Status != string(openvex.StatusNotAffected) && b.Decision.Status != string(openvex.StatusFixed)) {
				g.Blocked = append(g.Blocked, v.Name()+" in "+v.Dependency)
			}
		}
		g.Reason = "a reached vulnerability blocks the branch until it is decided not_affected or fixed"
	} else {
		doc := c.doc()
		if doc == nil {
			return gateVerdict{Reason: "no document published"}
		}
		for _, st := range doc.Statements {
			if st.Status == openvex.StatusAffected || st.Status == openvex.StatusUnderInvestigation {
				g.Blocked = append(g.Blocked, string(st.Vulnerability.Name)+" ("+string(st.Status)+")")
			}
		}
		g.Reason = "a statement still affected or under investigation blocks the release"
	}
	slices.Sort(g.Blocked)
	g.Blocked = slices.Compact(g.Blocked)
	g.Pass = len(g.Blocked) == 0
	return g
}
