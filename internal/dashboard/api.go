package dashboard

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/viewjson"
)

// Schemas of the API's own views; triages, one triage and a history use
// the command line's triages/v1, triage/v1 and history/v1.
const (
	SchemaOverview = viewjson.SchemaBase + "dashboard/overview/v1"
	SchemaReleases = viewjson.SchemaBase + "dashboard/releases/v1"
	SchemaRelease  = viewjson.SchemaBase + "dashboard/release/v1"
	SchemaCharts   = viewjson.SchemaBase + "dashboard/charts/v1"
	SchemaVEX      = viewjson.SchemaVEX
	// SchemaReleaseVEX is a version of a tracked release's document, as
	// `vexloom vex --release` prints it in JSON.
	SchemaReleaseVEX = viewjson.SchemaReleaseVEX
)

type apiFunc func(r *http.Request, s *snapshot) (any, error)

func (d *Dashboard) api(fn apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := d.current(r.Context())
		if err != nil {
			d.fail(w, r, err)
			return
		}
		v, err := fn(r, s)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := jsonx.Write(&buf, v); err != nil {
			d.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
		w.Write(buf.Bytes())
	}
}

type apiCounts struct {
	Analysis       int `json:"analysis"`
	Person         int `json:"person"`
	Affected       int `json:"affected"`
	Fixed          int `json:"fixed"`
	Waiting        int `json:"waiting"`
	WaitingTriages int `json:"waiting_triages"`
	Open           int `json:"open"`
	Assessed       int `json:"assessed"`
	Published      int `json:"published"`
	Closed         int `json:"closed"`
	Advisories     int `json:"advisories"`
}

type apiGate struct {
	Verdict string   `json:"verdict"`
	Reason  string   `json:"reason,omitempty"`
	Blocked []string `json:"blocked"`
}

type apiColumn struct {
	Name       string         `json:"name"`
	Kind       string         `json:"kind"`
	Commit     string         `json:"commit,omitempty"`
	Scanned    *time.Time     `json:"scanned,omitempty"`
	Database   string         `json:"database,omitempty"`
	VEXVersion int            `json:"vex_version"`
	Versions   []apiVersion   `json:"versions"`
	Published  []apiPublished `json:"published"`
	Gate       apiGate        `json:"gate"`
	// Tracked releases only: the branch it was cut from, its platform
	// images and the binaries its latest document names.
	Tracked  bool        `json:"tracked,omitempty"`
	Branch   string      `json:"branch,omitempty"`
	Images   []apiImage  `json:"images,omitempty"`
	Binaries []apiBinary `json:"binaries,omitempty"`
}

type apiImage struct {
	Reference  string    `json:"reference"`
	Repository string    `json:"repository"`
	Index      string    `json:"index_digest,omitempty"`
	Platform   string    `json:"platform"`
	Digest     string    `json:"digest"`
	Recorded   time.Time `json:"recorded"`
}

type apiBinary struct {
	Product string `json:"product"`
	Digest  string `json:"digest"`
}

type apiPublication struct {
	Store     string    `json:"store"`
	Location  string    `json:"location,omitempty"`
	ID        string    `json:"id,omitempty"`
	Published time.Time `json:"published_at"`
}

type apiVersion struct {
	Version     int       `json:"version"`
	ContentHash string    `json:"content_hash"`
	Written     time.Time `json:"written"`
	File        string    `json:"file,omitempty"`
	Size        int       `json:"size"`
	// Tracked releases' versions only: whether a Sigstore bundle signs it
	// and where it was pushed.
	Signed         *bool            `json:"signed,omitempty"`
	StatementsHash string           `json:"statements_hash,omitempty"`
	PublishedTo    []apiPublication `json:"published_to,omitempty"`
}

type apiPublished struct {
	ID         string       `json:"id"`
	At         time.Time    `json:"published_at"`
	Store      string       `json:"store"`
	Signed     bool         `json:"signed"`
	Subjects   []apiSubject `json:"subjects"`
	Products   []string     `json:"products"`
	Statements int          `json:"statements"`
}

