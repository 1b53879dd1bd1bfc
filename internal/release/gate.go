package release

import (
	"context"
	"fmt"
	"slices"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/advisory"
	"github.com/vexloom/vexloom/internal/gate"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/report"
	"github.com/vexloom/vexloom/internal/scan"
)

// Gated is what the release gate weighs about a release point.
type Gated struct {
	// Commit is the release commit.
	Commit string
	// Findings are the release scan's findings and the project's own
	// advisories that say the release is affected.
	Findings []gate.Finding
	// Products are the project's modules at the release version.
	Products []string
}

// GateFindings scans the release commit (o.Ref, which must be on one of
// o.Maintained) and adds the project's own advisories (module is the
// project's main module) that say the release is affected. It uses o's
// Store, Repo, Scanner, DB, Ref, Maintained, Now and Progress.
func GateFindings(ctx context.Context, o Options, module string) (*Gated, error) {
	rev := o.Ref
	if o.Commit != "" {
		rev = o.Commit
	}
	c, err := o.Repo.ResolveRevision(ctx, rev)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(o.Maintained, func(b string) bool { return o.Repo.Contains(ctx, b, c.Hash) }) {
		return nil, fmt.Errorf("%s (%s) is on none of the maintained branches (%s)", o.Ref, shortHash(c.Hash), strings.Join(o.Maintained, ", "))
	}
	o.Progress.Printf("release %s: commit %s", o.Ref, shortHash(c.Hash))
	t, err := o.Scanner.ScanCommit(ctx, o.Repo, "", c)
	if err != nil {
		return nil, err
	}
	t = shippedAs(t, o)
	// The scan goes through vexloom's own report, which the gate reads like
	// any other scanner's: the same conversion for --release and --scan.
	findings, err := gate.ScanFindings(report.Build(o.DB, []*scan.Target{t}, o.Now))
	if err != nil {
		return nil, fmt.Errorf("scanning %s: %w", o.Ref, err)
	}
	out := &Gated{Commit: c.Hash, Findings: findings}
	version := ""
	for _, m := range t.Modules {
		if m.Path == "" || m.Version == "" {
			continue
		}
		out.Products = append(out.Products, purl.Go(m.Path, m.Version))
		if m.Path == module {
			version = m.Version
		}
	}
	advs, err := advisory.List(ctx, o.Store)
	if err != nil {
		return nil, err
	}
	for _, a := range advs {
		// What the advisory says about this release: its statement for the
		// ref itself, else one for another ref at the same version (a tag
		// at a branch's tip).
		var chosen *advisory.Statement
		for i, s := range a.Statements {
			if s.Withdrawn {
				continue
			}
			if s.Product.Ref == o.Ref {
				chosen = &a.Statements[i]
				break
			}
			if chosen == nil && version != "" && s.Product.Version == version {
				chosen = &a.Statements[i]
			}
		}
		if chosen == nil {
			continue
		}
		o.Progress.Printf("advisory %s says %s is %s", a.ID, chosen.Product.Ref, chosen.Status)
		if chosen.Status == openvex.StatusAffected && version != "" {
			out.Findings = append(out.Findings, advisoryFinding(module, version, a, *chosen))
		}
	}
	return out, nil
}

// advisoryFinding is a finding of the project's own advisory: the project
// itself is the vulnerable code, so it counts as reached (symbol level).
func advisoryFinding(mod, version string, a advisory.Advisory, s advisory.Statement) gate.Finding {
	f := gate.Finding{
		ID:           a.ID,
		Aliases:      slices.Clone(a.Aliases),
		Ecosystem:    "Go",
		Module:       mod,
		Version:      version,
		Level:        scan.LevelSymbol,
		FixedVersion: s.Fix,
		Product:      purl.Go(mod, version),
		Published:    a.Published,
		Modified:     a.Modified,
	}
	slices.Sort(f.Aliases)
	f.Aliases = slices.Compact(f.Aliases)
	for _, sv := range a.Severity {
		if strings.HasPrefix(sv.Score, "CVSS:3") {
			f.Severity.Vector = sv.Score
		}
	}
	return f
}
