package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/termtext"
)

// WriteTable writes the report for people: per target and module, one row
// per finding, strongest first, with the automatic assessment.
func WriteTable(w io.Writer, r *Scan, opts Options) error {
	fmt.Fprintf(w, "database %s (modified %s)\n", termtext.Line(DatabaseName(r.Database)), r.Database.Modified.UTC().Format("2006-01-02"))
	var total [4]int
	for _, t := range r.Targets {
		for _, m := range t.Modules {
			fmt.Fprintln(w)
			head := t.Name()
			if m.Path != "" {
				head += "  " + m.Path
			}
			if m.Dir != "" && m.Dir != "." {
				head += " (" + m.Dir + ")"
			}
			fmt.Fprintln(w, termtext.Line(head))
			if m.Error != "" {
				fmt.Fprintf(w, "  error: %s\n", indent(termtext.Text(m.Error), "    "))
				continue
			}
			fmt.Fprintf(w, "  standard library: %s\n", termtext.Args(m.GoVersion)...)
			if len(m.Findings) == 0 {
				fmt.Fprintln(w, "  no vulnerabilities found")
				continue
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			shown := 0
			for _, f := range m.Findings {
				if f.Level >= opts.MinLevel {
					shown++
				}
			}
			if shown > 0 {
				fmt.Fprintln(tw, "  LEVEL\tID\tCVE\tMODULE\tVERSION\tFIXED IN\tASSESSMENT")
			}
			hidden := map[scan.Level]int{}
			paths := map[string][]string{}
			var pathOrder []string
			for _, f := range m.Findings {
				total[f.Level]++
				if f.Level < opts.MinLevel {
					hidden[f.Level]++
					continue
				}
				cve := f.Name()
				if cve == f.ID {
					cve = "-"
				}
				fixed := f.FixedVersion
				if fixed == "" {
					fixed = "none"
				}
				status := string(f.Assessment.Status)
				if f.Assessment.Justification != "" {
					status += " (" + string(f.Assessment.Justification) + ")"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", termtext.Args(f.Level.Describe(), f.ID, cve, f.Module, f.Version, fixed, status)...)
				if f.Level == scan.LevelSymbol {
					traces := f.Traces
					if !opts.Verbose && len(traces) > 1 {
						traces = traces[:1]
					}
					for _, tr := range traces {
						p := formatTrace(tr)
						if _, ok := paths[p]; !ok {
							pathOrder = append(pathOrder, p)
						}
						paths[p] = append(paths[p], f.ID)
					}
				}
			}
			tw.Flush()
			for _, l := range []scan.Level{scan.LevelPackage, scan.LevelModule} {
				if n := hidden[l]; n > 0 {
					fmt.Fprintf(w, "  … and %d %s (not_affected)\n", n, l.Describe())
				}
			}
			if len(pathOrder) > 0 {
				fmt.Fprintln(w, "  reachable through:")
				for _, p := range pathOrder {
					fmt.Fprintf(w, "    %s  (%s)\n", termtext.Args(p, strings.Join(paths[p], ", "))...)
				}
			}
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%d called (need a maintainer's assessment), %d imported and %d required (not_affected, proven by the scan)\n",
		total[scan.LevelSymbol], total[scan.LevelPackage], total[scan.LevelModule])
	if f := r.Failures(); len(f) > 0 {
		fmt.Fprintf(w, "%d %s could not be scanned\n", len(f), pluralWord(len(f), "module", "modules"))
	}
	return nil
}

// formatTrace writes a trace from the entry point in the scanned code to the
// vulnerable symbol: main.main (main.go:12:2) → html.Parse.
func formatTrace(t scan.Trace) string {
	var parts []string
	for i := len(t) - 1; i >= 0; i-- {
		f := t[i]
		s := shortSymbol(f)
		if pos := f.Position.String(); pos != "" && i == len(t)-1 {
			s += " (" + pos + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " → ")
}

// shortSymbol names a frame by its package's last element: html.Parse.
func shortSymbol(f scan.Frame) string {
	pkg := f.Package
	if i := strings.LastIndex(pkg, "/"); i >= 0 {
		pkg = pkg[i+1:]
	}
	name := f.Function
	if f.Receiver != "" {
		name = strings.TrimPrefix(f.Receiver, "*") + "." + name
	}
	if pkg == "" {
		return name
	}
	return pkg + "." + name
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+prefix)
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
