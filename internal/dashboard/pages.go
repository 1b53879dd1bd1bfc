package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/chatops"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
	"github.com/vexloom/vexloom/internal/vex"
)

//go:embed templates/*.html
var templateFS embed.FS

// Page sizes: a page stays small whatever the store holds.
const (
	matrixPageSize = 150
	queuePageSize  = 100
	timelineLimit  = 500
)

var funcs = template.FuncMap{
	"short": func(h string) string {
		if len(h) > 12 {
			return h[:12]
		}
		return h
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"day":        func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"pct":        func(f float64) string { return ftoa(f) + "%" },
	"add":        func(a, b int) int { return a + b },
	"sub":        func(a, b int) int { return a - b },
	"pathEscape": url.PathEscape,
	// safeURL keeps http and https links from outside; anything else
	// (javascript:, data:) becomes no link at all.
	"safeURL": func(s string) string {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return ""
		}
		return u.String()
	},
	"f":    ftoa,
	"add2": func(a, b float64) float64 { return round1(a + b) },
}

// pages are the parsed templates, by page, parsed when the first page is
// written: every command starts the program, few serve the dashboard.
var pages = sync.OnceValue(func() map[string]*template.Template {
	base := template.Must(template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/base.html"))
	out := map[string]*template.Template{}
	names, err := templateFS.ReadDir("templates")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		if n.Name() == "base.html" {
			continue
		}
		out[strings.TrimSuffix(n.Name(), ".html")] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n.Name()))
	}
	return out
})

// pageData is what every page has.
type pageData struct {
	Title   string
	Nav     string
	Project string
	Now     time.Time
	Page    any
}

type pageFunc func(r *http.Request, s *snapshot) (name, title string, data any, err error)

func (d *Dashboard) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := d.current(r.Context())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		name, title, data, err := fn(r, s)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := pages()[name].ExecuteTemplate(&buf, "base", pageData{Title: title, Nav: name, Project: s.Project, Now: s.Now, Page: data}); err != nil {
			d.fail(w, r, fmt.Errorf("rendering %s: %w", name, err))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.Write(buf.Bytes())
	}
}

// pager is a page of a long list.
type pager struct {
	Page, Pages, Total, From, To int
	Prev, Next                   string
}

func paginate(r *http.Request, total, size int) (pager, error) {
	p := pager{Page: 1, Total: total, Pages: max(1, (total+size-1)/size)}
	if s := r.URL.Query().Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return p, badRequest("page must be a positive number")
		}
		p.Page = min(n, p.Pages)
	}
	p.From = (p.Page - 1) * size
	p.To = min(total, p.From+size)
	link := func(n int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	return p, nil
}

type overviewData struct {
	Head    headline
	Columns []*column
	Rows    []matrixRow
	Pager   pager
}

func (d *Dashboard) overview(r *http.Request, s *snapshot) (string, string, any, error) {
	p, err := paginate(r, len(s.Rows), matrixPageSize)
	if err != nil {
		return "", "", nil, err
	}
	return "overview", "Overview", overviewData{Head: s.Head, Columns: s.Columns, Rows: s.Rows[p.From:p.To], Pager: p}, nil
}

// queueFilter is the queue's filter, from the query string.
type queueFilter struct {
	Branch, Module, Level, State string
}

type queueData struct {
	Filter   queueFilter
	Items    []queueItem
	Pager    pager
	Branches []string
	Modules  []string
	Levels   []string
	States   []string
}

func filterOf(r *http.Request) (queueFilter, error) {
	q := r.URL.Query()
	f := queueFilter{Branch: q.Get("branch"), Module: q.Get("module"), Level: q.Get("level"), State: q.Get("state")}
	if f.Level != "" && !slices.Contains(levelNames, f.Level) {
		return f, badRequest("level must be one of %s", strings.Join(levelNames, ", "))
	}
	if f.State == "" {
		f.State = "needs"
	}
	if f.State != "needs" && f.State != "all" {
		if _, err := triage.ParseState(f.State); err != nil {
			return f, badRequest("%v", err)
		}
	}
	return f, nil
}

var levelNames = []string{scan.LevelModule.String(), scan.LevelPackage.String(), scan.LevelSymbol.String()}

// items applies the filter: what needs a person, oldest first (the
// default), or every triage in a state.
func (s *snapshot) items(f queueFilter) []queueItem {
	var src []queueItem
	if f.State == "needs" {
		src = s.Queue
	} else {
		for _, v := range s.Views {
			if f.State != "all" && string(v.State) != f.State {
				continue
			}
			it := queueItem{View: v, Level: v.MaxLevel()}
			it.Since, _ = v.Waiting()
			for _, b := range v.Branches {
				it.Branches = append(it.Branches, b.Branch)
			}
			src = append(src, it)
		}
	}
	var out []queueItem
	for _, it := range src {
		if f.Branch != "" && !slices.Contains(it.Branches, f.Branch) {
			continue
		}
		if f.Module != "" && it.View.Dependency != f.Module {
			continue
		}
		if f.Level != "" && it.Level.String() != f.Level {
			continue
		}
		out = append(out, it)
	}
	return out
}

