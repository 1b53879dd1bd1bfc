package csaf

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// DefaultNamespace is the publisher namespace written when the caller names
// none; the project's own URL (its repository) is the better value.
const DefaultNamespace = "https://github.com/vexloom/vexloom"

// statusNotesTitle starts the title of the note that carries the status
// notes of the products it lists.
const statusNotesTitle = "Status notes for "

// Options are the parts of a CSAF document that OpenVEX does not hold.
type Options struct {
	// Namespace is a URL under the publisher's control (default
	// DefaultNamespace).
	Namespace string
	// PublisherCategory is vendor (the default), coordinator, discoverer,
	// translator, user or other.
	PublisherCategory string
	// Title is the document's title (default: one naming the author).
	Title string
}

var cvePattern = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)

// FromOpenVEX maps an OpenVEX document to a CSAF VEX document: one CSAF
// vulnerability per OpenVEX vulnerability, every product and subcomponent in
// the product tree with its package URL, a subcomponent in a product as a
// default_component_of relationship, and each statement's status,
// justification, impact and action as product status, flag, impact threat
// and remediation. Where statements disagree about a product, the latest
// wins, as OpenVEX readers decide. The result is deterministic.
func FromOpenVEX(doc *openvex.VEX, opts Options) (*Document, error) {
	if doc.ID == "" {
		return nil, fmt.Errorf("the OpenVEX document has no @id to track the CSAF document by")
	}
	if doc.Timestamp == nil {
		return nil, fmt.Errorf("the OpenVEX document %s has no timestamp", doc.ID)
	}
	facts := vex.Facts(doc)
	for _, f := range facts {
		if vex.ComponentKey(f.Product) == "" {
			return nil, fmt.Errorf("a statement about %s names a product with no identifier", f.Vulnerability.Name)
		}
	}
	initial := doc.Timestamp.UTC()
	current := initial
	if doc.LastUpdated != nil && doc.LastUpdated.After(current) {
		current = doc.LastUpdated.UTC()
	}
	version := strconv.Itoa(max(doc.Version, 1))
	author := doc.Author
	if author == "" {
		author = "unknown"
	}
	out := &Document{Document: Meta{
		Category:    CategoryVEX,
		CSAFVersion: Version,
		Lang:        "en",
		Publisher: Publisher{
			Category:  cmp.Or(opts.PublisherCategory, "vendor"),
			Name:      author,
			Namespace: cmp.Or(opts.Namespace, DefaultNamespace),
		},
		Title: cmp.Or(opts.Title, "VEX statements by "+author),
		Tracking: Tracking{
			CurrentReleaseDate: date(current),
			ID:                 doc.ID,
			InitialReleaseDate: date(initial),
			RevisionHistory:    []Revision{{Date: date(current), Number: version, Summary: "Version " + version + "."}},
			Status:             "final",
			Version:            version,
		},
	}}
	if doc.Tooling != "" {
		out.Document.Tracking.Generator = &Generator{Engine: Engine{Name: doc.Tooling}}
	}
	if len(facts) == 0 {
		return out, nil
	}

	tree, ids := productTree(facts)
	out.ProductTree = tree

	var names []string
	byName := map[string][]vex.Fact{}
	for _, f := range facts {
		n := string(f.Vulnerability.Name)
		if _, ok := byName[n]; !ok {
			names = append(names, n)
		}
		byName[n] = append(byName[n], f)
	}
	slices.Sort(names)
	for _, n := range names {
		out.Vulnerabilities = append(out.Vulnerabilities, vulnerability(byName[n], ids))
	}
	return out, nil
}

