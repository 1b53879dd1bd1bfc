package csaf

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	d, err := FromOpenVEX(doc, Options{Namespace: "https://kubernetes.io"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := jsonx.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func factStrings(doc *openvex.VEX) []string {
	var out []string
	for _, f := range vex.Facts(doc) {
		out = append(out, f.String())
	}
	return out
}

// The CSAF form of a release document is valid against the official
// schema, is the golden file byte for byte, comes out the same twice, and
// reads back to the same statements.
func TestReleaseDocument(t *testing.T) {
	doc := readOpenVEX(t, "release.openvex.json")
	out := encode(t, doc)
	if err := schematest.Validate(schematest.CSAF, out); err != nil {
		t.Fatalf("the CSAF document does not validate: %v\n%s", err, out)
	}
	if again := encode(t, readOpenVEX(t, "release.openvex.json")); !bytes.Equal(out, again) {
		t.Error("two encodings of the same document differ")
	}
	golden := filepath.Join("testdata", "release.csaf.json")
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
		t.Errorf("the CSAF document differs from %s (run with -update to accept):\n%s", golden, out)
	}
	if bytes.Contains(out, []byte(`\u0026`)) || !bytes.Contains(out, []byte("html & friends")) {
		t.Error("the output is HTML-escaped")
	}
	if bytes.Contains(out, []byte(`"scores"`)) {
		t.Error("scores are written; the schema kept as test data does not check them (see schematest/testdata/README.md)")
	}

	parsed, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ToOpenVEX(parsed)
	if err != nil {
		t.Fatal(err)
	}
	got, wantFacts := factStrings(back), factStrings(doc)
	if strings.Join(got, "\n\n") != strings.Join(wantFacts, "\n\n") {
		t.Errorf("round trip changed the statements:\ngot:\n%s\n\nwant:\n%s", strings.Join(got, "\n\n"), strings.Join(wantFacts, "\n\n"))
	}
	if back.ID != doc.ID || back.Author != doc.Author || back.Version != doc.Version || back.Tooling != doc.Tooling || !back.Timestamp.Equal(*doc.Timestamp) {
		t.Errorf("round trip changed the metadata: %+v", back.Metadata)
	}
	for _, st := range back.Statements {
		if err := st.Validate(); err != nil {
			t.Errorf("a statement read back is not valid OpenVEX: %v", err)
		}
	}
}

// The mapping of each status: where its justification, impact and action
// go in CSAF.
func TestStatusMapping(t *testing.T) {
	d, err := FromOpenVEX(readOpenVEX(t, "release.openvex.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Vulnerability{}
	for _, v := range d.Vulnerabilities {
		name := v.CVE
		if name == "" {
			name = v.IDs[0].Text
		}
		byName[name] = v
	}
	na := byName["CVE-2025-22871"]
	if len(na.ProductStatus.KnownNotAffected) != 2 || len(na.Flags) != 1 || na.Flags[0].Label != "vulnerable_code_not_in_execute_path" ||
		len(na.Flags[0].ProductIDs) != 2 || len(na.Threats) != 1 || na.Threats[0].Category != "impact" {
		t.Errorf("not_affected: %+v", na)
	}
	if len(na.IDs) != 2 || na.IDs[0].Text != "GHSA-g9pc-8g42-g6vq" || na.IDs[1].SystemName != "Go Vulnerability Database" {
		t.Errorf("aliases: %+v", na.IDs)
	}
	aff := byName["GO-2025-9999"]
	if aff.CVE != "" || len(aff.ProductStatus.KnownAffected) != 2 || len(aff.Remediations) != 1 || aff.Remediations[0].Category != "mitigation" {
		t.Errorf("affected (two subcomponents, so two relationship products): %+v", aff)
	}
	if f := byName["CVE-2025-0001"].ProductStatus; len(f.Fixed) != 1 {
		t.Errorf("fixed: %+v", f)
	}
	if u := byName["CVE-2025-0002"]; len(u.ProductStatus.UnderInvestigation) != 1 || len(u.Notes) != 2 {
		t.Errorf("under_investigation with status notes: %+v", u)
	}
	var helperPURLs []string
	for _, p := range d.ProductTree.FullProductNames {
		if p.Helper == nil || p.Helper.PURL == "" {
			t.Errorf("product %s has no purl", p.Name)
			continue
		}
		helperPURLs = append(helperPURLs, p.Helper.PURL)
	}
	if !strings.Contains(strings.Join(helperPURLs, " "), "pkg:deb/debian/libc6@2.36-9+deb12u10?arch=amd64&distro=debian-12") {
		t.Errorf("the Debian package is not a product: %v", helperPURLs)
	}
	for _, r := range d.ProductTree.Relationships {
		if r.Category != "default_component_of" {
			t.Errorf("relationship %+v", r)
		}
	}
}

// Where statements disagree about a product, the latest one is written.
func TestLatestStatementWins(t *testing.T) {
	doc := readOpenVEX(t, "release.openvex.json")
	later := *doc.Statements[2].Timestamp
	later = later.Add(3600e9)
	st := doc.Statements[2] // CVE-2025-0001 fixed
	st.Status = openvex.StatusAffected
	st.ActionStatement = "Downgrade."
	st.Timestamp = &later
	doc.Statements = append(doc.Statements, st)
	d, err := FromOpenVEX(doc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range d.Vulnerabilities {
		if v.CVE == "CVE-2025-0001" && (len(v.ProductStatus.Fixed) != 0 || len(v.ProductStatus.KnownAffected) != 1) {
			t.Errorf("the earlier statement won: %+v", v.ProductStatus)
		}
	}
}

// Bad and hostile input: one clear error wrapping ErrInvalid, nothing read.
func TestParseRefuses(t *testing.T) {
	good := string(encode(t, readOpenVEX(t, "release.openvex.json")))
	for _, c := range []struct {
		name, doc, want string
	}{
		{"empty", "", "not a JSON object"},
		{"array", "[]", "not a JSON object"},
		{"truncated", good[:len(good)/2], "unexpected EOF"},
		{"trailing data", good + "{}", "data after"},
		{"openvex", `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[]}`, "csaf_version"},
		{"csaf 2.1", strings.Replace(good, `"csaf_version": "2.0"`, `"csaf_version": "2.1"`, 1), "csaf_version"},
		{"no tracking id", strings.Replace(good, `"id": "https://openvex.dev/docs/public/vex-2b1c56e1a8a1a0f7d8e0c6e0a4f0b5c3d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6"`, `"id": " "`, 1), "tracking id"},
		{"bad date", strings.Replace(good, `"initial_release_date": "2026-11-20T10:00:00Z"`, `"initial_release_date": "last week"`, 1), "RFC 3339"},
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
}

// Documents that parse but say something the VEX profile forbids, or name
// products they never define.
func TestToOpenVEXRefuses(t *testing.T) {
	vuln := func(d *Document, name string) *Vulnerability {
		for i := range d.Vulnerabilities {
			if v := &d.Vulnerabilities[i]; v.CVE == name || (len(v.IDs) > 0 && v.IDs[0].Text == name) {
				return v
			}
		}
		t.Fatalf("no %s", name)
		return nil
	}
	for _, c := range []struct {
		name   string
		change func(d *Document)
		want   string
	}{
		{"unknown product", func(d *Document) {
			v := vuln(d, "GO-2025-9999")
			v.ProductStatus.KnownAffected = append(v.ProductStatus.KnownAffected, "CSAFPID-0999")
		}, "does not define"},
		{"two statuses", func(d *Document) {
			v := vuln(d, "CVE-2025-0001")
			v.ProductStatus.KnownAffected = v.ProductStatus.Fixed
			v.Remediations = []Remediation{{Category: "vendor_fix", Details: "x", ProductIDs: v.ProductStatus.Fixed}}
		}, "two statuses"},
		{"not affected without reason", func(d *Document) {
			v := vuln(d, "CVE-2024-1111")
			v.Flags = nil
		}, "neither a flag"},
		{"affected without remediation", func(d *Document) { vuln(d, "GO-2025-9999").Remediations = nil }, "no remediation"},
		{"bad flag", func(d *Document) { vuln(d, "CVE-2024-1111").Flags[0].Label = "trust_me" }, "not a VEX justification"},
		{"dangling relationship", func(d *Document) { d.ProductTree.Relationships[0].ProductReference = "CSAFPID-0404" }, "does not define"},
		{"relationship cycle", func(d *Document) {
			r := &d.ProductTree.Relationships[0]
			r.ProductReference = "CSAFPID-0777"
			d.ProductTree.Relationships = append(d.ProductTree.Relationships, Relationship{Category: "default_component_of",
				FullProductName: FullProductName{Name: "loop", ProductID: "CSAFPID-0777"}, ProductReference: r.FullProductName.ProductID, RelatesToProductReference: "CSAFPID-0001"})
		}, "does not define"},
		{"duplicate product", func(d *Document) { d.ProductTree.FullProductNames[1].ProductID = "CSAFPID-0001" }, "defined twice"},
		{"no id at all", func(d *Document) { vuln(d, "CVE-2025-0001").CVE = "" }, "neither a cve nor ids"},
		{"no product status", func(d *Document) { vuln(d, "CVE-2025-0001").ProductStatus = nil }, "no product_status"},
		{"bad purl", func(d *Document) {
			d.ProductTree.FullProductNames[0].Name = "Debian libc"
			d.ProductTree.FullProductNames[0].Helper.PURL = "pkg:deb/%zz"
		}, "product"},
		{"deep branches", func(d *Document) {
			b := []Branch{{Category: "vendor", Name: "x"}}
			for range 40 {
				b = []Branch{{Category: "vendor", Name: "x", Branches: b}}
			}
			d.ProductTree.Branches = b
		}, "nested"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := FromOpenVEX(readOpenVEX(t, "release.openvex.json"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			c.change(d)
			_, err = ToOpenVEX(d)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrInvalid mentioning %q", err, c.want)
			}
		})
	}
}

// Another producer's CSAF VEX: products at the leaves of branches, named in
// words and identified by purl, statuses outside the four VEX ones.
func TestReadOtherProducers(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "vendor.csaf.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := schematest.Validate(schematest.CSAF, b); err != nil {
		t.Fatalf("the test document itself is not valid CSAF: %v", err)
	}
	d, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ToOpenVEX(d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range vex.Facts(doc) {
		got = append(got, string(f.Vulnerability.Name)+" "+f.Product.ID+" "+f.Subcomponent.ID+" "+string(f.Status)+" "+string(f.Justification)+f.ActionStatement)
	}
	want := []string{
		"CVE-2026-1000 pkg:oci/debian@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?repository_url=registry.example/debian pkg:deb/debian/openssl@3.0.15-1 not_affected vulnerable_code_not_in_execute_path",
		"CVE-2026-1000 pkg:oci/debian@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb?repository_url=registry.example/debian  fixed ",
		"CVE-2026-1001 pkg:deb/debian/zlib1g@1.2.13  affected Upgrade zlib1g to 1.3.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
