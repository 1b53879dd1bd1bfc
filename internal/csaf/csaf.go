// Package csaf writes and reads CSAF 2.0 documents of the VEX profile
// (category csaf_vex), for the consumers that read VEX in that form
// (vendors' advisory tooling, Grype, vex-repo feeds).
//
// FromOpenVEX maps an OpenVEX document, statement by statement, to a CSAF
// value; ToOpenVEX maps one back; Parse reads CSAF bytes with bounds and
// checks. The mapping, and what one format cannot say in the other, is in
// MAPPING.md beside this file.
//
// The types are defined here rather than taken from a library: there is no
// well-kept Go model of CSAF (the Go CSAF tooling that exists is a whole
// provider and aggregator distribution, and brings its dependencies with
// it), and a VEX document needs about fifteen small structs of the schema.
// They hold what vexloom writes and what it reads from others' VEX; fields
// of the schema outside that (scores, acknowledgments, branches' details
// beyond products) are not modelled and are dropped when reading.
package csaf

import "errors"

// Version is the CSAF version written.
const Version = "2.0"

// CategoryVEX is the document category of the VEX profile.
const CategoryVEX = "csaf_vex"

// MaxDocumentSize bounds the CSAF documents read.
const MaxDocumentSize = 64 << 20

// ErrInvalid is wrapped by every error about a document that is not CSAF
// VEX that vexloom can read.
var ErrInvalid = errors.New("invalid CSAF VEX document")

// Document is a CSAF 2.0 document.
type Document struct {
	Document        Meta            `json:"document"`
	ProductTree     *ProductTree    `json:"product_tree,omitempty"`
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`
}

// Meta is the document-level metadata (/document).
type Meta struct {
	Category    string    `json:"category"`
	CSAFVersion string    `json:"csaf_version"`
	Lang        string    `json:"lang,omitempty"`
	Notes       []Note    `json:"notes,omitempty"`
	Publisher   Publisher `json:"publisher"`
	Title       string    `json:"title"`
	Tracking    Tracking  `json:"tracking"`
}

// Publisher is who issued the document.
type Publisher struct {
	Category  string `json:"category"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// Tracking holds the document's identity, version and dates (RFC 3339).
type Tracking struct {
	CurrentReleaseDate string     `json:"current_release_date"`
	Generator          *Generator `json:"generator,omitempty"`
	ID                 string     `json:"id"`
	InitialReleaseDate string     `json:"initial_release_date"`
	RevisionHistory    []Revision `json:"revision_history"`
	Status             string     `json:"status"`
	Version            string     `json:"version"`
}

// Generator names the tool that wrote the document.
type Generator struct {
	Date   string `json:"date,omitempty"`
	Engine Engine `json:"engine"`
}

// Engine is a generator's name and version.
type Engine struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Revision is one entry of the revision history.
type Revision struct {
	Date    string `json:"date"`
	Number  string `json:"number"`
	Summary string `json:"summary"`
}

// Note is a piece of text with a category.
type Note struct {
	Category string `json:"category"`
	Text     string `json:"text"`
	Title    string `json:"title,omitempty"`
}

// ProductTree holds every product the document names.
type ProductTree struct {
	Branches         []Branch          `json:"branches,omitempty"`
	FullProductNames []FullProductName `json:"full_product_names,omitempty"`
	Relationships    []Relationship    `json:"relationships,omitempty"`
}

// Branch is a level of a product hierarchy; vexloom does not write them but
// reads the products at their leaves.
type Branch struct {
	Branches []Branch         `json:"branches,omitempty"`
	Category string           `json:"category"`
	Name     string           `json:"name"`
	Product  *FullProductName `json:"product,omitempty"`
}

// FullProductName names one product and gives it an ID.
type FullProductName struct {
	Name      string  `json:"name"`
	ProductID string  `json:"product_id"`
	Helper    *Helper `json:"product_identification_helper,omitempty"`
}

// Helper identifies a product in an asset database.
type Helper struct {
	CPE    string   `json:"cpe,omitempty"`
	Hashes []Hashes `json:"hashes,omitempty"`
	PURL   string   `json:"purl,omitempty"`
}

// Hashes are a file's hashes.
type Hashes struct {
	FileHashes []FileHash `json:"file_hashes"`
	Filename   string     `json:"filename"`
}

// FileHash is one hash of a file.
type FileHash struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"`
}