func (d *Dashboard) queue(r *http.Request, s *snapshot) (string, string, any, error) {
	f, err := filterOf(r)
	if err != nil {
		return "", "", nil, err
	}
	items := s.items(f)
	p, err := paginate(r, len(items), queuePageSize)
	if err != nil {
		return "", "", nil, err
	}
	data := queueData{Filter: f, Items: items[p.From:p.To], Pager: p, Levels: levelNames, States: []string{"needs", "all", "open", "assessed", "published", "closed"}}
	mods := map[string]bool{}
	for _, v := range s.Views {
		mods[v.Dependency] = true
	}
	for m := range mods {
		data.Modules = append(data.Modules, m)
	}
	slices.Sort(data.Modules)
	for _, c := range s.Columns {
		if c.Kind == KindBranch {
			data.Branches = append(data.Branches, c.Name)
		}
	}
	return "queue", "Triage queue", data, nil
}

type triageData struct {
	V        *triage.View
	Aliases  []string
	Refs     []reference
	Link     string
	Branches []branchData
	Deciders []decider
	Team     []string
	Timeline []timelineEntry
	Omitted  int
	Commands []string
	Backend  string
	Waiting  time.Time
	Advisory bool
}

type reference struct{ Type, URL string }

type branchData struct {
	triage.BranchState
	Cell        cell
	NeedsPerson bool
	Published   bool
}

type decider struct {
	Dir       string
	Approvers []string
}

type timelineEntry struct {
	Event   store.Event
	Line    string
	Comment *store.Comment
}

func (d *Dashboard) triagePage(r *http.Request, s *snapshot) (string, string, any, error) {
	v := s.byID[r.PathValue("id")]
	if v == nil {
		return "", "", nil, notFound("no triage %s", r.PathValue("id"))
	}
	td := triageData{V: v, Backend: d.opts.Backend, Advisory: triage.Project{Module: s.Project}.IsAdvisory(*v)}
	td.Waiting, _ = v.Waiting()
	for _, a := range append([]string{v.VulnID}, v.Vulnerability.Aliases...) {
		if a != v.Name() && !slices.Contains(td.Aliases, a) {
			td.Aliases = append(td.Aliases, a)
		}
	}
	if v.Vulnerability.URL != "" {
		td.Refs = append(td.Refs, reference{"ADVISORY", v.Vulnerability.URL})
	}
	for _, ref := range v.Vulnerability.References {
		td.Refs = append(td.Refs, reference{ref.Type, ref.URL})
	}
	if d.opts.Link != nil {
		td.Link = d.opts.Link(v.ID)
	}
	for _, b := range v.Branches {
		td.Branches = append(td.Branches, branchData{
			BranchState: b, Cell: branchCell(&b), NeedsPerson: b.NeedsPerson(),
			Published: b.Decision != nil && b.PublishedDecision == b.Decision.Seq,
		})
	}
	if d.opts.Policy != nil {
		if pol := d.opts.Policy(); pol != nil {
			for _, dir := range triage.DecisionDirs(*v) {
				if a := pol.Tree.Approvers(dir); len(a) > 0 {
					td.Deciders = append(td.Deciders, decider{dir, a})
				}
			}
			for _, t := range pol.SecurityTeam {
				if m, ok := pol.Tree.Alias(t); ok {
					td.Team = append(td.Team, t+" ("+strings.Join(m, ", ")+")")
				} else {
					td.Team = append(td.Team, t)
				}
			}
		}
	}
	comments, err := d.opts.Store.Comments(r.Context(), v.ID)
	if err != nil {
		return "", "", nil, err
	}
	byRef := map[string]*store.Comment{}
	for i := range comments {
		byRef[comments[i].Ref] = &comments[i]
	}
	evs := v.Events
	if len(evs) > timelineLimit {
		td.Omitted = len(evs) - timelineLimit
		evs = evs[len(evs)-timelineLimit:]
	}
	for _, ev := range evs {
		te := timelineEntry{Event: ev, Line: eventLine(ev)}
		if ev.CommentRef != "" {
			te.Comment = byRef[ev.CommentRef]
		}
		td.Timeline = append(td.Timeline, te)
	}
	td.Commands = commandsFor(v)
	return "triage", v.Name() + " in " + v.Dependency, td, nil
}