// productTree names every product and subcomponent once, and every
// subcomponent-in-product pair as a relationship. It returns the ID of each
// fact's product (the relationship's, when the fact has a subcomponent).
func productTree(facts []vex.Fact) (*ProductTree, func(vex.Fact) string) {
	comps := map[string]openvex.Component{}
	pairs := map[[2]string]bool{}
	for _, f := range facts {
		pk := vex.ComponentKey(f.Product)
		comps[pk] = vex.MergeComponent(comps[pk], f.Product)
		if sk := vex.ComponentKey(f.Subcomponent); sk != "" {
			comps[sk] = vex.MergeComponent(comps[sk], f.Subcomponent)
			pairs[[2]string{sk, pk}] = true
		}
	}
	keys := make([]string, 0, len(comps))
	for k := range comps {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	tree := &ProductTree{}
	id := map[string]string{}
	n := 0
	next := func() string {
		n++
		return fmt.Sprintf("CSAFPID-%04d", n)
	}
	for _, k := range keys {
		id[k] = next()
		tree.FullProductNames = append(tree.FullProductNames, fullProductName(k, id[k], comps[k]))
	}
	pairKeys := make([][2]string, 0, len(pairs))
	for p := range pairs {
		pairKeys = append(pairKeys, p)
	}
	slices.SortFunc(pairKeys, func(a, b [2]string) int {
		if c := strings.Compare(a[1], b[1]); c != 0 {
			return c
		}
		return strings.Compare(a[0], b[0])
	})
	rel := map[[2]string]string{}
	for _, p := range pairKeys {
		rel[p] = next()
		tree.Relationships = append(tree.Relationships, Relationship{
			Category:                  "default_component_of",
			FullProductName:           FullProductName{Name: p[0] + " in " + p[1], ProductID: rel[p]},
			ProductReference:          id[p[0]],
			RelatesToProductReference: id[p[1]],
		})
	}
	return tree, func(f vex.Fact) string {
		pk := vex.ComponentKey(f.Product)
		if sk := vex.ComponentKey(f.Subcomponent); sk != "" {
			return rel[[2]string{sk, pk}]
		}
		return id[pk]
	}
}

func fullProductName(key, id string, c openvex.Component) FullProductName {
	fpn := FullProductName{Name: key, ProductID: id}
	h := &Helper{}
	h.PURL, h.CPE = vex.ComponentPURL(c), vex.ComponentCPE(c)
	if len(c.Hashes) > 0 {
		hs := Hashes{Filename: fileName(key, h.PURL)}
		for alg, v := range c.Hashes {
			hs.FileHashes = append(hs.FileHashes, FileHash{Algorithm: csafAlgorithm(alg), Value: string(v)})
		}
		slices.SortFunc(hs.FileHashes, func(a, b FileHash) int { return strings.Compare(a.Algorithm, b.Algorithm) })
		h.Hashes = []Hashes{hs}
	}
	if h.PURL != "" || h.CPE != "" || len(h.Hashes) > 0 {
		fpn.Helper = h
	}
	return fpn
}

// fileName names the file a product's hashes are of: the package name of its
// package URL (the binary, the image), else its key.
func fileName(key, pu string) string {
	if p, err := purl.Split(pu); err == nil && p.Name != "" {
		return p.Name
	}
	return key
}

// csafAlgorithm writes an OpenVEX hash algorithm (sha-256) the way CSAF's
// examples do (sha256).
func csafAlgorithm(a openvex.Algorithm) string {
	return strings.Replace(string(a), "sha-", "sha", 1)
}

func vulnerability(facts []vex.Fact, productID func(vex.Fact) string) Vulnerability {
	v := facts[0].Vulnerability
	aliases := map[string]bool{}
	for _, f := range facts {
		for _, a := range f.Vulnerability.Aliases {
			aliases[string(a)] = true
		}
		if v.Description == "" {
			v.Description = f.Vulnerability.Description
		}
		if v.ID == "" {
			v.ID = f.Vulnerability.ID
		}
	}
	name := string(v.Name)
	out := Vulnerability{}
	var others []string
	if cvePattern.MatchString(name) {
		out.CVE = name
	} else {
		out.IDs = append(out.IDs, ID{SystemName: vex.SourceOfID(name).CSAF, Text: name})
	}
	delete(aliases, name)
	for a := range aliases {
		others = append(others, a)
	}
	slices.Sort(others)
	for _, a := range others {
		out.IDs = append(out.IDs, ID{SystemName: vex.SourceOfID(a).CSAF, Text: a})
	}
	if v.Description != "" {
		out.Notes = append(out.Notes, Note{Category: "description", Title: "Description", Text: v.Description})
	} else {
		out.Notes = append(out.Notes, Note{Category: "general", Title: "Vulnerability", Text: "Statements about " + name + "."})
	}
	if strings.HasPrefix(v.ID, "https://") || strings.HasPrefix(v.ID, "http://") {
		out.References = append(out.References, Reference{Category: "external", Summary: "The vulnerability's record.", URL: v.ID})
	}

	status := &ProductStatus{}
	flags := grouped{}
	threats := grouped{}
	remedies := grouped{}
	notes := grouped{}
	for _, f := range facts {
		id := productID(f)
		ts := date(f.Timestamp)
		if m, ok := vex.StatusOf(f.Status); ok {
			l := status.list(m.CSAF)
			*l = append(*l, id)
		}
		switch f.Status {
		case openvex.StatusNotAffected:
			if j, ok := vex.JustificationOf(f.Justification); ok {
				flags.add(j.CSAF, ts, id)
			}
			if f.ImpactStatement != "" {
				threats.add(f.ImpactStatement, ts, id)
			}
		case openvex.StatusAffected:
			remedies.add(f.ActionStatement, ts, id)
		}
		if f.StatusNotes != "" {
			notes.add(f.StatusNotes, "", id)
		}
	}
	for _, m := range vex.Statuses {
		l := status.list(m.CSAF)
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	out.ProductStatus = status
	for _, g := range flags.sorted() {
		out.Flags = append(out.Flags, Flag{Label: g.text, Date: g.date, ProductIDs: g.ids})
	}
	for _, g := range threats.sorted() {
		out.Threats = append(out.Threats, Threat{Category: "impact", Details: g.text, Date: g.date, ProductIDs: g.ids})
	}
	for _, g := range remedies.sorted() {
		// OpenVEX's action statement is free text: whether it names an
		// official fix, a workaround or neither cannot be told, and
		// "mitigation" is the category that claims least.
		out.Remediations = append(out.Remediations, Remediation{Category: "mitigation", Details: g.text, Date: g.date, ProductIDs: g.ids})
	}
	for _, g := range notes.sorted() {
		out.Notes = append(out.Notes, Note{Category: "details", Title: statusNotesTitle + strings.Join(g.ids, " "), Text: g.text})
	}
	return out
}

// grouped collects product IDs under the same text and date.
type grouped map[[2]string][]string

type group struct {
	text, date string
	ids        []string
}

func (g grouped) add(text, date, id string) {
	k := [2]string{text, date}
	if !slices.Contains(g[k], id) {
		g[k] = append(g[k], id)
	}
}

func (g grouped) sorted() []group {
	out := make([]group, 0, len(g))
	for k, ids := range g {
		slices.Sort(ids)
		out = append(out, group{text: k[0], date: k[1], ids: ids})
	}
	slices.SortFunc(out, func(a, b group) int {
		if c := strings.Compare(a.ids[0], b.ids[0]); c != 0 {
			return c
		}
		if c := strings.Compare(a.text, b.text); c != 0 {
			return c
		}
		return strings.Compare(a.date, b.date)
	})
	return out
}

func date(t time.Time) string { return t.UTC().Format(time.RFC3339) }