type apiSubject struct {
	Name   string `json:"name,omitempty"`
	Digest string `json:"digest"`
}

type apiRow struct {
	Triage        string            `json:"triage"`
	Vulnerability string            `json:"vulnerability"`
	Dependency    string            `json:"dependency"`
	State         string            `json:"state"`
	WaitingSince  *time.Time        `json:"waiting_since,omitempty"`
	Cells         map[string]string `json:"cells"`
}

type apiWaiting struct {
	Triage        string    `json:"triage"`
	Vulnerability string    `json:"vulnerability"`
	Dependency    string    `json:"dependency"`
	Since         time.Time `json:"since"`
	Days          int       `json:"days"`
	Branches      []string  `json:"branches"`
	Level         string    `json:"level"`
}

func columnJSON(c *column) apiColumn {
	out := apiColumn{Name: c.Name, Kind: c.Kind, Commit: c.Commit, Database: c.DB, Versions: []apiVersion{}, Published: []apiPublished{}}
	if !c.Scanned.IsZero() {
		t := c.Scanned.UTC()
		out.Scanned = &t
	}
	for _, v := range c.Versions {
		av := apiVersion{Version: v.Version, ContentHash: v.ContentHash, Written: v.At.UTC(), File: v.Path, Size: v.Size}
		if c.Tracked {
			signed := v.Signed
			av.Signed, av.StatementsHash, av.PublishedTo = &signed, v.StatementsHash, []apiPublication{}
			for _, p := range v.Publications {
				av.PublishedTo = append(av.PublishedTo, apiPublication{p.Store, p.Location, p.ID, p.At.UTC()})
			}
		}
		out.Versions = append(out.Versions, av)
		out.VEXVersion = v.Version
	}
	if c.Tracked {
		out.Tracked, out.Branch, out.Images, out.Binaries = true, c.Branch, []apiImage{}, []apiBinary{}
		for _, im := range c.Images {
			out.Images = append(out.Images, apiImage{im.Reference, im.Repository, im.Index, im.Platform, im.Digest, im.At.UTC()})
		}
		for _, b := range c.Binaries {
			out.Binaries = append(out.Binaries, apiBinary{b.ID, b.Digest})
		}
	}
	for _, p := range c.Published {
		ap := apiPublished{ID: p.ID, At: p.At.UTC(), Store: p.Store, Signed: p.Signed, Subjects: []apiSubject{}, Products: p.Products, Statements: p.Statements}
		for _, s := range p.Subjects {
			for _, d := range s.Digests() {
				ap.Subjects = append(ap.Subjects, apiSubject{s.Name, d.String()})
			}
		}
		if ap.Products == nil {
			ap.Products = []string{}
		}
		out.Published = append(out.Published, ap)
	}
	out.Gate = apiGate{Verdict: "unknown", Reason: c.Gate.Reason, Blocked: c.Gate.Blocked}
	if c.Gate.Known {
		out.Gate.Verdict = "fail"
		if c.Gate.Pass {
			out.Gate.Verdict = "pass"
		}
	}
	if out.Gate.Blocked == nil {
		out.Gate.Blocked = []string{}
	}
	return out
}

func waitingJSON(it queueItem, now time.Time) apiWaiting {
	return apiWaiting{
		Triage: it.View.ID, Vulnerability: it.View.Name(), Dependency: it.View.Dependency,
		Since: it.Since.UTC(), Days: int(now.Sub(it.Since).Hours() / 24), Branches: it.Branches, Level: it.Level.String(),
	}
}

