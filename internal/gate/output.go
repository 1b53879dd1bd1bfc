package gate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/vexloom/vexloom/internal/digest"

	intoto "github.com/in-toto/attestation/go/v1"
	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/termtext"
)

// PredicateType is the in-toto predicate type of a gate result.
const PredicateType = "https://github.com/vexloom/vexloom/gate/v1"

// OutputFormat is a format the result is written in.
type OutputFormat string

// Output formats.
const (
	OutputTable OutputFormat = "table"
	OutputJSON  OutputFormat = "json"
	OutputSARIF OutputFormat = "sarif"
)

// OutputFormats lists the formats for help text.
var OutputFormats = []OutputFormat{OutputTable, OutputJSON, OutputSARIF}

// ParseOutputFormat reads a format name.
func ParseOutputFormat(s string) (OutputFormat, error) {
	for _, f := range OutputFormats {
		if string(f) == strings.ToLower(s) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: want table, json or sarif", shorten(s))
}

// Write writes the result in format f.
func (r *Result) Write(w io.Writer, f OutputFormat) error {
	switch f {
	case OutputTable:
		return r.WriteTable(w)
	case OutputJSON:
		return r.WriteJSON(w)
	case OutputSARIF:
		return r.WriteSARIF(w)
	}
	return fmt.Errorf("unknown format %q", f)
}

// WriteTable writes the result for people: the decision, one row per
// finding (failures first), and for each failure or warning the reason and
// what to do.
func (r *Result) WriteTable(w io.Writer) error {
	var b bytes.Buffer
	head := "release gate"
	if r.Release != "" {
		head += " for " + r.Release
	}
	policy := r.Policy.Name
	if r.Policy.Digest != "" {
		policy += fmt.Sprintf(" (%d rules, %s)", r.Policy.Rules, r.Policy.Digest)
	}
	fmt.Fprintf(&b, "%s: %s — %d fail, %d warn, %d pass; policy %s", termtext.Args(head, strings.ToUpper(string(r.Verdict)), r.Counts.Fail, r.Counts.Warn, r.Counts.Pass, policy)...)
	if r.AllowUnsigned {
		b.WriteString("; unsigned statements allowed")
	}
	b.WriteString("\n")
	if len(r.Findings) == 0 {
		b.WriteString("no findings\n")
		_, err := w.Write(b.Bytes())
		return err
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tID\tCVE\tMODULE\tVERSION\tLEVEL\tSTATEMENT\tRULE")
	for _, v := range r.Findings {
		f := v.Finding
		cve := f.Name()
		if cve == f.ID {
			cve = "-"
		}
		st := "none"
		if v.Statement != nil {
			st = string(v.Statement.Status)
		}
		if len(v.Ignored) > 0 {
			st += fmt.Sprintf(", %d unverified ignored", len(v.Ignored))
		}
		version := f.Version
		if version == "" {
			version = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", termtext.Args(strings.ToUpper(string(v.Verdict)), f.ID, cve, f.Module, version, f.Level.Describe(), st, v.Rule)...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, v := range r.Findings {
		if v.Verdict == VerdictPass {
			continue
		}
		fmt.Fprintf(&b, "\n%s %s in %s", termtext.Args(strings.ToUpper(string(v.Verdict)), v.Finding.ID, v.Finding.Module)...)
		if v.Finding.Product != "" {
			fmt.Fprintf(&b, " (%s)", termtext.Line(v.Finding.Product))
		}
		fmt.Fprintf(&b, "\n  why:  %s\n", termtext.Line(v.Reason))
		if v.Action != "" {
			fmt.Fprintf(&b, "  what to do: %s\n", termtext.Line(v.Action))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteJSON writes the result in the gate's JSON schema (ResultSchema):
// sorted keys, no HTML escaping, the same bytes for the same inputs.
func (r *Result) WriteJSON(w io.Writer) error {
	return jsonx.Write(w, r)
}

// SARIF builds a SARIF 2.1.0 log of the result: one rule per vulnerability,
// one result per finding (a failure an error, a warning a warning, a pass a
// note), located at the product or dependency it is about.
func (r *Result) SARIF() *sarif.Report {
	v := buildinfo.Get()
	run := sarif.NewRunWithInformationURI(buildinfo.ToolName, "https://github.com/vexloom/vexloom")
	run.Tool.Driver.WithVersion(v.Tool).WithFullName(buildinfo.Tool() + " gate")
	ruleIndex := map[string]int{}
	for _, fv := range r.Findings {
		f := fv.Finding
		idx, ok := ruleIndex[f.ID]
		if !ok {
			rule := sarif.NewRule(f.ID)
			ids := append([]string{f.ID}, f.Aliases...)
			text := fmt.Sprintf("%s (%s)", f.Name(), strings.Join(ids, ", "))
			rule.WithShortDescription(sarif.NewMultiformatMessageString().WithText(text))
			rule.WithHelp(sarif.NewMultiformatMessageString().WithText(text))
			rule.WithProperties(sarif.NewPropertyBag().WithTags(append([]string{"vulnerability", "security", "release-gate"}, f.Aliases...)))
			run.Tool.Driver.AddRule(rule)
			idx = len(run.Tool.Driver.Rules) - 1
			ruleIndex[f.ID] = idx
		}
		msg := fv.Reason
		if fv.Action != "" {
			msg += " " + fv.Action
		}
		res := sarif.NewRuleResult(f.ID).WithRuleIndex(idx).WithLevel(sarifLevel(fv.Verdict)).WithMessage(sarif.NewTextMessage(msg))
		where := f.Product
		if where == "" {
			where = f.DependencyPURL()
		}
		if where == "" {
			where = f.Module
		}
		res.AddLocation(sarif.NewLocation().WithLogicalLocations([]*sarif.LogicalLocation{
			sarif.NewLogicalLocation().WithFullyQualifiedName(where).WithKind("module"),
		}))
		sum := sha256.Sum256([]byte(strings.Join([]string{f.ID, f.Module, f.Product}, "\x00")))
		res.WithPartialFingerprints(map[string]string{"vexloom-gate/v1": hex.EncodeToString(sum[:16])})
		props := sarif.NewPropertyBag().
			Add("verdict", string(fv.Verdict)).
			Add("rule", fv.Rule).
			Add("level", f.Level.String()).
			Add("module", f.Module).
			Add("version", f.Version)
		if fv.Statement != nil {
			props.Add("status", string(fv.Statement.Status))
		}
		if fv.Link != "" {
			props.Add("triage", fv.Link)
		}
		res.WithProperties(props)
		run.AddResult(res)
	}
	rep := sarif.NewReport()
	rep.AddRun(run)
	return rep
}

func sarifLevel(v Verdict) string {
	switch v {
	case VerdictFail:
		return "error"
	case VerdictWarn:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes the result as SARIF 2.1.0.
func (r *Result) WriteSARIF(w io.Writer) error {
	var buf bytes.Buffer
	if err := r.SARIF().Write(&buf); err != nil {
		return err
	}
	var generic any
	if err := jsonx.Unmarshal(buf.Bytes(), &generic); err != nil {
		return err
	}
	return jsonx.Write(w, generic)
}

// Subject is something the result is about in its attestation: a release
// artifact (image, binary, archive) by name and digests.
// It is internal/digest's.
type Subject = digest.Subject

// Attestation returns the in-toto v1 statement of the result, unsigned:
// the subjects are the release's artifacts, the predicate (PredicateType)
// the result as WriteJSON writes it. The caller signs it like the VEX.
func (r *Result) Attestation(subjects []Subject) ([]byte, error) {
	if len(subjects) == 0 {
		return nil, fmt.Errorf("attesting the gate result: %w", intoto.ErrSubjectRequired)
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, PredicateType: PredicateType}
	sorted := slices.Clone(subjects)
	slices.SortFunc(sorted, func(a, b Subject) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range sorted {
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: s.Name, Digest: s.Digest})
	}
	pred, err := jsonx.Compact(r)
	if err != nil {
		return nil, fmt.Errorf("encoding the gate result: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(pred, &m); err != nil {
		return nil, fmt.Errorf("encoding the gate result: %w", err)
	}
	st.Predicate, err = structpb.NewStruct(m)
	if err != nil {
		return nil, fmt.Errorf("encoding the gate result: %w", err)
	}
	if err := st.Validate(); err != nil {
		return nil, fmt.Errorf("attesting the gate result: %w", err)
	}
	raw, err := protojson.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding the gate attestation: %w", err)
	}
	// protojson's output is deliberately unstable; re-encode it sorted.
	var generic any
	if err := jsonx.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	return jsonx.Compact(generic)
}
