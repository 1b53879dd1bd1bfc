// Package schematest validates documents against the official JSON schemas
// of the VEX formats vexloom writes besides OpenVEX: CSAF 2.0 and
// CycloneDX 1.6. It is for tests; the schemas are kept under testdata (see
// testdata/README.md for where each comes from) and loaded offline.
package schematest

import (
	"bytes"
	"embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed testdata/*.json
var files embed.FS

// The schemas' $id, under which they are registered.
const (
	CSAF      = "https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json"
	CycloneDX = "http://cyclonedx.org/schema/bom-1.6.schema.json"
)

var resources = map[string]string{
	CSAF:      "testdata/csaf_json_schema.json",
	CycloneDX: "testdata/bom-1.6.schema.json",
	"http://cyclonedx.org/schema/spdx.schema.json":     "testdata/spdx.schema.json",
	"http://cyclonedx.org/schema/jsf-0.82.schema.json": "testdata/jsf-0.82.schema.json",
}

var (
	once     sync.Once
	compiled map[string]*jsonschema.Schema
	errLoad  error
)

func load() {
	c := jsonschema.NewCompiler()
	// Formats (uri, date-time, email…) are asserted, not only annotated.
	c.AssertFormat()
	for id, path := range resources {
		b, err := files.ReadFile(path)
		if err != nil {
			errLoad = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			errLoad = fmt.Errorf("reading %s: %w", path, err)
			return
		}
		if err := c.AddResource(id, doc); err != nil {
			errLoad = fmt.Errorf("adding %s: %w", path, err)
			return
		}
	}
	compiled = map[string]*jsonschema.Schema{}
	for _, id := range []string{CSAF, CycloneDX} {
		s, err := c.Compile(id)
		if err != nil {
			errLoad = fmt.Errorf("compiling %s: %w", id, err)
			return
		}
		compiled[id] = s
	}
}

// Validate checks data against the schema with the given $id.
func Validate(schemaID string, data []byte) error {
	once.Do(load)
	if errLoad != nil {
		return errLoad
	}
	s, ok := compiled[schemaID]
	if !ok {
		return fmt.Errorf("no schema %s", schemaID)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return s.Validate(v)
}