// Relationship makes a new product of two: in vexloom's documents, a
// vulnerable component (ProductReference) as a default component of the
// product that ships it (RelatesToProductReference).
type Relationship struct {
	Category                  string          `json:"category"`
	FullProductName           FullProductName `json:"full_product_name"`
	ProductReference          string          `json:"product_reference"`
	RelatesToProductReference string          `json:"relates_to_product_reference"`
}

// Vulnerability is what the document says about one vulnerability.
type Vulnerability struct {
	CVE           string         `json:"cve,omitempty"`
	Flags         []Flag         `json:"flags,omitempty"`
	IDs           []ID           `json:"ids,omitempty"`
	Notes         []Note         `json:"notes,omitempty"`
	ProductStatus *ProductStatus `json:"product_status,omitempty"`
	References    []Reference    `json:"references,omitempty"`
	Remediations  []Remediation  `json:"remediations,omitempty"`
	Threats       []Threat       `json:"threats,omitempty"`
	Title         string         `json:"title,omitempty"`
}

// ID is a vulnerability ID of a tracking system other than CVE.
type ID struct {
	SystemName string `json:"system_name"`
	Text       string `json:"text"`
}

// Reference points at a resource about the vulnerability.
type Reference struct {
	Category string `json:"category,omitempty"`
	Summary  string `json:"summary"`
	URL      string `json:"url"`
}

// ProductStatus lists the products by status. vexloom writes the four
// statuses of the VEX profile and reads the others as their nearest: first
// and last affected as known affected, first fixed and recommended as fixed.
type ProductStatus struct {
	FirstAffected      []string `json:"first_affected,omitempty"`
	FirstFixed         []string `json:"first_fixed,omitempty"`
	Fixed              []string `json:"fixed,omitempty"`
	KnownAffected      []string `json:"known_affected,omitempty"`
	KnownNotAffected   []string `json:"known_not_affected,omitempty"`
	LastAffected       []string `json:"last_affected,omitempty"`
	Recommended        []string `json:"recommended,omitempty"`
	UnderInvestigation []string `json:"under_investigation,omitempty"`
}

// list is the product status list named as in CSAF's JSON (the names of
// vex.Statuses); nil for another name.
func (ps *ProductStatus) list(name string) *[]string {
	return map[string]*[]string{
		"first_affected":      &ps.FirstAffected,
		"first_fixed":         &ps.FirstFixed,
		"fixed":               &ps.Fixed,
		"known_affected":      &ps.KnownAffected,
		"known_not_affected":  &ps.KnownNotAffected,
		"last_affected":       &ps.LastAffected,
		"recommended":         &ps.Recommended,
		"under_investigation": &ps.UnderInvestigation,
	}[name]
}

// Flag is a machine-readable justification for products not affected.
type Flag struct {
	Date       string   `json:"date,omitempty"`
	Label      string   `json:"label"`
	ProductIDs []string `json:"product_ids,omitempty"`
}

// Threat is, with category impact, why products are not affected.
type Threat struct {
	Category   string   `json:"category"`
	Date       string   `json:"date,omitempty"`
	Details    string   `json:"details"`
	ProductIDs []string `json:"product_ids,omitempty"`
}

// Remediation is what to do about affected products.
type Remediation struct {
	Category   string   `json:"category"`
	Date       string   `json:"date,omitempty"`
	Details    string   `json:"details"`
	ProductIDs []string `json:"product_ids,omitempty"`
}
