package triage

import (
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/assess"
	"github.com/vexloom/vexloom/internal/buildinfo"
	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// ImageDocument is the VEX of what scanners reported in a release's images:
// for each triage observed there, the decision in force (a maintainer's, or
// the one carried from the base image's VEX), with each image (by digest)
// as product and the package as subcomponent; under_investigation where a
// person has yet to decide.
func ImageDocument(views []View, release, author string, now time.Time) (*openvex.VEX, error) {
	doc := vex.NewDocument(author, buildinfo.Tool(), now)
	branch := ImageBranchPrefix + release
	for _, v := range views {
		b := v.Branch(branch)
		if b == nil {
			continue
		}
		vuln := v.Vulnerability
		if vuln.ID == "" {
			vuln.ID = v.VulnID
		}
		a := vex.Assertion{Status: openvex.StatusUnderInvestigation}
		ts := doc.Timestamp.UTC()
		if d := b.Decision; d != nil {
			a = vex.Assertion{Status: openvex.Status(d.Status), Justification: openvex.Justification(d.Justification),
				Impact: d.Impact, Action: d.Action, Notes: d.Notes}
			if d.Author != BaseVEXAuthor && d.Author != "" && d.Source != string(assess.SourceAutomatic) {
				a.Notes = strings.TrimSpace(a.Notes + " Decided by @" + d.Author + ".")
			}
			ts = d.At.UTC().Truncate(time.Second)
		}
		a.Timestamp = &ts
		var products []openvex.Product
		for _, o := range b.Observations {
			if o.Image == "" || o.Commit == "" {
				continue
			}
			repo, _, _ := strings.Cut(o.Module, "@")
			id := imagePURL(repo, o.Commit)
			products = append(products, vex.Product(openvex.Component{ID: id, Identifiers: map[openvex.IdentifierType]string{openvex.PURL: id},
				Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(strings.TrimPrefix(o.Commit, "sha256:"))}}, o.Image))
		}
		st := vex.NewStatement(vex.Vulnerability{ID: vuln.ID, Aliases: vuln.Aliases, Description: vuln.Summary}.OpenVEX(), products, a)
		if len(st.Products) > 0 {
			doc.Statements = append(doc.Statements, st)
		}
	}
	if err := vex.Finalize(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// imagePURL names an image by digest as vexloom names release images:
// pkg:oci/NAME@DIGEST?repository_url=REPOSITORY, never with a tag.
func imagePURL(repository, digest string) string {
	return purl.OCI(repository[strings.LastIndex(repository, "/")+1:], digest, repository)
}
