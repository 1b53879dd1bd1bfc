package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/release"
	"github.com/vexloom/vexloom/internal/termtext"
	"github.com/vexloom/vexloom/internal/viewjson"
)

// The printing of tracked releases: what update did for them, a release's
// document (vex --release), the releases of status.

// writeKeptReleases prints one line per tracked release, then its
// warnings and failures.
func writeKeptReleases(w io.Writer, k *keptReleases) {
	if k == nil {
		return
	}
	for _, r := range k.Releases {
		state := "unchanged"
		switch {
		case r.Changed:
			state = "written"
		case r.Version == 0:
			state = "not written"
		}
		pub := ""
		if len(r.Published) > 0 {
			pub = " → " + strings.Join(r.Published, ", ")
		}
		fmt.Fprintf(w, "release %-12s %s on %s  %d %s  VEX v%d %s%s\n", r.Release, shortHash(r.Commit), r.Branch, r.Statements, plural(r.Statements, "statement"), r.Version, state, pub)
		// Warnings and failures quote outside text (file names,
		// registries' and GitHub's errors): escaped for the terminal.
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "warning: %s\n", termtext.Line(x))
		}
		for _, f := range r.Failures {
			fmt.Fprintf(w, "failed: %s\n", termtext.Line(f))
		}
	}
	if n := len(k.Dropped); n > 0 {
		var names []string
		for i, d := range k.Dropped {
			if i == 5 {
				names = append(names, fmt.Sprintf("and %d more", n-5))
				break
			}
			names = append(names, termtext.Line(d.Name))
		}
		fmt.Fprintf(w, "%d %s no longer selected by the releases section, %s left as last written: %s\n", n, plural(n, "release"), map[bool]string{true: "its document", false: "their documents"}[n == 1], strings.Join(names, ", "))
	}
}

// releaseVEX prints a tracked release's document: the latest version, or
// version.
func releaseVEX(cmd *cobra.Command, g *globals, pf *projectFlags, name string, version int, format, output string) error {
	if err := checkFormat(format, "openvex", "json"); err != nil {
		return err
	}
	ctx := cmd.Context()
	p, err := pf.open(ctx, g, false)
	if err != nil {
		return err
	}
	defer p.Close()
	doc, err := release.Document(ctx, p.store, name, version)
	if err != nil {
		return err
	}
	return writeOutput(cmd.OutOrStdout(), output, func(w io.Writer) error {
		if format == "json" {
			return jsonx.Write(w, viewjson.ReleaseVEXOf(*doc))
		}
		_, err := w.Write(doc.Body)
		return err
	})
}

// writeReleaseStatus prints the tracked releases of status.
func writeReleaseStatus(w io.Writer, rs []release.Status) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tBRANCH\tCOMMIT\tARTIFACTS\tVEX\tSTATEMENTS\tLAST PUBLISHED\tWHERE")
	for _, r := range rs {
		var counts []string
		for _, st := range []string{"not_affected", "affected", "fixed", "under_investigation"} {
			if n := r.Statements[st]; n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", n, st))
			}
		}
		if len(counts) == 0 {
			counts = []string{"none"}
		}
		last := "never"
		if r.LastPublished != nil {
			last = r.LastPublished.Format(time.RFC3339)
		}
		where := strings.Join(r.PublishedTo, ", ")
		if where == "" {
			where = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d %s\tv%d\t%s\t%s\t%s\n", r.Release, r.Branch, shortHash(r.Commit), len(r.Images), plural(len(r.Images), "image platform"),
			r.VEXVersion, strings.Join(counts, ", "), last, where)
	}
	tw.Flush()
}

// trackedCommit finds the commit of a tracked release whose document doc
// is (any version of it), in the project's store.
func trackedCommit(ctx context.Context, g *globals, pf *projectFlags, doc *openvex.VEX) (string, error) {
	p, err := pf.open(ctx, g, false)
	if err != nil {
		return "", fmt.Errorf("no project to look the release up in: %w", err)
	}
	defer p.Close()
	return release.TrackedCommit(ctx, p.store, doc.ID)
}
