package csaf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/purl"
	"github.com/vexloom/vexloom/internal/vex"
)

// Parse reads a CSAF 2.0 document: bounded, one JSON object, csaf_version
// 2.0, with the tracking fields ToOpenVEX needs. Fields vexloom does not
// model are ignored.
func Parse(data []byte) (*Document, error) {
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %d bytes is more than the %d allowed", ErrInvalid, len(data), MaxDocumentSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	var d Document
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: data after the document", ErrInvalid)
	}
	m := d.Document
	switch {
	case m.CSAFVersion != Version:
		return nil, fmt.Errorf("%w: csaf_version %q, not %s", ErrInvalid, short(m.CSAFVersion), Version)
	case m.Category == "":
		return nil, fmt.Errorf("%w: no document category", ErrInvalid)
	case strings.TrimSpace(m.Tracking.ID) == "":
		return nil, fmt.Errorf("%w: no tracking id", ErrInvalid)
	case m.Publisher.Name == "":
		return nil, fmt.Errorf("%w: no publisher name", ErrInvalid)
	}
	for _, s := range []string{m.Tracking.InitialReleaseDate, m.Tracking.CurrentReleaseDate} {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return nil, fmt.Errorf("%w: release date %q is not an RFC 3339 time", ErrInvalid, short(s))
		}
	}
	return &d, nil
}

// product is what a product ID of the product tree stands for.
type product struct {
	product, sub openvex.Component
}

// ToOpenVEX maps a CSAF document back to OpenVEX, the inverse of
// FromOpenVEX; it also reads other producers' CSAF VEX (products in
// branches, identified by purl, CPE or hashes). It refuses a document that
// names a product its tree does not, gives a product two statuses for one
// vulnerability, or says a product is not affected without a flag or impact
// threat, or affected without a remediation (the VEX profile's own rules).
func ToOpenVEX(d *Document) (*openvex.VEX, error) {
	m := d.Document
	initial, err := time.Parse(time.RFC3339, m.Tracking.InitialReleaseDate)
	if err != nil {
		return nil, fmt.Errorf("%w: initial_release_date: %v", ErrInvalid, err)
	}
	current, err := time.Parse(time.RFC3339, m.Tracking.CurrentReleaseDate)
	if err != nil {
		return nil, fmt.Errorf("%w: current_release_date: %v", ErrInvalid, err)
	}
	initial, current = initial.UTC(), current.UTC()
	out := vex.NewDocument(m.Publisher.Name, "", initial)
	out.ID = m.Tracking.ID
	if !current.Equal(initial) {
		out.LastUpdated = &current
	}
	if n, err := strconv.Atoi(m.Tracking.Version); err == nil && n > 0 {
		out.Version = n
	} else {
		out.Version = max(len(m.Tracking.RevisionHistory), 1)
	}
	if g := m.Tracking.Generator; g != nil {
		out.Tooling = strings.TrimSpace(g.Engine.Name + " " + g.Engine.Version)
	}

	products, err := productIndex(d.ProductTree)
	if err != nil {
		return nil, err
	}
	var facts []vex.Fact
	for i, v := range d.Vulnerabilities {
		fs, err := vulnerabilityFacts(v, products, current)
		if err != nil {
			return nil, fmt.Errorf("%w: vulnerability %d: %v", ErrInvalid, i+1, err)
		}
		facts = append(facts, fs...)
	}
	out.Statements = vex.Statements(facts)
	if err := vex.Finalize(out); err != nil {
		return nil, err
	}
	return out, nil
}

