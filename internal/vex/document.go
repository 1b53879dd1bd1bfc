package vex

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/purl"
)

// Context is the @context of every document vexloom writes.
var Context = openvex.ContextLocator()

// MaxDocumentSize bounds the VEX documents vexloom reads.
const MaxDocumentSize = 64 << 20

// ErrInvalid is wrapped by every error about a document that is not valid
// OpenVEX.
var ErrInvalid = errors.New("invalid OpenVEX document")

// Vulnerability is what a statement says about the vulnerability itself.
type Vulnerability struct {
	// ID is the database ID (GO-2025-1234).
	ID string
	// Aliases are the other IDs (CVE, GHSA).
	Aliases []string
	// Description is a one-line summary.
	Description string
}

// Name returns the CVE if there is one, else the ID.
func (v Vulnerability) Name() string { return osv.Name(v.ID, v.Aliases) }

// OpenVEX returns the statement's vulnerability: name = CVE where one
// exists, every other ID as an alias, @id = the Go database page of a GO- ID.
func (v Vulnerability) OpenVEX() openvex.Vulnerability {
	name := v.Name()
	var aliases []openvex.VulnerabilityID
	seen := map[string]bool{name: true}
	ids := append([]string{v.ID}, v.Aliases...)
	slices.Sort(ids)
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			aliases = append(aliases, openvex.VulnerabilityID(id))
		}
	}
	out := openvex.Vulnerability{
		Name:        openvex.VulnerabilityID(name),
		Aliases:     aliases,
		Description: v.Description,
	}
	if strings.HasPrefix(v.ID, "GO-") {
		out.ID = "https://pkg.go.dev/vuln/" + v.ID
	}
	return out
}

// NewDocument returns an empty document.
func NewDocument(author, tooling string, ts time.Time) *openvex.VEX {
	ts = ts.UTC().Truncate(time.Second)
	return &openvex.VEX{
		Metadata: openvex.Metadata{
			Context:   Context,
			Author:    author,
			Timestamp: &ts,
			Version:   1,
			Tooling:   tooling,
		},
		Statements: []openvex.Statement{},
	}
}

// Finalize sorts the statements into a stable order, validates every one,
// and gives the document an @id derived from its content (unless it has
// one). It returns the first invalid statement as an error.
func Finalize(doc *openvex.VEX) error {
	for i := range doc.Statements {
		st := &doc.Statements[i]
		for j := range st.Products {
			slices.SortFunc(st.Products[j].Subcomponents, func(a, b openvex.Subcomponent) int {
				return strings.Compare(a.ID, b.ID)
			})
		}
		if err := st.Validate(); err != nil {
			return fmt.Errorf("%w: statement for %s: %v", ErrInvalid, st.Vulnerability.Name, err)
		}
	}
	slices.SortStableFunc(doc.Statements, compareStatements)
	if doc.ID == "" {
		id, err := ContentID(doc)
		if err != nil {
			return err
		}
		doc.ID = id
	}
	return nil
}

func compareStatements(a, b openvex.Statement) int {
	if c := strings.Compare(string(a.Vulnerability.Name), string(b.Vulnerability.Name)); c != 0 {
		return c
	}
	if c := strings.Compare(productKey(a), productKey(b)); c != 0 {
		return c
	}
	ta, tb := time.Time{}, time.Time{}
	if a.Timestamp != nil {
		ta = *a.Timestamp
	}
	if b.Timestamp != nil {
		tb = *b.Timestamp
	}
	return ta.Compare(tb)
}

func productKey(s openvex.Statement) string {
	var parts []string
	for _, p := range s.Products {
		k := p.ID
		for _, sc := range p.Subcomponents {
			k += "|" + sc.ID
		}
		parts = append(parts, k)
	}
	return strings.Join(parts, ",")
}

// ContentID returns an @id for doc derived from its statements, author and
// version, in the OpenVEX public namespace as vexctl writes them.
func ContentID(doc *openvex.VEX) (string, error) {
	clone := *doc
	clone.ID = ""
	b, err := jsonx.Compact(&clone)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return openvex.PublicNamespace + "/public/vex-" + hex.EncodeToString(sum[:]), nil
}

// Marshal encodes doc deterministically, without HTML escaping.
func Marshal(doc *openvex.VEX) ([]byte, error) {
	return jsonx.Marshal(doc)
}

// Parse reads an OpenVEX document (any 0.x version go-vex reads), bounds
// its size, validates every statement, and normalises the package URLs in
// it (escaped slashes, missing "v").
func Parse(data []byte) (*openvex.VEX, error) {
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("%w: %d bytes is more than the %d allowed", ErrInvalid, len(data), MaxDocumentSize)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", ErrInvalid)
	}
	var probe struct {
		Context    string          `json:"@context"`
		Statements json.RawMessage `json:"statements"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if !strings.HasPrefix(probe.Context, openvex.Context) {
		return nil, fmt.Errorf("%w: @context %q is not OpenVEX (%s/...)", ErrInvalid, truncate(probe.Context), openvex.Context)
	}
	doc, err := parseVEX(data)
	if err != nil {
		return nil, err
	}
	for i := range doc.Statements {
		st := &doc.Statements[i]
		if st.Vulnerability.Name == "" {
			return nil, fmt.Errorf("%w: statement %d has no vulnerability name", ErrInvalid, i+1)
		}
		if len(st.Products) == 0 {
			return nil, fmt.Errorf("%w: statement %d (%s) has no products", ErrInvalid, i+1, st.Vulnerability.Name)
		}
		if err := st.Validate(); err != nil {
			return nil, fmt.Errorf("%w: statement %d (%s): %v", ErrInvalid, i+1, st.Vulnerability.Name, err)
		}
		for j := range st.Products {
			p := &st.Products[j]
			if err := normalizeComponent(&p.Component); err != nil {
				return nil, fmt.Errorf("%w: statement %d (%s): %v", ErrInvalid, i+1, st.Vulnerability.Name, err)
			}
			for k := range p.Subcomponents {
				if err := normalizeComponent(&p.Subcomponents[k].Component); err != nil {
					return nil, fmt.Errorf("%w: statement %d (%s): %v", ErrInvalid, i+1, st.Vulnerability.Name, err)
				}
			}
		}
	}
	return doc, nil
}

// parseVEX calls go-vex's parser, which can panic on some malformed legacy
// documents; a panic becomes an error.
func parseVEX(data []byte) (doc *openvex.VEX, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("%w: %v", ErrInvalid, r)
		}
	}()
	doc, err = openvex.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return doc, nil
}

func normalizeComponent(c *openvex.Component) error {
	if c.ID != "" {
		n, err := purl.Normalize(c.ID)
		if err != nil {
			return err
		}
		c.ID = n
	}
	for t, id := range c.Identifiers {
		if t == openvex.PURL {
			n, err := purl.Normalize(id)
			if err != nil {
				return err
			}
			c.Identifiers[t] = n
		}
	}
	if c.ID == "" && len(c.Identifiers) == 0 && len(c.Hashes) == 0 {
		return errors.New("a product or subcomponent has no @id, identifiers or hashes")
	}
	return nil
}
