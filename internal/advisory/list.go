package advisory

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/termtext"
)

// Schema identifies the JSON that WriteJSON writes.
const Schema = "https://github.com/vexloom/vexloom/schema/advisories/v1"

// List returns the advisories recorded in the store, by ID, each with its
// triage and the statements in force: the latest advisory statement per
// product, marked withdrawn when it was retracted.
func List(ctx context.Context, st *store.Store) ([]Advisory, error) {
	triages, err := st.Triages(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading triages: %w", err)
	}
	all, err := st.AllEvents(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the history: %w", err)
	}
	var out []Advisory
	for _, t := range triages {
		history := all[t.ID]
		var latest *EventData
		for i := range history {
			ev := &history[i]
			if ev.Source != string(assess.SourceAdvisory) || (ev.Kind != store.KindAssessment && ev.Kind != store.KindWithdrawal) {
				continue
			}
			var d EventData
			if json.Unmarshal(ev.Data, &d) == nil {
				latest = &d
			}
		}
		if latest == nil {
			continue
		}
		r := latest.Advisory
		a := Advisory{
			ID: t.VulnID, Aliases: r.Aliases, Summary: r.Summary, URL: r.URL, ExternalURL: r.ExternalURL,
			Published: r.Published, Modified: r.Modified, Withdrawn: r.Withdrawn, Source: r.Source,
			Severity: r.Severity, Triage: t.ID,
		}
		last := readHistory(history)
		refs := make([]string, 0, len(last))
		for ref := range last {
			refs = append(refs, ref)
		}
		slices.Sort(refs)
		for _, ref := range refs {
			s := last[ref]
			var d EventData
			_ = json.Unmarshal(s.ev.Data, &d)
			a.Statements = append(a.Statements, Statement{
				Advisory: t.VulnID, Product: d.Product, Status: vex.Status(s.ev.Status),
				Action: s.ev.Action, Notes: s.ev.Notes, Fix: d.Fix,
				Components: d.Components, Binaries: d.Binaries, Images: d.Images,
				Seq: s.ev.Seq, Recorded: s.ev.At, Author: s.ev.Author, Withdrawn: s.retracted,
			})
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Advisory) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// WriteJSON writes advisories as {"schema", "advisories"}: sorted keys, not
// HTML-escaped.
func WriteJSON(w io.Writer, advs []Advisory) error {
	if advs == nil {
		advs = []Advisory{}
	}
	return jsonx.Write(w, struct {
		Schema     string     `json:"schema"`
		Advisories []Advisory `json:"advisories"`
	}{Schema, advs})
}

// WriteTable writes one line per advisory and product: what the advisory
// says there and what to do.
func WriteTable(w io.Writer, advs []Advisory) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ADVISORY\tPUBLISHED\tPRODUCT\tVERSION\tSTATUS\tDETAIL")
	for _, a := range advs {
		pub := ""
		if !a.Published.IsZero() {
			pub = a.Published.UTC().Format(time.DateOnly)
		}
		if len(a.Statements) == 0 {
			detail := oneLine(a.Summary, 80)
			if a.Withdrawn != nil {
				detail = "withdrawn"
			}
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t%s\n", termtext.Args(a.ID, pub, detail)...)
			continue
		}
		for _, s := range a.Statements {
			status := string(s.Status)
			detail := s.Action
			if s.Status == vex.StatusFixed {
				detail = "fixed in " + s.Fix
			}
			if s.Withdrawn {
				status += " (withdrawn)"
			}
			ref := s.Product.Ref
			if s.Product.Kind != "" {
				ref += " (" + string(s.Product.Kind) + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", termtext.Args(a.ID, pub, ref, s.Product.Version, status, oneLine(detail, 100))...)
		}
	}
	return tw.Flush()
}

// oneLine keeps text on one table line: control characters and tabs become
// spaces, and it is cut at n bytes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == ' ' }), " ")
	if len(s) > n {
		cut := n
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