func productIndex(t *ProductTree) (map[string]product, error) {
	idx := map[string]product{}
	if t == nil {
		return idx, nil
	}
	add := func(f FullProductName) error {
		if f.ProductID == "" {
			return fmt.Errorf("%w: a product named %q has no product_id", ErrInvalid, short(f.Name))
		}
		if _, dup := idx[f.ProductID]; dup {
			return fmt.Errorf("%w: product_id %q is defined twice", ErrInvalid, short(f.ProductID))
		}
		c, err := component(f)
		if err != nil {
			return err
		}
		idx[f.ProductID] = product{product: c}
		return nil
	}
	var walk func(bs []Branch, depth int) error
	walk = func(bs []Branch, depth int) error {
		if depth > 32 {
			return fmt.Errorf("%w: branches nested more than 32 deep", ErrInvalid)
		}
		for _, b := range bs {
			if b.Product != nil {
				if err := add(*b.Product); err != nil {
					return err
				}
			}
			if err := walk(b.Branches, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(t.Branches, 0); err != nil {
		return nil, err
	}
	for _, f := range t.FullProductNames {
		if err := add(f); err != nil {
			return nil, err
		}
	}
	// A relationship may build on another relationship's product; resolve
	// them in as many passes as it takes.
	pending := slices.Clone(t.Relationships)
	for len(pending) > 0 {
		var left []Relationship
		for _, r := range pending {
			sub, ok1 := idx[r.ProductReference]
			prod, ok2 := idx[r.RelatesToProductReference]
			if !ok1 || !ok2 {
				left = append(left, r)
				continue
			}
			if r.FullProductName.ProductID == "" {
				return nil, fmt.Errorf("%w: a relationship has no product_id", ErrInvalid)
			}
			if _, dup := idx[r.FullProductName.ProductID]; dup {
				return nil, fmt.Errorf("%w: product_id %q is defined twice", ErrInvalid, short(r.FullProductName.ProductID))
			}
			// The component is the referenced product itself; the product
			// it is part of is the relationship's other end.
			idx[r.FullProductName.ProductID] = product{product: prod.product, sub: sub.product}
		}
		if len(left) == len(pending) {
			return nil, fmt.Errorf("%w: relationship %q refers to a product the tree does not define", ErrInvalid, short(left[0].FullProductName.ProductID))
		}
		pending = left
	}
	return idx, nil
}

// component reads a product's identity: its name when that is an identifier
// (as vexloom writes it), else its package URL, CPE or name.
func component(f FullProductName) (openvex.Component, error) {
	var c openvex.Component
	var pu, cpe string
	if h := f.Helper; h != nil {
		pu, cpe = h.PURL, h.CPE
		for _, hs := range h.Hashes {
			for _, fh := range hs.FileHashes {
				alg := openvexAlgorithm(fh.Algorithm)
				if alg == "" || fh.Value == "" {
					continue
				}
				if c.Hashes == nil {
					c.Hashes = map[openvex.Algorithm]openvex.Hash{}
				}
				c.Hashes[alg] = openvex.Hash(strings.ToLower(fh.Value))
			}
		}
	}
	ids, err := vex.Identifiers(pu, cpe)
	if err != nil {
		return c, fmt.Errorf("%w: product %q: %v", ErrInvalid, short(f.ProductID), err)
	}
	c.Identifiers = ids
	name := strings.TrimSpace(f.Name)
	switch {
	case purl.Is(name):
		n, err := purl.Normalize(name)
		if err != nil {
			return c, fmt.Errorf("%w: product %q: %v", ErrInvalid, short(f.ProductID), err)
		}
		c.ID = n
	case hasIdentifierScheme(name):
		c.ID = name
	default:
		c.ID = cmpOr3(c.Identifiers[openvex.PURL], cpe, name)
	}
	if c.ID == "" {
		return c, fmt.Errorf("%w: product %q has no name or identifier", ErrInvalid, short(f.ProductID))
	}
	return c, nil
}

func hasIdentifierScheme(s string) bool {
	if strings.ContainsAny(s, " \t\n") {
		return false
	}
	for _, p := range []string{"cpe:", "urn:", "https://", "http://", "sha-", "sha1:", "md5:", "blake2"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func cmpOr3(a, b, c string) string {
	switch {
	case a != "":
		return a
	case b != "":
		return b
	}
	return c
}

// openvexAlgorithm reads a CSAF hash algorithm name (sha256, SHA-256) as
// OpenVEX's; "" for one OpenVEX has no name for.
func openvexAlgorithm(s string) openvex.Algorithm {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "md5":
		return openvex.MD5
	case "sha1", "sha-1":
		return openvex.SHA1
	case "sha256", "sha-256":
		return openvex.SHA256
	case "sha384", "sha-384":
		return openvex.SHA384
	case "sha512", "sha-512":
		return openvex.SHA512
	case "sha3-224", "sha3-256", "sha3-384", "sha3-512", "blake2s-256", "blake2b-256", "blake2b-512":
		return openvex.Algorithm(s)
	}
	return ""
}

func vulnerabilityFacts(v Vulnerability, products map[string]product, current time.Time) ([]vex.Fact, error) {
	var name string
	var aliases []openvex.VulnerabilityID
	ids := v.IDs
	switch {
	case v.CVE != "":
		name = v.CVE
	case len(ids) > 0:
		name, ids = ids[0].Text, ids[1:]
	default:
		return nil, fmt.Errorf("neither a cve nor ids")
	}
	for _, id := range ids {
		if id.Text != "" && id.Text != name && !slices.Contains(aliases, openvex.VulnerabilityID(id.Text)) {
			aliases = append(aliases, openvex.VulnerabilityID(id.Text))
		}
	}
	ov := openvex.Vulnerability{Name: openvex.VulnerabilityID(name), Aliases: aliases}
	notesFor := map[string]string{}
	for _, n := range v.Notes {
		switch {
		case n.Category == "description" && ov.Description == "":
			ov.Description = n.Text
		case n.Category == "details" && strings.HasPrefix(n.Title, statusNotesTitle):
			for _, id := range strings.Fields(strings.TrimPrefix(n.Title, statusNotesTitle)) {
				notesFor[id] = n.Text
			}
		}
	}
	if ov.Description == "" {
		ov.Description = v.Title
	}
	for _, r := range v.References {
		if r.Category != "self" && (strings.HasPrefix(r.URL, "https://") || strings.HasPrefix(r.URL, "http://")) {
			ov.ID = r.URL
			break
		}
	}
	ps := v.ProductStatus
	if ps == nil {
		return nil, fmt.Errorf("%s has no product_status", short(name))
	}
	type entry struct {
		status openvex.Status
		list   []string
	}
	lists := []entry{
		{openvex.StatusNotAffected, ps.KnownNotAffected},
		{openvex.StatusAffected, ps.KnownAffected},
		{openvex.StatusAffected, ps.FirstAffected},
		{openvex.StatusAffected, ps.LastAffected},
		{openvex.StatusFixed, ps.Fixed},
		{openvex.StatusFixed, ps.FirstFixed},
		{openvex.StatusFixed, ps.Recommended},
		{openvex.StatusUnderInvestigation, ps.UnderInvestigation},
	}
	seen := map[string]openvex.Status{}
	var out []vex.Fact
	for _, e := range lists {
		for _, id := range e.list {
			p, ok := products[id]
			if !ok {
				return nil, fmt.Errorf("%s names product %q, which the product tree does not define", short(name), short(id))
			}
			if s, dup := seen[id]; dup {
				if s != e.status {
					return nil, fmt.Errorf("%s gives product %q two statuses, %s and %s", short(name), short(id), s, e.status)
				}
				continue
			}
			seen[id] = e.status
			f := vex.Fact{Vulnerability: ov, Product: p.product, Subcomponent: p.sub, Status: e.status, StatusNotes: notesFor[id], Timestamp: current}
			switch e.status {
			case openvex.StatusNotAffected:
				for _, fl := range v.Flags {
					if applies(fl.ProductIDs, id) {
						j, ok := vex.JustificationByCSAF(fl.Label)
						if !ok {
							return nil, fmt.Errorf("%s: flag %q is not a VEX justification", short(name), short(fl.Label))
						}
						f.Justification = j.Justification
						f.Timestamp = dateOr(fl.Date, f.Timestamp)
						break
					}
				}
				for _, t := range v.Threats {
					if t.Category == "impact" && applies(t.ProductIDs, id) {
						f.ImpactStatement = t.Details
						f.Timestamp = dateOr(t.Date, f.Timestamp)
						break
					}
				}
				if f.Justification == "" && f.ImpactStatement == "" {
					return nil, fmt.Errorf("%s: product %q is known not affected with neither a flag nor an impact threat", short(name), short(id))
				}
			case openvex.StatusAffected:
				var acts []string
				for _, r := range v.Remediations {
					if applies(r.ProductIDs, id) && r.Details != "" {
						acts = append(acts, r.Details)
						f.Timestamp = dateOr(r.Date, f.Timestamp)
					}
				}
				if len(acts) == 0 {
					return nil, fmt.Errorf("%s: product %q is known affected with no remediation", short(name), short(id))
				}
				f.ActionStatement = strings.Join(acts, " ")
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// applies tells whether a flag, threat or remediation listing ids concerns
// the product id. One listing none concerns no product: CSAF gives it no
// products to speak for.
func applies(ids []string, id string) bool { return slices.Contains(ids, id) }

func dateOr(s string, def time.Time) time.Time {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC()
	}
	return def
}

func short(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
