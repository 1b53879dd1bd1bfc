package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/vex"
)

// OpenVEX builds the OpenVEX document of a scan: one statement per scanned
// module (the product, at the scanned revision) and vulnerability, with the
// vulnerable dependencies as subcomponents.
//
// A scan in which a module failed has no document: the statements would
// omit that module's vulnerabilities as if it had none.
func OpenVEX(r *Scan, opts Options) (*openvex.VEX, error) {
	if failures := r.Failures(); len(failures) > 0 {
		return nil, fmt.Errorf("%w: no OpenVEX document is written: %s", scan.ErrIncomplete, strings.Join(failures, "; "))
	}
	author := opts.Author
	if author == "" {
		author = buildinfo.ToolName
	}
	doc := vex.NewDocument(author, buildinfo.Tool(), opts.Now)
	ts := *doc.Timestamp
	for _, t := range r.Targets {
		for _, m := range t.Modules {
			if m.Error != "" || m.Path == "" {
				continue
			}
			byID := map[string][]Finding{}
			var ids []string
			for _, f := range m.Findings {
				if _, ok := byID[f.ID]; !ok {
					ids = append(ids, f.ID)
				}
				byID[f.ID] = append(byID[f.ID], f)
			}
			slices.Sort(ids)
			for _, id := range ids {
				st := statementFor(r.Vulnerability(id), t, m, byID[id])
				st.Timestamp = &ts
				doc.Statements = append(doc.Statements, st)
			}
		}
	}
	if err := vex.Finalize(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// statementFor merges the findings of one vulnerability in one module (it
// can affect several dependencies, such as the standard library and
// x/net) into one statement: the strongest finding decides the status.
func statementFor(v scan.Vulnerability, t Target, m Module, fs []Finding) openvex.Statement {
	strongest := fs[0]
	var subs []string
	for _, f := range fs {
		if f.Level > strongest.Level {
			strongest = f
		}
		subs = append(subs, purl.Go(f.Module, f.Version))
	}
	a := strongest.Assessment
	if len(fs) > 1 {
		var parts []string
		for _, f := range fs {
			text := f.Assessment.ImpactStatement
			if text == "" {
				text = f.Assessment.StatusNotes
			}
			parts = append(parts, text)
		}
		if a.Status == openvex.StatusNotAffected {
			a.ImpactStatement = strings.Join(parts, " ")
		} else {
			a.StatusNotes = strings.Join(parts, " ")
		}
	}
	st := vex.NewStatement(
		vex.Vulnerability{ID: v.ID, Aliases: v.Aliases, Description: v.Summary}.OpenVEX(),
		[]openvex.Product{vex.Product(openvex.Component{ID: purl.Go(m.Path, m.Version)}, subs...)},
		vex.Assertion{Status: a.Status, Justification: a.Justification, Impact: a.ImpactStatement, Action: a.ActionStatement, Notes: a.StatusNotes})
	where := fmt.Sprintf("Scanned %s", m.Path)
	if m.Dir != "" && m.Dir != "." {
		where += " in " + m.Dir
	}
	switch {
	case t.Repository != "" && t.Branch != "":
		where += fmt.Sprintf(" of %s, branch %s at commit %s.", t.Repository, t.Branch, t.Commit)
	case t.Repository != "":
		where += fmt.Sprintf(" of %s at commit %s.", t.Repository, t.Commit)
	default:
		where += " from a working tree."
	}
	st.StatusNotes = strings.TrimSpace(strings.TrimSpace(st.StatusNotes) + " " + where)
	return st
}

// WriteOpenVEX writes the report as an OpenVEX document.
func WriteOpenVEX(w io.Writer, r *Scan, opts Options) error {
	doc, err := OpenVEX(r, opts)
	if err != nil {
		return err
	}
	b, err := vex.Marshal(doc)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
