// Package cyclonedx writes and reads VEX in CycloneDX 1.6, for the consumers
// that read that form (Dependency-Track, Grype).
//
// FromOpenVEX maps an OpenVEX document to a CycloneDX BOM whose components
// are the products (with their vulnerable components nested in them) and
// whose vulnerabilities carry each statement as an analysis; ToOpenVEX maps
// one back; Parse reads CycloneDX bytes with bounds and checks. The model is
// github.com/CycloneDX/cyclonedx-go's. The mapping, and what one format
// cannot say in the other, is in MAPPING.md beside this file.
package cyclonedx

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// SchemaURL is the $schema of the documents written.
const SchemaURL = "http://cyclonedx.org/schema/bom-1.6.schema.json"

// MaxDocumentSize bounds the CycloneDX documents read.
const MaxDocumentSize = 64 << 20

// ErrInvalid is wrapped by every error about a document that is not
// CycloneDX VEX that vexloom can read.
var ErrInvalid = errors.New("invalid CycloneDX VEX document")

// Property names carrying what CycloneDX has no field for.
const (
	propDocumentID  = "vexloom:openvex:id"
	propLastUpdated = "vexloom:openvex:last_updated"
	propStatusNotes = "vexloom:openvex:status_notes"
)

// refSeparator joins a product's bom-ref and its component's key in the
// bom-ref of a nested component.
const refSeparator = "|"

// The justifications and states, both ways: vex.Justifications and
// vex.Statuses.
var (
	toCDX   = map[openvex.Justification]cdx.ImpactAnalysisJustification{}
	fromCDX = map[cdx.ImpactAnalysisJustification]openvex.Justification{}
	toState = map[openvex.Status]cdx.ImpactAnalysisState{}
)

func init() {
	for _, j := range vex.Justifications {
		toCDX[j.Justification] = cdx.ImpactAnalysisJustification(j.CycloneDX)
		for _, c := range append([]string{j.CycloneDX}, j.CycloneDXAlso...) {
			fromCDX[cdx.ImpactAnalysisJustification(c)] = j.Justification
		}
	}
	for _, s := range vex.Statuses {
		toState[s.Status] = cdx.ImpactAnalysisState(s.CycloneDX)
	}
}

var hashToCDX = map[openvex.Algorithm]cdx.HashAlgorithm{
	openvex.MD5:        cdx.HashAlgoMD5,
	openvex.SHA1:       cdx.HashAlgoSHA1,
	openvex.SHA256:     cdx.HashAlgoSHA256,
	openvex.SHA384:     cdx.HashAlgoSHA384,
	openvex.SHA512:     cdx.HashAlgoSHA512,
	openvex.SHA3256:    cdx.HashAlgoSHA3_256,
	openvex.SHA3384:    cdx.HashAlgoSHA3_384,
	openvex.SHA3512:    cdx.HashAlgoSHA3_512,
	openvex.BLAKE2B256: cdx.HashAlgoBlake2b_256,
	openvex.BLAKE2B512: cdx.HashAlgoBlake2b_512,
}

