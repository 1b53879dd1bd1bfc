package triage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// DocumentInput is what a branch's VEX document is made from.
type DocumentInput struct {
	// Repository and Branch identify the document.
	Repository string
	Branch     string
	// Scan is the branch's latest scan: its modules are the products.
	Scan *store.Scan
	// Views are every triage's view.
	Views   []View
	Author  string
	Tooling string
	// Previous is the branch's last written document (nil if none).
	Previous *store.Document
	Now      time.Time
	// Link returns where a triage can be read (an issue URL), if anywhere.
	Link func(triageID string) string
}

// BranchDocument is a branch's VEX document with what it was made of.
type BranchDocument struct {
	Doc         *openvex.VEX
	ContentHash string
	// Changed is true when the statements differ from Previous (the
	// version was incremented).
	Changed bool
	// Decisions maps each triage in the document to the Seq of the
	// decision it states.
	Decisions map[string]int64
}

// priority orders statuses when two dependencies of the same product
// carry the same vulnerability with different decisions: the statement
// claims no more than the weakest of them.
var priority = map[string]int{
	string(openvex.StatusAffected):           4,
	string(openvex.StatusUnderInvestigation): 3,
	string(openvex.StatusFixed):              2,
	string(openvex.StatusNotAffected):        1,
}

// BuildBranchDocument derives the current VEX of a branch: one statement per
// product (a module of the branch at the scanned revision) and
// vulnerability, stating the decision in force. Its version is incremented
// and last_updated set only when the statements change.
func BuildBranchDocument(in DocumentInput) (*BranchDocument, error) {
	versions := map[string]string{}
	if in.Scan != nil {
		for _, m := range in.Scan.Modules {
			versions[m.Path] = m.Version
		}
	}
	type part struct {
		view     *View
		decision *store.Event
		obs      Observation
	}
	groups := map[string][]part{}
	var keys []string
	decisions := map[string]int64{}
	for i := range in.Views {
		v := &in.Views[i]
		b := v.Branch(in.Branch)
		if b == nil {
			continue
		}
		if b.Decision != nil {
			decisions[v.ID] = b.Decision.Seq
		}
		for _, o := range b.Observations {
			mv := versions[o.Module]
			if mv == "" {
				mv = o.ModuleVersion
			}
			product := purl.Go(o.Module, mv)
			k := product + "\x00" + v.VulnID
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], part{view: v, decision: b.Decision, obs: o})
		}
	}
	slices.Sort(keys)

	ts := in.Now.UTC().Truncate(time.Second)
	doc := vex.NewDocument(in.Author, in.Tooling, ts)
	doc.ID = openvex.PublicNamespace + "/public/vex-" + hashOf(in.Repository, in.Branch)
	for _, k := range keys {
		parts := groups[k]
		product, _, _ := strings.Cut(k, "\x00")
		// The weakest decision speaks for the statement.
		slices.SortStableFunc(parts, func(a, b part) int {
			return priority[status(b.decision)] - priority[status(a.decision)]
		})
		lead := parts[0]
		var subs []string
		for _, p := range parts {
			if sub := purl.Go(p.view.Dependency, p.obs.DependencyVersion); !slices.Contains(subs, sub) {
				subs = append(subs, sub)
			}
		}
		var a vex.Assertion
		var notes []string
		d := lead.decision
		if d == nil {
			a.Status = openvex.StatusUnderInvestigation
			notes = append(notes, "No assessment yet.")
		} else {
			t := d.At.UTC().Truncate(time.Second)
			a = vex.Assertion{Status: openvex.Status(d.Status), Justification: openvex.Justification(d.Justification),
				Impact: d.Impact, Action: d.Action, Timestamp: &t}
			if d.Notes != "" {
				notes = append(notes, d.Notes)
			}
			if a.Status == openvex.StatusNotAffected && a.Justification == "" && a.Impact == "" {
				a.Impact = "Assessed not affected."
			}
		}
		if a.Timestamp == nil {
			// Undecided: dated from when it was first found on the branch,
			// so that rebuilding an unchanged document changes nothing.
			t := firstObserved(lead.view.Events, in.Branch)
			if t.IsZero() {
				t = ts
			}
			a.Timestamp = &t
		}
		var who []string
		for _, p := range parts {
			if p.decision == nil {
				continue
			}
			line := fmt.Sprintf("%s: %s by %s (%s) in triage %s", p.view.Dependency, p.decision.Status, p.decision.Author, p.decision.Source, p.view.ID)
			if in.Link != nil {
				if l := in.Link(p.view.ID); l != "" {
					line += " " + l
				}
			}
			if !slices.Contains(who, line) {
				who = append(who, line)
			}
		}
		notes = append(notes, "Assessed "+strings.Join(who, "; ")+".")
		a.Notes = strings.Join(notes, " ")
		vuln := vex.Vulnerability{ID: lead.view.VulnID, Aliases: lead.view.Vulnerability.Aliases, Description: lead.view.Vulnerability.Summary}
		doc.Statements = append(doc.Statements, vex.NewStatement(vuln.OpenVEX(),
			[]openvex.Product{vex.Product(openvex.Component{ID: product}, subs...)}, a))
	}
	// The project's own advisories about its modules on this branch.
	for i := range in.Views {
		v := &in.Views[i]
		mv, ok := versions[v.Dependency]
		if !ok || v.Branch(in.Branch) != nil {
			continue
		}
		ev := LatestAdvisory(v.Events, in.Branch)
		if ev == nil {
			continue
		}
		decisions[v.ID] = ev.Seq
		doc.Statements = append(doc.Statements, AdvisoryStatement(v.Vulnerability, ev,
			[]openvex.Product{{Component: openvex.Component{ID: purl.Go(v.Dependency, mv)}}}))
	}
	if err := vex.Finalize(doc); err != nil {
		return nil, err
	}
	stmts, err := jsonx.Compact(doc.Statements)
	if err != nil {
		return nil, err
	}
	hash := "sha256:" + hashOf(doc.ID, doc.Author, string(stmts))
	out := &BranchDocument{Doc: doc, ContentHash: hash, Decisions: decisions}
	prev := in.Previous
	switch {
	case prev == nil:
		out.Changed = true
	case prev.ContentHash == hash:
		// Same statements: the previous document stands as it was.
		old, err := vex.Parse(prev.Body)
		if err != nil {
			return nil, fmt.Errorf("reading the stored VEX of %s (version %d): %w", in.Branch, prev.Version, err)
		}
		out.Doc = old
	default:
		out.Changed = true
		old, err := vex.Parse(prev.Body)
		if err == nil && old.Timestamp != nil {
			first := old.Timestamp.UTC()
			doc.Timestamp = &first
		}
		doc.Version = prev.Version + 1
		doc.LastUpdated = &ts
	}
	return out, nil
}

// firstObserved is when a triage was first observed on a branch.
func firstObserved(events []store.Event, branch string) time.Time {
	for _, ev := range events {
		if ev.Kind != store.KindObserved {
			continue
		}
		var o Observation
		if slices.Contains(ev.Branches, branch) || (json.Unmarshal(ev.Data, &o) == nil && o.Branch == branch) {
			return ev.At.UTC().Truncate(time.Second)
		}
	}
	return time.Time{}
}

func status(ev *store.Event) string {
	if ev == nil {
		return string(openvex.StatusUnderInvestigation)
	}
	return ev.Status
}

func hashOf(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}
