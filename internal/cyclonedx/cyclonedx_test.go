package cyclonedx

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/jsonx"
	"github.com/vexloom/vexloom/internal/schematest"
	"github.com/vexloom/vexloom/internal/vex"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func readOpenVEX(t testing.TB, name string) *openvex.VEX {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := vex.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func encode(t testing.TB, doc *openvex.VEX) []byte {
	t.Helper()
	bom, err := FromOpenVEX(doc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := jsonx.Marshal(bom)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func factStrings(doc *openvex.VEX) string {
	var out []string
	for _, f := range vex.Facts(doc) {
		out = append(out, f.String())
	}
	return strings.Join(out, "\n\n")
}

// The CycloneDX form of a release document is valid against the official
// 1.6 schema, is the golden file byte for byte, comes out the same twice,
// and reads back to the same statements.
func TestReleaseDocument(t *testing.T) {
	doc := readOpenVEX(t, "release.openvex.json")
	out := encode(t, doc)
	if err := schematest.Validate(schematest.CycloneDX, out); err != nil {
		t.Fatalf("the BOM does not validate: %v\n%s", err, out)
	}
	if again := encode(t, readOpenVEX(t, "release.openvex.json")); !bytes.Equal(out, again) {
		t.Error("two encodings of the same document differ")
	}
	golden := filepath.Join("testdata", "release.cdx.json")
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("the BOM differs from %s (run with -update to accept):\n%s", golden, out)
	}
	if bytes.Contains(out, []byte(`\u0026`)) || !bytes.Contains(out, []byte("html & friends")) {
		t.Error("the output is HTML-escaped")
	}
	bom, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ToOpenVEX(bom)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := factStrings(back), factStrings(doc); got != want {
		t.Errorf("round trip changed the statements:\ngot:\n%s\n\nwant:\n%s", got, want)
	}
	if back.ID != doc.ID || back.Author != doc.Author || back.Version != doc.Version || back.Tooling != doc.Tooling || !back.Timestamp.Equal(*doc.Timestamp) {
		t.Errorf("round trip changed the metadata: %+v", back.Metadata)
	}
}

// Each OpenVEX justification has its own CycloneDX justification, and each
// reads back as itself.
func TestJustificationsRoundTrip(t *testing.T) {
	for j, c := range toCDX {
		if fromCDX[c] != j {
			t.Errorf("%s → %s → %s", j, c, fromCDX[c])
		}
	}
	if len(toCDX) != 5 {
		t.Errorf("%d justifications mapped, OpenVEX has 5", len(toCDX))
	}
}

// The analysis of each status, and where the products and subcomponents go.
func TestStatusMapping(t *testing.T) {
	bom, err := FromOpenVEX(readOpenVEX(t, "release.openvex.json"))
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]cdx.ImpactAnalysisState{}
	for _, v := range *bom.Vulnerabilities {
		states[v.ID] = v.Analysis.State
		if v.ID == "CVE-2024-1111" {
			if v.Analysis.Justification != cdx.IAJRequiresEnvironment || len(*v.Affects) != 1 ||
				(*v.Affects)[0].Ref != "pkg:oci/kube-proxy@sha256:4b1c56e1a8a1a0f7d8e0c6e0a4f0b5c3d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6?repository_url=registry.k8s.io/kube-proxy|pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64&distro=debian-12" {
				t.Errorf("the base package statement: %+v %+v", v.Analysis, *v.Affects)
			}
		}
		if v.ID == "GO-2025-9999" && v.Recommendation == "" {
			t.Error("affected without the action as recommendation")
		}
	}
	want := map[string]cdx.ImpactAnalysisState{"CVE-2025-22871": cdx.IASNotAffected, "GO-2025-9999": cdx.IASExploitable,
		"CVE-2025-0001": cdx.IASResolved, "CVE-2025-0002": cdx.IASInTriage, "CVE-2024-1111": cdx.IASNotAffected}
	for id, s := range want {
		if states[id] != s {
			t.Errorf("%s: state %q, want %q", id, states[id], s)
		}
	}
	for _, c := range *bom.Components {
		if c.PackageURL == "" || c.Components == nil {
			t.Errorf("product %s: purl %q, nested %v", c.BOMRef, c.PackageURL, c.Components)
		}
		if strings.HasPrefix(c.PackageURL, "pkg:oci/") && (c.Type != cdx.ComponentTypeContainer || c.Hashes == nil) {
			t.Errorf("image %s: type %s, hashes %v", c.BOMRef, c.Type, c.Hashes)
		}
	}
}

// Another producer's VEX BOM: components identified by purl under short
// bom-refs, the root component in the metadata, states and justifications
// outside OpenVEX's.
func TestReadOtherProducers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "vendor.cdx.json"))
	if err != nil {
		t.Fatal(err)
	}
	bom, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ToOpenVEX(bom)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range vex.Facts(doc) {
		got = append(got, strings.Join([]string{string(f.Vulnerability.Name), f.Product.ID, string(f.Status), string(f.Justification), f.ImpactStatement, f.ActionStatement}, " | "))
	}
	want := []string{
		"CVE-2021-44228 | pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1 | not_affected | inline_mitigations_already_exist | JNDI lookups are disabled. | ",
		"CVE-2022-0001 | pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.13.0 | not_affected |  | Reported as a false positive. | ",
		"CVE-2022-42003 | pkg:maven/com.example/shop@4.2.0 | affected |  |  | Response: update.",
		"CVE-2022-42003 | pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.13.0 | affected |  |  | Response: update.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range vex.Facts(doc) {
		if f.Vulnerability.Name == "CVE-2021-44228" && (len(f.Vulnerability.Aliases) != 1 || f.Product.Hashes[openvex.SHA256] != "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789") {
			t.Errorf("aliases or hashes lost: %+v", f)
		}
	}
}