func (d *Dashboard) apiOverview(r *http.Request, s *snapshot) (any, error) {
	p, err := paginate(r, len(s.Rows), matrixPageSize)
	if err != nil {
		return nil, err
	}
	h := s.Head
	out := struct {
		Schema    string       `json:"schema"`
		Project   string       `json:"project"`
		Generated time.Time    `json:"generated"`
		Counts    apiCounts    `json:"counts"`
		Oldest    []apiWaiting `json:"oldest_waiting"`
		Columns   []apiColumn  `json:"columns"`
		Rows      []apiRow     `json:"rows"`
		Page      int          `json:"page"`
		Pages     int          `json:"pages"`
		TotalRows int          `json:"total_rows"`
	}{
		Schema: SchemaOverview, Project: s.Project, Generated: s.Now.UTC(),
		Counts:  apiCounts{h.Analysis, h.Person, h.Affected, h.Fixed, h.Waiting, h.WaitingTriages, h.Open, h.Assessed, h.Published, h.Closed, h.Advisories},
		Oldest:  []apiWaiting{},
		Columns: []apiColumn{}, Rows: []apiRow{}, Page: p.Page, Pages: p.Pages, TotalRows: p.Total,
	}
	for _, it := range h.Oldest {
		out.Oldest = append(out.Oldest, waitingJSON(it, s.Now))
	}
	for _, c := range s.Columns {
		out.Columns = append(out.Columns, columnJSON(c))
	}
	for _, row := range s.Rows[p.From:p.To] {
		ar := apiRow{Triage: row.View.ID, Vulnerability: row.View.Name(), Dependency: row.View.Dependency, State: string(row.View.State), Cells: map[string]string{}}
		if !row.Since.IsZero() {
			t := row.Since.UTC()
			ar.WaitingSince = &t
		}
		for i, c := range row.Cells {
			if c.Class != "" {
				ar.Cells[s.Columns[i].Kind+":"+s.Columns[i].Name] = c.Class
			}
		}
		out.Rows = append(out.Rows, ar)
	}
	return out, nil
}

// apiTriages is the queue as triages/v1: what needs a person, oldest
// first, unless ?state= says otherwise; ?branch=, ?module=, ?level= filter
// it, and ?page= pages it.
func (d *Dashboard) apiTriages(r *http.Request, s *snapshot) (any, error) {
	f, err := filterOf(r)
	if err != nil {
		return nil, err
	}
	items := s.items(f)
	if r.URL.Query().Get("page") != "" {
		p, err := paginate(r, len(items), queuePageSize)
		if err != nil {
			return nil, err
		}
		items = items[p.From:p.To]
	}
	out := viewjson.Triages{Schema: viewjson.SchemaTriages, Triages: []viewjson.Triage{}}
	for _, it := range items {
		out.Triages = append(out.Triages, viewjson.TriageOf(*it.View, false))
	}
	return out, nil
}

func (d *Dashboard) apiTriage(r *http.Request, s *snapshot) (any, error) {
	v := s.byID[r.PathValue("id")]
	if v == nil {
		return nil, notFound("no triage %s", r.PathValue("id"))
	}
	return viewjson.TriageOf(*v, true), nil
}

func (d *Dashboard) apiHistory(r *http.Request, s *snapshot) (any, error) {
	v := s.byID[r.PathValue("id")]
	if v == nil {
		return nil, notFound("no triage %s", r.PathValue("id"))
	}
	return viewjson.HistoryOf(v.Events), nil
}

func (d *Dashboard) apiReleases(r *http.Request, s *snapshot) (any, error) {
	out := struct {
		Schema  string      `json:"schema"`
		Project string      `json:"project"`
		Columns []apiColumn `json:"releases"`
	}{SchemaReleases, s.Project, []apiColumn{}}
	for _, c := range s.Columns {
		out.Columns = append(out.Columns, columnJSON(c))
	}
	return out, nil
}

