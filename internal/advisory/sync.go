package advisory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/redact"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/store"
)

// Source says where advisories are read from. Either may be empty.
type Source struct {
	// Feed is the Kubernetes official CVE feed: an http(s) URL or a file.
	Feed string
	// OSV is OSV JSON (one entry or an array of entries) at an http(s) URL
	// or in a file, or a directory of such files.
	OSV string
}

// Options configure a sync.
type Options struct {
	Project Project
	// Client makes the HTTP requests (http.DefaultClient if nil).
	Client *http.Client
	// Now is the clock that publication times are compared with
	// (time.Now if nil).
	Now func() time.Time
}

// Result is what a sync did.
type Result struct {
	// NotModified: every source was unchanged since the last sync (and so
	// were the project's components and products): nothing was read.
	NotModified bool `json:"not_modified"`
	// Advisories are the published advisories read, with their statements.
	Advisories []Advisory `json:"advisories"`
	// Embargoed are advisories withheld until their publication time.
	Embargoed []Embargoed `json:"embargoed,omitempty"`
	// Ignored are entries not used (placeholders, unreadable entries,
	// advisories with no publication time, ranges that cannot be read).
	Ignored []Problem `json:"ignored,omitempty"`
	// Recorded are the events recorded in the store.
	Recorded []store.Event `json:"-"`
}

// Embargoed is an advisory not yet published.
type Embargoed struct {
	ID        string    `json:"id"`
	Published time.Time `json:"published"`
}

// cursorState is the store cursor of one source.
type cursorState struct {
	validators
	// Inputs is the digest of the project the statements were made for: a
	// new branch or release must be judged even if no source changed.
	Inputs string `json:"inputs"`
	// Pending: some advisory was embargoed, so the source must be read
	// again in full even if unchanged (its time will come).
	Pending bool `json:"pending,omitempty"`
}

type sourceRead struct {
	kind, loc, key string
	limit          int64
	dirOK          bool
	prev           cursorState
	res            *fetchResult
}

// CursorKey is the store cursor under which a source's position is kept.
func CursorKey(kind, loc string) string {
	if isURL(loc) {
		loc = redact.Location(loc)
	}
	return "advisory:" + kind + ":" + loc
}

