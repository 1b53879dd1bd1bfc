package release

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/artifact"
	"github.com/vexloom/vexloom/internal/digest"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/vex"
)

// A tracked release's binaries: the files of its binaries directory now,
// and the Go executables it was covered with before (recorded the first
// time each was covered). A binary that is no longer there (the directory
// removed, emptied, or the file gone or replaced) stays covered with its
// recorded digest: people still run the binary they downloaded.

// releaseBinaries are a release's binaries for one update.
type releaseBinaries struct {
	// files are the regular files of the binaries directory now.
	files []string
	// recorded are the binaries the release was covered with.
	recorded []store.ReleaseBinary
	// dir is the binaries directory.
	dir string
	// gone, when the directory gives no binary at all (missing, empty, no
	// Go executable), says so.
	gone string
}

// shippedBinaries lists the release's binaries. A directory that gives
// none is a failure of the release when no binary was recorded for it
// (it never shipped any that was covered); otherwise the recorded ones
// stay covered. It returns nil when the release failed.
func (k *Keeper) shippedBinaries(ctx context.Context, pt Point, kept *Kept) (*releaseBinaries, error) {
	b := &releaseBinaries{dir: k.binariesDir(pt)}
	if b.dir == "" {
		return b, nil // no binaries configured for this release
	}
	recorded, err := k.Store.ReleaseBinaries(ctx, pt.Name)
	if err != nil {
		return nil, err
	}
	b.recorded = recorded
	files, err := k.binaries(pt)
	if err != nil {
		if len(recorded) == 0 {
			kept.Failures = append(kept.Failures, fmt.Sprintf("release %s: %v", pt.Name, err))
			return nil, nil
		}
		b.gone = err.Error()
	}
	b.files = files
	return b, nil
}