// commandsFor are ready-to-copy answers for the branches that need a
// person.
func commandsFor(v *triage.View) []string {
	var need []string
	fixed := ""
	for _, b := range v.Branches {
		if b.NeedsPerson() {
			need = append(need, b.Branch)
		}
		for _, o := range b.Observations {
			if o.FixedVersion != "" {
				fixed = o.FixedVersion
			}
		}
	}
	scope := ""
	if len(need) > 0 && len(need) < len(v.Branches) {
		scope = " branches=" + strings.Join(need, ",")
	}
	upgrade := "Upgrade " + v.Dependency
	if fixed != "" {
		upgrade += " to " + fixed
	}
	return []string{
		"/not_affected:" + string(openvex.VulnerableCodeCannotBeControlledByAdversary) + scope + " <why the vulnerable code cannot be exploited here>",
		"/not_affected:" + string(openvex.InlineMitigationsAlreadyExist) + scope + " <which mitigation>",
		"/affected" + scope + " " + upgrade + ".",
		"/fixed" + scope + " <the change that fixed it>",
		"/under_investigation" + scope + " <what is being looked at>",
	}
}

// eventLine says an event in one line, the way `vexloom history` does
// (without its sequence number, time and author, which the timeline shows
// apart).
func eventLine(ev store.Event) string {
	line := triage.EventSummary(ev)
	if note := triage.EventNote(ev); note != "" {
		line += " — " + note
	}
	return line
}

type releasesData struct {
	Columns []*column
}

func (d *Dashboard) releases(r *http.Request, s *snapshot) (string, string, any, error) {
	return "releases", "Releases and branches", releasesData{Columns: s.Columns}, nil
}

type releaseData struct {
	C        *column
	From, To int
	Diff     *docDiff
}

func (d *Dashboard) release(r *http.Request, s *snapshot) (string, string, any, error) {
	c := s.column(r.PathValue("kind"), r.PathValue("name"))
	if c == nil {
		return "", "", nil, notFound("no %s %s", r.PathValue("kind"), r.PathValue("name"))
	}
	rd := releaseData{C: c}
	if len(c.Versions) < 2 {
		return "release", c.Name, rd, nil
	}
	from, to, err := diffRange(r, c)
	if err != nil {
		return "", "", nil, err
	}
	parsed, err := d.versions(r, c, from, to)
	if err != nil {
		return "", "", nil, err
	}
	// The compared versions with their statements counted.
	cc := *c
	cc.Versions = nil
	for _, v := range c.Versions {
		if doc := parsed[v.Version]; doc != nil {
			v.Statements = len(doc.Statements)
		}
		cc.Versions = append(cc.Versions, v)
	}
	rd.C = &cc
	rd.Diff, err = branchDiff(c, parsed, from, to)
	if err != nil {
		return "", "", nil, err
	}
	rd.From, rd.To = from, to
	return "release", c.Name, rd, nil
}

// versions reads and parses the given versions of a branch's or a
// tracked release's document.
func (d *Dashboard) versions(r *http.Request, c *column, want ...int) (map[int]*openvex.VEX, error) {
	bodies := map[int][]byte{}
	switch {
	case c.Kind == KindBranch:
		docs, err := d.opts.Store.Documents(r.Context(), c.Name)
		if err != nil {
			return nil, err
		}
		for _, doc := range docs {
			bodies[doc.Version] = doc.Body
		}
	case c.Tracked:
		docs, err := d.opts.Store.ReleaseDocuments(r.Context(), c.Name)
		if err != nil {
			return nil, err
		}
		for _, doc := range docs {
			bodies[doc.Version] = doc.Body
		}
	}
	out := map[int]*openvex.VEX{}
	for v, body := range bodies {
		if !slices.Contains(want, v) {
			continue
		}
		parsed, err := vex.Parse(body)
		if err != nil {
			return nil, fmt.Errorf("version %d of the VEX of %s: %w", v, c.Name, err)
		}
		out[v] = parsed
	}
	return out, nil
}

// diffRange is the two versions to compare: the latest two unless ?from=
// and ?to= say otherwise.
func diffRange(r *http.Request, c *column) (from, to int, err error) {
	latest := c.Versions[len(c.Versions)-1].Version
	from, to = latest-1, latest
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		v    *int
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > latest {
				return 0, 0, badRequest("%s must be a version between 1 and %d", p.name, latest)
			}
			*p.v = n
		}
	}
	return from, to, nil
}

// branchDiff compares two versions of a branch's document.
func branchDiff(c *column, docs map[int]*openvex.VEX, from, to int) (*docDiff, error) {
	a, b := docs[from], docs[to]
	if a == nil || b == nil {
		return nil, notFound("%s has no version %d or %d", c.Name, from, to)
	}
	return diffDocuments(a, b), nil
}

type chartsData struct {
	C          charts
	W, H       int
	PadL, PadB int
	Baseline   int
	Right      int
}

func (d *Dashboard) chartsPage(r *http.Request, s *snapshot) (string, string, any, error) {
	return "charts", "Charts", chartsData{C: s.Charts, W: chartW, H: chartH, PadL: padL, PadB: padB, Baseline: chartH - padB, Right: chartW - padR}, nil
}

// chatopsHelp is the slash-command reference shown on triage pages.
var chatopsHelp = chatops.Help()