// FromOpenVEX maps an OpenVEX document to a CycloneDX 1.6 BOM. Where
// statements disagree about a product, the latest wins, as OpenVEX readers
// decide. The result is deterministic.
func FromOpenVEX(doc *openvex.VEX) (*cdx.BOM, error) {
	if doc.ID == "" {
		return nil, fmt.Errorf("the OpenVEX document has no @id")
	}
	if doc.Timestamp == nil {
		return nil, fmt.Errorf("the OpenVEX document %s has no timestamp", doc.ID)
	}
	facts := vex.Facts(doc)
	bom := &cdx.BOM{
		JSONSchema:   SchemaURL,
		BOMFormat:    cdx.BOMFormat,
		SpecVersion:  cdx.SpecVersion1_6,
		SerialNumber: serialNumber(doc.ID),
		Version:      max(doc.Version, 1),
	}
	meta := &cdx.Metadata{Timestamp: stamp(*doc.Timestamp)}
	if doc.Author != "" {
		meta.Authors = &[]cdx.OrganizationalContact{{Name: doc.Author}}
	}
	if doc.Tooling != "" {
		meta.Tools = &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: doc.Tooling}}}
	}
	props := []cdx.Property{{Name: propDocumentID, Value: doc.ID}}
	if doc.LastUpdated != nil {
		props = append(props, cdx.Property{Name: propLastUpdated, Value: stamp(*doc.LastUpdated)})
	}
	meta.Properties = &props
	bom.Metadata = meta

	// Components: each product once, its subcomponents nested in it.
	products := map[string]openvex.Component{}
	subs := map[string]map[string]openvex.Component{}
	for _, f := range facts {
		pk := vex.ComponentKey(f.Product)
		if pk == "" {
			return nil, fmt.Errorf("a statement about %s names a product with no identifier", f.Vulnerability.Name)
		}
		products[pk] = vex.MergeComponent(products[pk], f.Product)
		if sk := vex.ComponentKey(f.Subcomponent); sk != "" {
			if subs[pk] == nil {
				subs[pk] = map[string]openvex.Component{}
			}
			subs[pk][sk] = vex.MergeComponent(subs[pk][sk], f.Subcomponent)
		}
	}
	var comps []cdx.Component
	for _, pk := range sortedKeys(products) {
		c := component(pk, pk, products[pk])
		var nested []cdx.Component
		for _, sk := range sortedKeys(subs[pk]) {
			nested = append(nested, component(pk+refSeparator+sk, sk, subs[pk][sk]))
		}
		if len(nested) > 0 {
			c.Components = &nested
		}
		comps = append(comps, c)
	}
	if len(comps) > 0 {
		bom.Components = &comps
	}

	// Vulnerabilities: one per vulnerability and analysis, listing every
	// product the analysis holds for.
	type group struct {
		f    vex.Fact
		refs []string
	}
	groups := map[string]*group{}
	var order []string
	for _, f := range facts {
		k := strings.Join([]string{string(f.Vulnerability.Name), string(f.Status), string(f.Justification),
			f.ImpactStatement, f.ActionStatement, f.StatusNotes, stamp(f.Timestamp)}, "\x00")
		g, ok := groups[k]
		if !ok {
			g = &group{f: f}
			groups[k] = g
			order = append(order, k)
		}
		ref := vex.ComponentKey(f.Product)
		if sk := vex.ComponentKey(f.Subcomponent); sk != "" {
			ref += refSeparator + sk
		}
		g.refs = append(g.refs, ref)
		// The vulnerability's description and aliases may be spread over
		// statements; gather them.
		g.f.Vulnerability = mergeVulnerability(g.f.Vulnerability, f.Vulnerability)
	}
	slices.Sort(order)
	var vulns []cdx.Vulnerability
	for _, k := range order {
		g := groups[k]
		slices.Sort(g.refs)
		vulns = append(vulns, vulnerability(g.f, slices.Compact(g.refs)))
	}
	if len(vulns) > 0 {
		bom.Vulnerabilities = &vulns
	}
	return bom, nil
}