// Bad and hostile input: one error wrapping ErrInvalid.
func TestRefuses(t *testing.T) {
	good := string(encode(t, readOpenVEX(t, "release.openvex.json")))
	for _, c := range []struct {
		name, doc, want string
	}{
		{"empty", "", "not a JSON object"},
		{"truncated", good[:len(good)/3], "unexpected end"},
		{"not cyclonedx", `{"bomFormat":"SPDX"}`, "bomFormat"},
		{"old spec", `{"bomFormat":"CycloneDX","specVersion":"1.3"}`, "1.4 or later"},
		{"unknown spec", `{"bomFormat":"CycloneDX","specVersion":"9.9"}`, "invalid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
	t.Run("too big", func(t *testing.T) {
		// One byte over the limit; the bytes between the braces are never
		// written, so the test costs no memory the parser does not touch.
		data := make([]byte, MaxDocumentSize+1)
		data[0], data[len(data)-1] = '{', '}'
		if _, err := Parse(data); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "allowed") {
			t.Errorf("got %v, want ErrInvalid mentioning %q", err, "allowed")
		}
	})
	for _, c := range []struct {
		name   string
		change func(b *cdx.BOM)
		want   string
	}{
		{"unknown ref", func(b *cdx.BOM) { (*(*b.Vulnerabilities)[0].Affects)[0].Ref = "nowhere" }, "does not define"},
		{"no affects", func(b *cdx.BOM) { (*b.Vulnerabilities)[0].Affects = nil }, "affects nothing"},
		{"bad state", func(b *cdx.BOM) { (*b.Vulnerabilities)[0].Analysis.State = "maybe" }, "not CycloneDX's"},
		{"bad justification", func(b *cdx.BOM) {
			for i := range *b.Vulnerabilities {
				if v := &(*b.Vulnerabilities)[i]; v.Analysis.State == cdx.IASNotAffected {
					v.Analysis.Justification = "trust_me"
				}
			}
		}, "not CycloneDX's"},
		{"duplicate ref", func(b *cdx.BOM) { (*b.Components)[1].BOMRef = (*b.Components)[0].BOMRef }, "defined twice"},
		{"no timestamp", func(b *cdx.BOM) { b.Metadata.Timestamp = "" }, "no metadata timestamp"},
		{"bad purl", func(b *cdx.BOM) { (*b.Components)[0].PackageURL = "pkg:oci/%zz" }, "component"},
		{"deep nesting", func(b *cdx.BOM) {
			c := []cdx.Component{{Type: cdx.ComponentTypeLibrary, Name: "x"}}
			for range 40 {
				c = []cdx.Component{{Type: cdx.ComponentTypeLibrary, Name: "x", Components: &c}}
			}
			*b.Components = append(*b.Components, c...)
		}, "nested"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bom, err := FromOpenVEX(readOpenVEX(t, "release.openvex.json"))
			if err != nil {
				t.Fatal(err)
			}
			c.change(bom)
			_, err = ToOpenVEX(bom)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
}
