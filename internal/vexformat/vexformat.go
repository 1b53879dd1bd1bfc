// Package vexformat writes an OpenVEX document in any of the VEX formats
// vexloom speaks (OpenVEX 0.2.0, CSAF 2.0, CycloneDX 1.6) and reads a
// document in any of them back as OpenVEX, telling the format by its
// content. Bytes are produced here, once, at the edge; the documents travel
// between stages as OpenVEX values.
package vexformat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/csaf"
	"github.com/vexloom/vexloom/internal/cyclonedx"
	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/vex"
)

// Format is a VEX document format.
type Format string

// The formats.
const (
	OpenVEX   Format = "openvex"
	CSAF      Format = "csaf"
	CycloneDX Format = "cyclonedx"
)

// Formats lists the formats, OpenVEX first.
var Formats = []Format{OpenVEX, CSAF, CycloneDX}

// ErrUnknownFormat is returned for a document in none of the formats.
var ErrUnknownFormat = errors.New("not an OpenVEX, CSAF or CycloneDX document")

// ParseFormat reads a format name.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown VEX format %q (want openvex, csaf or cyclonedx)", s)
}

// Options are what the other formats need that OpenVEX does not hold.
type Options struct {
	// Namespace is a URL under the publisher's control (CSAF requires one);
	// the project's repository is the natural value.
	Namespace string
}

// Extension is the file-name extension conventional for the format.
func (f Format) Extension() string {
	switch f {
	case CSAF:
		return ".csaf.json"
	case CycloneDX:
		return ".cdx.json"
	}
	return ".openvex.json"
}

// Marshal writes doc in format f: deterministic, indented, not
// HTML-escaped.
func Marshal(doc *openvex.VEX, f Format, o Options) ([]byte, error) {
	switch f {
	case OpenVEX, "":
		return vex.Marshal(doc)
	case CSAF:
		d, err := csaf.FromOpenVEX(doc, csaf.Options{Namespace: o.Namespace})
		if err != nil {
			return nil, fmt.Errorf("writing CSAF: %w", err)
		}
		return jsonx.Marshal(d)
	case CycloneDX:
		b, err := cyclonedx.FromOpenVEX(doc)
		if err != nil {
			return nil, fmt.Errorf("writing CycloneDX: %w", err)
		}
		return jsonx.Marshal(b)
	}
	return nil, fmt.Errorf("unknown VEX format %q", f)
}

// Parse reads a VEX document in any of the formats as OpenVEX and says
// which format it was in. Errors wrap vex.ErrInvalid, csaf.ErrInvalid,
// cyclonedx.ErrInvalid or ErrUnknownFormat.
func Parse(data []byte) (*openvex.VEX, Format, error) {
	f, err := Detect(data)
	if err != nil {
		return nil, "", err
	}
	switch f {
	case CSAF:
		d, err := csaf.Parse(data)
		if err != nil {
			return nil, f, err
		}
		doc, err := csaf.ToOpenVEX(d)
		return doc, f, err
	case CycloneDX:
		b, err := cyclonedx.Parse(data)
		if err != nil {
			return nil, f, err
		}
		doc, err := cyclonedx.ToOpenVEX(b)
		return doc, f, err
	}
	doc, err := vex.Parse(data)
	return doc, OpenVEX, err
}

// Detect tells a document's format by its top-level keys.
func Detect(data []byte) (Format, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return "", fmt.Errorf("%w: not a JSON object", ErrUnknownFormat)
	}
	if len(data) > vex.MaxDocumentSize {
		return "", fmt.Errorf("%w: %d bytes is more than the %d allowed", ErrUnknownFormat, len(data), vex.MaxDocumentSize)
	}
	var probe struct {
		Context   string          `json:"@context"`
		BOMFormat string          `json:"bomFormat"`
		Document  json.RawMessage `json:"document"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnknownFormat, err)
	}
	switch {
	case strings.HasPrefix(probe.Context, openvex.Context):
		return OpenVEX, nil
	case probe.BOMFormat != "":
		return CycloneDX, nil
	case len(probe.Document) > 0:
		return CSAF, nil
	}
	return "", ErrUnknownFormat
}