func vulnerability(f vex.Fact, refs []string) cdx.Vulnerability {
	v := f.Vulnerability
	name := string(v.Name)
	out := cdx.Vulnerability{
		ID:          name,
		Source:      &cdx.Source{Name: vex.SourceOfID(name).CycloneDX, URL: v.ID},
		Description: v.Description,
		Analysis: &cdx.VulnerabilityAnalysis{
			State:         toState[f.Status],
			Justification: toCDX[f.Justification],
			Detail:        f.ImpactStatement,
			LastUpdated:   stamp(f.Timestamp),
		},
		Recommendation: f.ActionStatement,
	}
	var aliases []string
	for _, a := range v.Aliases {
		if string(a) != name {
			aliases = append(aliases, string(a))
		}
	}
	slices.Sort(aliases)
	if aliases = slices.Compact(aliases); len(aliases) > 0 {
		refs := make([]cdx.VulnerabilityReference, 0, len(aliases))
		for _, a := range aliases {
			refs = append(refs, cdx.VulnerabilityReference{ID: a, Source: &cdx.Source{Name: vex.SourceOfID(a).CycloneDX, URL: vex.SourceOfID(a).URL}})
		}
		out.References = &refs
	}
	affects := make([]cdx.Affects, 0, len(refs))
	for _, r := range refs {
		affects = append(affects, cdx.Affects{Ref: r})
	}
	out.Affects = &affects
	if f.StatusNotes != "" {
		out.Properties = &[]cdx.Property{{Name: propStatusNotes, Value: f.StatusNotes}}
	}
	return out
}

// component describes an OpenVEX component as a CycloneDX one with the
// given bom-ref: its package URL, CPE and hashes, and name, group and
// version from the package URL.
func component(ref, key string, c openvex.Component) cdx.Component {
	out := cdx.Component{BOMRef: ref, Type: cdx.ComponentTypeLibrary, Name: key}
	if pu := vex.ComponentPURL(c); pu != "" {
		out.PackageURL = pu
		if p, err := purl.Split(pu); err == nil {
			out.Name, out.Group, out.Version = p.Name, p.Namespace, p.Version
			switch {
			case p.Type == "oci" || p.Type == "docker":
				out.Type = cdx.ComponentTypeContainer
			case p.Type == "golang" && p.Qualifiers["checksum"] != "":
				out.Type = cdx.ComponentTypeApplication
			}
		}
	}
	out.CPE = vex.ComponentCPE(c)
	var hashes []cdx.Hash
	for alg, h := range c.Hashes {
		if a, ok := hashToCDX[alg]; ok {
			hashes = append(hashes, cdx.Hash{Algorithm: a, Value: string(h)})
		}
	}
	slices.SortFunc(hashes, func(a, b cdx.Hash) int { return strings.Compare(string(a.Algorithm), string(b.Algorithm)) })
	if len(hashes) > 0 {
		out.Hashes = &hashes
	}
	return out
}

func mergeVulnerability(a, b openvex.Vulnerability) openvex.Vulnerability {
	a.ID = cmp.Or(a.ID, b.ID)
	a.Description = cmp.Or(a.Description, b.Description)
	for _, x := range b.Aliases {
		if !slices.Contains(a.Aliases, x) {
			a.Aliases = append(a.Aliases, x)
		}
	}
	return a
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// serialNumber derives a BOM's serial number from the document's @id, so
// the same document always has the same one: a name-based UUID (version 5
// layout over SHA-256).
func serialNumber(id string) string {
	sum := sha256.Sum256([]byte("vexloom cyclonedx serial\x00" + id))
	u := sum[:16]
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	h := hex.EncodeToString(u)
	return "urn:uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Parse reads a CycloneDX JSON document: bounded, one JSON object,
// bomFormat CycloneDX, a spec version the model knows.
func Parse(data []byte) (*cdx.BOM, error) {
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %d bytes is more than the %d allowed", ErrInvalid, len(data), MaxDocumentSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	var probe struct {
		BOMFormat string `json:"bomFormat"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if probe.BOMFormat != cdx.BOMFormat {
		return nil, fmt.Errorf("%w: bomFormat %q, not %s", ErrInvalid, short(probe.BOMFormat), cdx.BOMFormat)
	}
	var bom cdx.BOM
	if err := json.Unmarshal(data, &bom); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if bom.SpecVersion < cdx.SpecVersion1_4 {
		return nil, fmt.Errorf("%w: spec version %s has no VEX analysis (1.4 or later)", ErrInvalid, bom.SpecVersion)
	}
	return &bom, nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
