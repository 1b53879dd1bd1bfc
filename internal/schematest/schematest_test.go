package schematest

import (
	"strings"
	"testing"
)

// The schemas load, and each rejects a document that breaks it: a
// validator that accepted anything would make every test that uses it
// worthless.
func TestSchemasReject(t *testing.T) {
	for _, c := range []struct {
		id, good, bad, why string
	}{
		{CycloneDX, `{"bomFormat":"CycloneDX","specVersion":"1.6"}`, `{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[{"analysis":{"state":"maybe"}}]}`, "state"},
		{CSAF, `{"document":{"category":"csaf_vex","csaf_version":"2.0","publisher":{"category":"vendor","name":"x","namespace":"https://example.com"},"title":"t","tracking":{"current_release_date":"2026-01-01T00:00:00Z","id":"x","initial_release_date":"2026-01-01T00:00:00Z","revision_history":[{"date":"2026-01-01T00:00:00Z","number":"1","summary":"s"}],"status":"final","version":"1"}}}`,
			`{"document":{"category":"csaf_vex","csaf_version":"2.0","publisher":{"category":"vendor","name":"x","namespace":"not a uri"},"title":"t","tracking":{"current_release_date":"yesterday","id":"x","initial_release_date":"2026-01-01T00:00:00Z","revision_history":[],"status":"final","version":"1"}}}`, "namespace"},
	} {
		if err := Validate(c.id, []byte(c.good)); err != nil {
			t.Errorf("%s: a valid document is refused: %v", c.id, err)
		}
		err := Validate(c.id, []byte(c.bad))
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: an invalid document: got %v, want an error about %s", c.id, err, c.why)
		}
	}
}
