package ghbackend

import (
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/store"
	"github.com/vexloom/vexloom/internal/triage"
)

func seedBodies() []string {
	v := triage.View{Triage: store.Triage{ID: store.TriageID("GO-2025-3503", "golang.org/x/net"), VulnID: "GO-2025-3503", Dependency: "golang.org/x/net"}, State: triage.Open}
	gen := render(v).generated
	return []string{
		"",
		"plain issue text",
		gen,
		"note above\n\n" + gen + "\n\nnote below",
		dataPrefix + "v1 {} -->",
		dataPrefix + "v2 {\"triage\":\"x\"} -->\n" + endMarker,
		dataPrefix + `v1 {"triage":"vx-aaaaaa","vuln":"GO-1","dependency":"x","hash":"` + strings.Repeat("0", 64) + `"} -->` + "\n" + endMarker,
		strings.Replace(gen, endMarker, "", 1),
		gen + gen,
		dataPrefix + "v1 " + strings.Repeat("{", 5000) + " -->",
	}
}

// FuzzParseIssueBody: issue bodies are written by anyone with access to the
// repository. Parsing never panics, accepts only consistent data, and
// splicing keeps what surrounds the generated part.
func FuzzParseIssueBody(f *testing.F) {
	for _, s := range seedBodies() {
		f.Add(s)
	}
	v := triage.View{Triage: store.Triage{ID: store.TriageID("GO-2025-3503", "golang.org/x/net"), VulnID: "GO-2025-3503", Dependency: "golang.org/x/net"}, State: triage.Assessed}
	gen := render(v).generated
	f.Fuzz(func(t *testing.T, body string) {
		d, start, end, err := ParseIssueBody(body)
		if err == nil {
			if start < 0 || end > len(body) || start >= end {
				t.Fatalf("bounds [%d,%d) of %d bytes", start, end, len(body))
			}
			if !strings.HasPrefix(d.Triage, store.TriageID(d.Vuln, d.Dependency)) {
				t.Fatalf("inconsistent data accepted: %+v", d)
			}
		}
		out := Splice(body, gen)
		got, _, _, err := ParseIssueBody(out)
		if err != nil && len(out) <= maxBodyRead {
			t.Fatalf("spliced body does not parse: %v\n%q", err, out)
		}
		if err == nil && got.Triage != v.ID && strings.Index(out, dataPrefix) == strings.Index(out, gen) {
			t.Fatalf("spliced body names %q", got.Triage)
		}
		if !strings.Contains(out, gen) {
			t.Fatal("spliced body lacks the generated part")
		}
		// What was outside a well-formed generated part survives.
		if _, s, e, err := ParseIssueBody(body); err == nil && e <= len(body) {
			if !strings.HasPrefix(out, body[:s]) || !strings.HasSuffix(out, body[e:]) {
				t.Fatal("splicing lost text around the generated part")
			}
		}
	})
}

// FuzzParseMarker: comment bodies are anyone's. A marker is only read from
// the first line, names a known kind, and round-trips.
func FuzzParseMarker(f *testing.F) {
	for _, s := range []string{"", "<!-- vexloom:reply-to 123 -->\nhi", "<!-- vexloom:published vx-abc@published-0a1b -->", "<!-- vexloom:reply-to -1 -->", "<!-- vexloom:evil x -->", "text\n<!-- vexloom:closed a -->", "<!-- vexloom:closed a b -->"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		m, ok := parseMarker(body)
		if !ok {
			return
		}
		if _, known := markerKinds[m.what]; !known || m.kind != markerKinds[m.what] {
			t.Fatalf("unknown marker accepted: %+v", m)
		}
		back, ok := parseMarker(m.String())
		if !ok || back != m {
			t.Fatalf("marker %+v does not round-trip: %+v", m, back)
		}
	})
}