// vanished are the recorded binaries that are not among those read now
// (by digest), each named in one line of kept (one line in all when the
// whole directory gave none).
func (b *releaseBinaries) vanished(pt Point, present []ShippedBinary, kept *Kept) []store.ReleaseBinary {
	have := map[string]bool{}
	byName := map[string]string{}
	for _, p := range present {
		have["sha256:"+p.SHA256] = true
		byName[p.Path] = "sha256:" + p.SHA256
	}
	var gone []store.ReleaseBinary
	for _, r := range b.recorded {
		if !have[r.Digest] {
			gone = append(gone, r)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	if b.gone != "" || len(present) == 0 {
		why := b.gone
		if why == "" {
			why = "binaries directory " + b.dir + " holds no Go executables"
		}
		var names []string
		for _, r := range gone {
			names = append(names, r.Name+" ("+shortDigest(r.Digest)+")")
		}
		kept.Warnings = append(kept.Warnings, fmt.Sprintf("release %s: %s; its %d recorded %s covered with the recorded digests: %s",
			pt.Name, why, len(gone), plural(len(gone), "binary stays", "binaries stay"), listNames(names, 5)))
		return gone
	}
	for _, r := range gone {
		line := fmt.Sprintf("release %s: binary %s (%s) is no longer in %s", pt.Name, r.Name, shortDigest(r.Digest), b.dir)
		if d, ok := byName[r.Name]; ok {
			line = fmt.Sprintf("release %s: binary %s in %s is %s now, not the recorded %s", pt.Name, r.Name, b.dir, shortDigest(d), shortDigest(r.Digest))
		}
		kept.Warnings = append(kept.Warnings, line+"; the recorded digest stays covered")
	}
	return gone
}

// recordBinaries records the binaries read now that were not recorded
// for the release yet.
func (k *Keeper) recordBinaries(ctx context.Context, pt Point, b *releaseBinaries, present []ShippedBinary, now time.Time) error {
	known := map[string]bool{}
	for _, r := range b.recorded {
		known[r.Name+"\x00"+r.Digest] = true
	}
	var rec []store.ReleaseBinary
	for _, p := range present {
		r := store.ReleaseBinary{Release: pt.Name, Name: p.Path, Digest: "sha256:" + p.SHA256, Size: p.Size, Package: p.Package,
			Module: p.Module, Version: p.Version, GoVersion: p.GoVersion, Modules: p.Modules, At: now}
		if known[r.Name+"\x00"+r.Digest] {
			continue
		}
		known[r.Name+"\x00"+r.Digest] = true
		rec = append(rec, r)
	}
	if len(rec) == 0 {
		return nil
	}
	if err := k.Store.RecordReleaseBinaries(ctx, rec); err != nil {
		return err
	}
	b.recorded = append(b.recorded, rec...)
	return nil
}

// sourceNote ends the notes of a binary's statement the release's source
// analysis speaks for (see shipper.statements).
const sourceNote = "Carried from the source analysis of the release, which covers this binary."

// carryBinaries adds to doc (derived without them) the statements about
// binaries the release was covered with that can no longer be read.
//
// What is stated for such a binary: its binary can no longer be analysed,
// but the release's source analysis at its commit still can be, and for a
// binary built from the project it is what spoke for the binary before
// (shipper.statements). So for a binary built from the project, every
// vulnerability the source analysis states about a dependency module is
// stated for the binary, with the source's status (a new decision on the
// branch reaches it), when the binary stated it before or its recorded
// build information has that module at the version the source analysis
// found vulnerable (a new vulnerability reaches it too); what the source
// analysis no longer finds (a withdrawn entry) is no longer stated. A
// statement that came from analysing the binary itself (a binary not
// built from the project, or a module the source does not have) cannot be
// made again: it is carried as it was.
func carryBinaries(doc *openvex.VEX, prev *store.ReleaseDocument, res *Result, gone []store.ReleaseBinary) error {
	var old *openvex.VEX
	if prev != nil {
		var err error
		if old, err = vex.Parse(prev.Body); err != nil {
			return fmt.Errorf("reading version %d of the VEX of release %s: %w", prev.Version, prev.Release, err)
		}
	}
	var sourceKeys []string
	for key := range res.source {
		sourceKeys = append(sourceKeys, key)
	}
	slices.Sort(sourceKeys)
	done := map[string]bool{}
	for _, r := range gone {
		product := productFor(r)
		if done[product.ID] {
			continue
		}
		done[product.ID] = true
		// What the previous version stated about it, by vulnerability and
		// module.
		before := map[string]openvex.Statement{}
		var beforeKeys []string
		if old != nil {
			for _, s := range old.Statements {
				for _, p := range s.Products {
					if p.ID != product.ID {
						continue
					}
					for _, sub := range p.Subcomponents {
						if mod, _, ok := purl.Module(sub.ID); ok {
							c := s
							c.Products = []openvex.Product{p}
							key := string(s.Vulnerability.Name) + "\x00" + mod
							if _, dup := before[key]; !dup {
								beforeKeys = append(beforeKeys, key)
							}
							before[key] = c
						}
					}
				}
			}
		}
		stated := map[string]bool{}
		if res.projectModules[r.Module] {
			for _, key := range sourceKeys {
				src := res.source[key]
				_, mod, _ := strings.Cut(key, "\x00")
				version := ""
				if b, had := before[key]; had {
					_, version, _ = purl.Module(b.Products[0].Subcomponents[0].ID)
				} else if v, ok := r.Modules[mod]; ok && v != "" && v == sourceVersion(src, mod) {
					version = v
				} else {
					continue
				}
				vuln := src.Vulnerability
				if b, had := before[key]; had {
					vuln = b.Vulnerability
				}
				doc.Statements = append(doc.Statements, vex.NewStatement(vuln,
					[]openvex.Product{vex.Product(product.Component, purl.Go(mod, version))},
					vex.Assertion{Status: src.Status, Justification: src.Justification, Impact: src.ImpactStatement, Action: src.ActionStatement,
						Notes: strings.TrimSpace(src.StatusNotes + " " + sourceNote), Timestamp: src.Timestamp}))
				stated[key] = true
			}
		}
		for _, key := range beforeKeys {
			b := before[key]
			if stated[key] || strings.Contains(b.StatusNotes, sourceNote) {
				continue
			}
			doc.Statements = append(doc.Statements, b)
		}
	}
	return vex.Finalize(doc)
}

// productFor is a recorded binary as a product, as it was stated while
// it could be read.
func productFor(r store.ReleaseBinary) openvex.Product {
	var sha string
	if d, err := digest.Parse(r.Digest); err == nil && d.Algorithm == "sha256" {
		sha = d.Hex
	}
	return artifact.BinaryProduct(artifact.Binary{Path: r.Name, Size: r.Size, SHA256: sha,
		Package: r.Package, Module: r.Module, Version: r.Version, GoVersion: r.GoVersion})
}

// sourceVersion is the version of module mod a source statement names.
func sourceVersion(s openvex.Statement, mod string) string {
	for _, p := range s.Products {
		for _, sub := range p.Subcomponents {
			if m, v, ok := purl.Module(sub.ID); ok && m == mod {
				return v
			}
		}
	}
	return ""
}

// shortDigest shortens "sha256:hex" for a line.
func shortDigest(d string) string {
	parsed, err := digest.Parse(d)
	if err != nil {
		return shortHash(d)
	}
	return parsed.Algorithm + ":" + shortHash(parsed.Hex)
}

// listNames lists up to n names, and how many more.
func listNames(names []string, n int) string {
	if len(names) > n {
		return strings.Join(names[:n], ", ") + fmt.Sprintf(", and %d more", len(names)-n)
	}
	return strings.Join(names, ", ")
}
