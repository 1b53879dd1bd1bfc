package attest

import (
	"encoding/json"
	"fmt"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"
	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// Form is what a JSON file of VEX holds.
type Form int

// Forms of VEX documents.
const (
	// FormUnknown: none of the others.
	FormUnknown Form = iota
	// FormBundle: a Sigstore bundle (its mediaType says so).
	FormBundle
	// FormStatement: an in-toto statement, unsigned.
	FormStatement
	// FormOpenVEX: a bare OpenVEX document, unsigned.
	FormOpenVEX
)

// String names the form as messages do.
func (f Form) String() string {
	switch f {
	case FormBundle:
		return "Sigstore bundle"
	case FormStatement:
		return "in-toto statement"
	case FormOpenVEX:
		return "OpenVEX"
	}
	return "unknown"
}

// Sniff says what data holds from the keys of its top-level JSON object:
// a Sigstore bundle (a mediaType starting with
// application/vnd.dev.sigstore.bundle), an in-toto statement (_type) or an
// OpenVEX document (statements or @context). It reads nothing further:
// ReadBundle, ReadStatement and internal/vex parse.
func Sniff(data []byte) Form {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return FormUnknown
	}
	if mt, ok := top["mediaType"]; ok {
		var s string
		if json.Unmarshal(mt, &s) == nil && strings.HasPrefix(s, "application/vnd.dev.sigstore.bundle") {
			return FormBundle
		}
	}
	if _, ok := top["_type"]; ok {
		return FormStatement
	}
	if _, ok := top["statements"]; ok {
		return FormOpenVEX
	}
	if _, ok := top["@context"]; ok {
		return FormOpenVEX
	}
	return FormUnknown
}

// ReadBundleUnverified reads the OpenVEX document and subjects a bundle's
// DSSE envelope carries without checking its signature: for reporting what
// a bundle says that did not verify, never for trusting it (Verify).
func ReadBundleUnverified(data []byte) (*openvex.VEX, []Subject, error) {
	st, err := BundleStatement(data)
	if err != nil {
		return nil, nil, err
	}
	return ReadStatement(st)
}

// BundleStatement returns the in-toto statement a Sigstore bundle's DSSE
// envelope carries, without checking its signature: for reading what a
// bundle says (ReadStatement, ReadContent), never for trusting it (Verify).
func BundleStatement(data []byte) ([]byte, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle of %d bytes is more than the %d allowed", ErrMalformed, len(data), MaxBundleSize)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(data); err != nil {
		return nil, fmt.Errorf("%w: not a Sigstore bundle: %v", ErrMalformed, err)
	}
	env := b.GetDsseEnvelope()
	if env == nil {
		return nil, fmt.Errorf("%w: the bundle holds no DSSE attestation", ErrMalformed)
	}
	return env.GetPayload(), nil
}