// Sync reads the sources, judges every published advisory against the
// project's products and records what changed as events in the store.
//
// Sources are read incrementally: a URL is asked with the ETag and
// Last-Modified of the last sync (kept as store cursors), a file or
// directory is compared by digest; when every source is unchanged and the
// project is the same, nothing is done. Everything is read and parsed before
// anything is written, so a network failure or a malformed source leaves
// the store as it was; the cursors move only once everything is recorded.
//
// Per advisory and product: an assessment event (Source "advisory", Author
// the source, Branches the product's ref, Data the advisory reference) on
// the triage of the advisory's ID and the project's module path, unless the
// latest advisory statement there already says the same about the same
// version of the advisory; a withdrawal of that statement when the
// advisory is withdrawn or no longer concerns the product.
func Sync(ctx context.Context, st *store.Store, src Source, opts Options) (*Result, error) {
	if err := opts.Project.Validate(); err != nil {
		return nil, err
	}
	if src.Feed == "" && src.OSV == "" {
		return nil, fmt.Errorf("%w: no source: give a feed, OSV, or both", ErrInvalid)
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	inputs, err := projectDigest(opts.Project)
	if err != nil {
		return nil, err
	}
	var reads []*sourceRead
	if src.Feed != "" {
		reads = append(reads, &sourceRead{kind: "feed", loc: src.Feed, key: CursorKey("feed", src.Feed), limit: MaxFeedSize})
	}
	if src.OSV != "" {
		reads = append(reads, &sourceRead{kind: "osv", loc: src.OSV, key: CursorKey("osv", src.OSV), limit: MaxOSVSize, dirOK: true})
	}
	// Read every source, conditionally where the last sync was complete.
	allSame := true
	for _, r := range reads {
		if raw, err := st.Cursor(ctx, r.key); err != nil {
			return nil, fmt.Errorf("reading the cursor of %s: %w", r.key, err)
		} else if raw != "" {
			_ = json.Unmarshal([]byte(raw), &r.prev)
		}
		var prev *validators
		if r.prev.Inputs == inputs && !r.prev.Pending {
			prev = &r.prev.validators
		}
		if r.res, err = fetch(ctx, client, r.loc, r.limit, r.dirOK, prev); err != nil {
			return nil, err
		}
		allSame = allSame && r.res.notModified
	}
	if allSame {
		return &Result{NotModified: true}, nil
	}
	// Something changed: what answered 304 is needed in full to be merged
	// with the rest.
	for _, r := range reads {
		if r.res.notModified && len(r.res.docs) == 0 {
			if r.res, err = fetch(ctx, client, r.loc, r.limit, r.dirOK, nil); err != nil {
				return nil, err
			}
		}
	}

	res := &Result{}
	var all []Advisory
	for _, r := range reads {
		name := r.loc
		if isURL(name) {
			name = redact.Location(name)
		}
		for _, d := range r.res.docs {
			advs, problems, err := parseDocument(r.kind, d.data, name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", d.name, err)
			}
			res.Ignored = append(res.Ignored, problems...)
			all = append(all, advs...)
		}
	}

	// Publication: what is not public yet is withheld, placeholders and
	// advisories that name no publication time are ignored.
	t := now().UTC()
	var public []Advisory
	for _, a := range merge(all) {
		switch {
		case a.Published.IsZero():
			res.Ignored = append(res.Ignored, Problem{ID: a.ID, Reason: "no publication time: withheld"})
		case a.Published.After(t):
			res.Embargoed = append(res.Embargoed, Embargoed{ID: a.ID, Published: a.Published})
		case a.Withdrawn == nil && placeholder(a.Summary, a.Details) && !usable(a.Affected):
			res.Ignored = append(res.Ignored, Problem{ID: a.ID, Reason: "placeholder"})
		default:
			public = append(public, a)
		}
	}

	triages, err := st.Triages(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading triages: %w", err)
	}
	existing := map[string]store.Triage{}
	for _, tr := range triages {
		if tr.Dependency == opts.Project.Module {
			existing[tr.VulnID] = tr
		}
	}
	for i := range public {
		a := &public[i]
		var stmts []Statement
		if a.Withdrawn == nil || a.Withdrawn.After(t) {
			a.Withdrawn = nil
			var err error
			stmts, err = a.Assess(opts.Project)
			if err != nil {
				res.Ignored = append(res.Ignored, Problem{ID: a.ID, Reason: err.Error()})
			}
			if len(a.Affected) == 0 {
				res.Ignored = append(res.Ignored, Problem{ID: a.ID, Reason: "names no affected versions"})
			}
		}
		recorded, err := record(ctx, st, existing, opts.Project, a, stmts)
		if err != nil {
			return nil, err
		}
		res.Recorded = append(res.Recorded, recorded...)
		if a.Withdrawn != nil {
			res.Ignored = append(res.Ignored, Problem{ID: a.ID, Reason: "withdrawn on " + a.Withdrawn.Format(time.DateOnly)})
			continue
		}
		a.Statements = stmts
		res.Advisories = append(res.Advisories, *a)
	}

	pending := len(res.Embargoed) > 0
	for _, r := range reads {
		c := cursorState{validators: r.res.validators, Inputs: inputs, Pending: pending}
		b, _ := json.Marshal(c)
		if err := st.SetCursor(ctx, r.key, string(b)); err != nil {
			return nil, fmt.Errorf("recording the cursor of %s: %w", r.key, err)
		}
	}
	return res, nil
}

func parseDocument(kind string, data []byte, source string) ([]Advisory, []Problem, error) {
	if kind == "feed" {
		f, err := ParseFeed(data)
		if err != nil {
			return nil, nil, err
		}
		return f.Advisories(source), f.Problems, nil
	}
	entries, problems, err := ParseOSV(data)
	if err != nil {
		return nil, nil, err
	}
	var out []Advisory
	for _, e := range entries {
		out = append(out, FromOSV(e, source))
	}
	return out, problems, nil
}

func projectDigest(p Project) (string, error) {
	b, err := jsonx.Compact(p)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

// Reference is the advisory an event rests on: the Data of advisory
// events.
type Reference struct {
	ID          string         `json:"id"`
	Aliases     []string       `json:"aliases,omitempty"`
	Summary     string         `json:"summary,omitempty"`
	URL         string         `json:"url,omitempty"`
	ExternalURL string         `json:"external_url,omitempty"`
	Source      string         `json:"source"`
	Published   time.Time      `json:"published"`
	Modified    time.Time      `json:"modified,omitzero"`
	Withdrawn   *time.Time     `json:"withdrawn,omitempty"`
	Severity    []osv.Severity `json:"severity,omitempty"`
	// Digest identifies this version of the advisory.
	Digest string `json:"digest"`
}

// EventData is the Data of the events Sync records (assessments and
// withdrawals with Source "advisory"): the advisory, the product and what
// ships it.
type EventData struct {
	Advisory   Reference `json:"advisory"`
	Product    Product   `json:"product"`
	Fix        string    `json:"fix,omitempty"`
	Components []string  `json:"components,omitempty"`
	Binaries   []string  `json:"binaries,omitempty"`
	Images     []string  `json:"images,omitempty"`
	// Key identifies what was said: the same key is never recorded twice
	// in a row for a product.
	Key string `json:"key"`
	// Reason explains a withdrawal.
	Reason string `json:"reason,omitempty"`
}

func reference(a *Advisory) (Reference, error) {
	body := *a
	body.Triage, body.Statements = "", nil
	b, err := jsonx.Compact(body)
	if err != nil {
		return Reference{}, err
	}
	sum := sha256.Sum256(b)
	return Reference{
		ID: a.ID, Aliases: a.Aliases, Summary: a.Summary, URL: a.URL, ExternalURL: a.ExternalURL,
		Source: a.Source, Published: a.Published, Modified: a.Modified, Withdrawn: a.Withdrawn,
		Severity: a.Severity, Digest: "sha256:" + hex.EncodeToString(sum[:]),
	}, nil
}

// said is the latest advisory statement about one product in a history.
type said struct {
	ev        *store.Event
	key       string
	retracted bool
	// ownWithdrawal: retracted by an advisory (not by a maintainer).
	ownWithdrawal bool
}

func readHistory(history []store.Event) map[string]*said {
	retractedBy := map[int64]string{}
	for _, ev := range history {
		if ev.Kind == store.KindWithdrawal {
			retractedBy[ev.Retracts] = ev.Source
		}
	}
	out := map[string]*said{}
	for i := range history {
		ev := &history[i]
		if ev.Kind != store.KindAssessment || ev.Source != string(assess.SourceAdvisory) || len(ev.Branches) != 1 {
			continue
		}
		var d EventData
		_ = json.Unmarshal(ev.Data, &d)
		by, retracted := retractedBy[ev.Seq]
		out[ev.Branches[0]] = &said{ev: ev, key: d.Key, retracted: retracted, ownWithdrawal: by == string(assess.SourceAdvisory)}
	}
	return out
}

// record writes what changed about one advisory, atomically per triage.
func record(ctx context.Context, st *store.Store, existing map[string]store.Triage, p Project, a *Advisory, stmts []Statement) ([]store.Event, error) {
	ref, err := reference(a)
	if err != nil {
		return nil, err
	}
	plan := func(history []store.Event) ([]store.Event, error) {
		last := readHistory(history)
		var evs []store.Event
		stated := map[string]bool{}
		for _, s := range stmts {
			stated[s.Product.Ref] = true
			ev, err := assessmentEvent(ref, s)
			if err != nil {
				return nil, err
			}
			var d EventData
			_ = json.Unmarshal(ev.Data, &d)
			prev := last[s.Product.Ref]
			if prev != nil && prev.key == d.Key && (!prev.retracted || !prev.ownWithdrawal) {
				continue
			}
			evs = append(evs, ev)
		}
		refs := make([]string, 0, len(last))
		for r := range last {
			refs = append(refs, r)
		}
		slices.Sort(refs)
		for _, r := range refs {
			prev := last[r]
			if stated[r] || prev.retracted {
				continue
			}
			// Withdrawn: retract everywhere. No longer concerned: retract
			// on the products judged now (a product no longer maintained
			// keeps what was said about it).
			reason := ""
			switch {
			case a.Withdrawn != nil:
				reason = fmt.Sprintf("advisory %s was withdrawn on %s", a.ID, a.Withdrawn.Format(time.DateOnly))
			case slices.ContainsFunc(p.Products, func(pr Product) bool { return pr.Ref == r }):
				reason = fmt.Sprintf("advisory %s (modified %s) no longer concerns %s", a.ID, a.Modified.Format(time.DateOnly), r)
			default:
				continue
			}
			data, err := json.Marshal(EventData{Advisory: ref, Product: Product{Ref: r}, Key: "withdrawn:" + ref.Digest, Reason: reason})
			if err != nil {
				return nil, err
			}
			evs = append(evs, store.Event{
				Kind: store.KindWithdrawal, Author: a.Source, Source: string(assess.SourceAdvisory),
				Branches: []string{r}, Retracts: prev.ev.Seq, Notes: reason, Data: data,
			})
		}
		return evs, nil
	}

	t, ok := existing[a.ID]
	if !ok {
		first, err := plan(nil)
		if err != nil || len(first) == 0 {
			return nil, err
		}
		if err := st.PutVulnerability(ctx, vulnerability(a)); err != nil {
			return nil, err
		}
		tr, created, err := st.EnsureTriage(ctx, a.ID, p.Module, first)
		if err != nil {
			return nil, fmt.Errorf("recording %s: %w", a.ID, err)
		}
		existing[a.ID] = tr
		if created {
			return st.Events(ctx, tr.ID)
		}
		t = tr
	}
	evs, err := st.AppendIf(ctx, t.ID, plan)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", a.ID, err)
	}
	if len(evs) > 0 {
		if err := st.PutVulnerability(ctx, vulnerability(a)); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

func assessmentEvent(ref Reference, s Statement) (store.Event, error) {
	if s.Status == vex.StatusAffected && strings.TrimSpace(s.Action) == "" {
		return store.Event{}, errors.New("an affected statement without an action statement")
	}
	d := EventData{Advisory: ref, Product: s.Product, Fix: s.Fix, Components: s.Components, Binaries: s.Binaries, Images: s.Images}
	keyed, err := jsonx.Compact(struct {
		Digest string
		S      Statement
	}{ref.Digest, s})
	if err != nil {
		return store.Event{}, err
	}
	sum := sha256.Sum256(keyed)
	d.Key = "sha256:" + hex.EncodeToString(sum[:])
	data, err := json.Marshal(d)
	if err != nil {
		return store.Event{}, err
	}
	return store.Event{
		Kind:     store.KindAssessment,
		Author:   ref.Source,
		Source:   string(assess.SourceAdvisory),
		Branches: []string{s.Product.Ref},
		Status:   string(s.Status),
		Action:   s.Action,
		Notes:    s.Notes,
		Data:     data,
	}, nil
}

func vulnerability(a *Advisory) scan.Vulnerability {
	v := scan.Vulnerability{ID: a.ID, Aliases: a.Aliases, Summary: a.Summary, Details: a.Details, URL: a.URL}
	if !a.Published.IsZero() {
		v.Published = a.Published.Format(time.RFC3339)
	}
	if !a.Modified.IsZero() {
		v.Modified = a.Modified.Format(time.RFC3339)
	}
	for _, u := range []string{a.URL, a.ExternalURL} {
		if u != "" {
			v.References = append(v.References, osv.Reference{Type: "ADVISORY", URL: u})
		}
	}
	return v
}