// apiRelease is one branch or release; with ?version=N, that version of a
// branch's document as vex/v1; with ?from= or ?to=, the difference between
// two versions.
func (d *Dashboard) apiRelease(r *http.Request, s *snapshot) (any, error) {
	c := s.column(r.PathValue("kind"), r.PathValue("name"))
	if c == nil {
		return nil, notFound("no %s %s", r.PathValue("kind"), r.PathValue("name"))
	}
	q := r.URL.Query()
	if vs := q.Get("version"); vs != "" && c.Tracked {
		n, err := strconv.Atoi(vs)
		if err != nil {
			return nil, badRequest("version must be a number")
		}
		docs, err := d.opts.Store.ReleaseDocuments(r.Context(), c.Name)
		if err != nil {
			return nil, err
		}
		for _, doc := range docs {
			if doc.Version == n {
				// As `vexloom vex --release --format json` prints it.
				return viewjson.ReleaseVEXOf(doc), nil
			}
		}
		return nil, notFound("%s has no version %d", c.Name, n)
	}
	if vs := q.Get("version"); vs != "" && c.Kind == KindBranch {
		n, err := strconv.Atoi(vs)
		if err != nil {
			return nil, badRequest("version must be a number")
		}
		docs, err := d.opts.Store.Documents(r.Context(), c.Name)
		if err != nil {
			return nil, err
		}
		for _, doc := range docs {
			if doc.Version == n {
				return viewjson.BranchVEXOf(doc), nil
			}
		}
		return nil, notFound("%s has no version %d", c.Name, n)
	}
	out := struct {
		Schema string `json:"schema"`
		apiColumn
		Diff *apiDiff `json:"diff,omitempty"`
	}{Schema: SchemaRelease, apiColumn: columnJSON(c)}
	if len(c.Versions) > 1 && (q.Has("from") || q.Has("to")) {
		from, to, err := diffRange(r, c)
		if err != nil {
			return nil, err
		}
		parsed, err := d.versions(r, c, from, to)
		if err != nil {
			return nil, err
		}
		diff, err := branchDiff(c, parsed, from, to)
		if err != nil {
			return nil, err
		}
		out.Diff = &apiDiff{From: from, To: to, Added: orEmpty(diff.Added), Removed: orEmpty(diff.Removed), Changed: orEmpty(diff.Changed), Unchanged: diff.Unchanged}
	}
	return out, nil
}

type apiDiff struct {
	From      int               `json:"from"`
	To        int               `json:"to"`
	Added     []statementChange `json:"added"`
	Removed   []statementChange `json:"removed"`
	Changed   []statementChange `json:"changed"`
	Unchanged int               `json:"unchanged"`
}

func orEmpty(s []statementChange) []statementChange {
	if s == nil {
		return []statementChange{}
	}
	return s
}

func (d *Dashboard) apiCharts(r *http.Request, s *snapshot) (any, error) {
	type pt struct {
		At   string `json:"day"`
		Open int    `json:"open"`
	}
	type bucket struct {
		Range string `json:"range"`
		Count int    `json:"count"`
	}
	type share struct {
		Branch   string `json:"branch"`
		Analysis int    `json:"analysis"`
		People   int    `json:"people"`
		Waiting  int    `json:"waiting"`
	}
	out := struct {
		Schema   string   `json:"schema"`
		Open     []pt     `json:"open_over_time"`
		Decision []bucket `json:"time_to_decision"`
		Median   string   `json:"median_time_to_decision,omitempty"`
		Share    []share  `json:"share_by_branch"`
	}{Schema: SchemaCharts, Open: []pt{}, Decision: []bucket{}, Share: []share{}, Median: s.Charts.Decision.Median}
	for _, p := range s.Charts.Open.Points {
		out.Open = append(out.Open, pt{p.At.UTC().Format("2006-01-02"), p.Value})
	}
	for _, b := range s.Charts.Decision.Bars {
		out.Decision = append(out.Decision, bucket{b.Label, b.Value})
	}
	for _, b := range s.Charts.Share {
		out.Share = append(out.Share, share{b.Branch, b.Analysis, b.People, b.Waiting})
	}
	return out, nil
}
