package attest

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	openvex "github.com/openvex/go-vex/pkg/vex"

	"github.com/vexloom/vexloom/internal/vex"
)

// Digests of the demo products: a binary and one image platform.
var (
	binarySHA256 = hexSum256("kube-apiserver binary")
	binarySHA512 = hexSum512("kube-apiserver binary")
	imageSHA256  = hexSum256("kube-apiserver image linux/amd64")
	depSHA256    = hexSum256("golang.org/x/net module zip")
)

func hexSum256(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
func hexSum512(s string) string { h := sha512.Sum512([]byte(s)); return hex.EncodeToString(h[:]) }

const imagePURL = "pkg:oci/kube-apiserver@sha256:%s?arch=amd64&repository_url=registry.k8s.io/kube-apiserver"

// demoDocument is a release VEX in the shape assemble writes: the module,
// a binary by hash and an image platform by digest, each with the
// dependency as subcomponent.
func demoDocument(t testing.TB) *openvex.VEX {
	t.Helper()
	ts := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	doc := vex.NewDocument("vexloom test", "vexloom", ts)
	dep := openvex.Subcomponent{Component: openvex.Component{
		ID:     "pkg:golang/golang.org/x/net@v0.35.0",
		Hashes: map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(depSHA256)},
	}}
	image := strings.Replace(imagePURL, "%s", imageSHA256, 1)
	doc.Statements = []openvex.Statement{{
		Vulnerability: vex.Vulnerability{ID: "GO-2025-3503", Aliases: []string{"CVE-2025-22870"}}.OpenVEX(),
		Timestamp:     &ts,
		Status:        openvex.StatusNotAffected,
		Justification: openvex.VulnerableCodeNotInExecutePath,
		Products: []openvex.Product{
			{Component: openvex.Component{ID: "pkg:golang/k8s.io/kubernetes@v1.34.2"}, Subcomponents: []openvex.Subcomponent{dep}},
			{Component: openvex.Component{ID: "kube-apiserver", Hashes: map[openvex.Algorithm]openvex.Hash{
				openvex.SHA256: openvex.Hash(binarySHA256), openvex.SHA512: openvex.Hash(binarySHA512),
			}}, Subcomponents: []openvex.Subcomponent{dep}},
			{Component: openvex.Component{ID: image}, Subcomponents: []openvex.Subcomponent{dep}},
		},
	}}
	if err := vex.Finalize(doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestStatementSubjects(t *testing.T) {
	doc := demoDocument(t)
	stmt, err := Statement(doc)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Statement(demoDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stmt, again) {
		t.Errorf("same document, different bytes:\n%s\n%s", stmt, again)
	}

	var raw struct {
		Type          string          `json:"_type"`
		PredicateType string          `json:"predicateType"`
		Subject       []Subject       `json:"subject"`
		Predicate     json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(stmt, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Type != "https://in-toto.io/Statement/v1" || raw.PredicateType != "https://openvex.dev/ns/v0.2.0" {
		t.Errorf("_type %q predicateType %q", raw.Type, raw.PredicateType)
	}
	// Products with digests only; the module (no digest) and the
	// subcomponent (which has one) are not subjects.
	want := []Subject{
		{Name: "kube-apiserver", Digest: map[string]string{"sha256": binarySHA256, "sha512": binarySHA512}},
		{Name: strings.Replace(imagePURL, "%s", imageSHA256, 1), Digest: map[string]string{"sha256": imageSHA256}},
	}
	gotJSON, _ := json.Marshal(raw.Subject)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("subjects\n got %s\nwant %s", gotJSON, wantJSON)
	}

	back, subjects, err := ReadStatement(stmt)
	if err != nil {
		t.Fatal(err)
	}
	if len(subjects) != 2 || back.ID != doc.ID || len(back.Statements) != 1 || back.Statements[0].Vulnerability.Name != "CVE-2025-22870" {
		t.Errorf("read back %d subjects, document %s with %d statements", len(subjects), back.ID, len(back.Statements))
	}
	if bytes.Contains(stmt, []byte("\\u003c")) || bytes.Contains(stmt, []byte("\n")) {
		t.Error("statement is HTML-escaped or not compact")
	}
}

func TestStatementNeedsADigest(t *testing.T) {
	doc := demoDocument(t)
	doc.Statements[0].Products = doc.Statements[0].Products[:1] // only the module
	_, err := Statement(doc)
	if !errors.Is(err, ErrNoSubject) {
		t.Fatalf("err = %v, want ErrNoSubject", err)
	}
	if !strings.Contains(err.Error(), "digest") {
		t.Errorf("unclear error: %v", err)
	}
}

func TestStatementRejectsBadDigests(t *testing.T) {
	doc := demoDocument(t)
	doc.Statements[0].Products[1].Hashes[openvex.SHA256] = "abc"
	if _, err := Statement(doc); err == nil || !strings.Contains(err.Error(), "64 hex digits") {
		t.Errorf("short digest: err = %v", err)
	}

	doc = demoDocument(t)
	// The same image with a different digest in its hashes than in its purl.
	doc.Statements[0].Products[2].Hashes = map[openvex.Algorithm]openvex.Hash{openvex.SHA256: openvex.Hash(binarySHA256)}
	if _, err := Statement(doc); err == nil || !strings.Contains(err.Error(), "two sha256 digests") {
		t.Errorf("conflicting digests: err = %v", err)
	}
}

func TestReadStatement(t *testing.T) {
	stmt, err := Statement(demoDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(stmt, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	ok := map[string][]byte{
		"as written":           stmt,
		"any openvex version":  edit(func(m map[string]any) { m["predicateType"] = "https://openvex.dev/ns/v0.2.1" }),
		"openvex without ver":  edit(func(m map[string]any) { m["predicateType"] = "https://openvex.dev/ns" }),
		"legacy statement v01": edit(func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v0.1" }),
	}
	for name, b := range ok {
		if _, _, err := ReadStatement(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string]struct {
		data []byte
		want error
	}{
		"empty":             {nil, ErrMalformed},
		"array":             {[]byte(`[]`), ErrMalformed},
		"not in-toto":       {edit(func(m map[string]any) { m["_type"] = "https://example.com/x" }), ErrMalformed},
		"no subject":        {edit(func(m map[string]any) { delete(m, "subject") }), ErrMalformed},
		"subject no digest": {edit(func(m map[string]any) { m["subject"] = []any{map[string]any{"name": "x"}} }), ErrMalformed},
		"short digest": {edit(func(m map[string]any) {
			m["subject"] = []any{map[string]any{"name": "x", "digest": map[string]any{"sha256": "ab"}}}
		}), ErrMalformed},
		"spdx":              {edit(func(m map[string]any) { m["predicateType"] = "https://spdx.dev/Document" }), ErrPredicate},
		"lookalike":         {edit(func(m map[string]any) { m["predicateType"] = "https://openvex.dev.evil/ns" }), ErrPredicate},
		"no predicate":      {edit(func(m map[string]any) { delete(m, "predicate") }), ErrPredicate},
		"predicate not vex": {edit(func(m map[string]any) { m["predicate"] = map[string]any{"spdxVersion": "SPDX-2.3"} }), ErrPredicate},
	}
	for name, c := range bad {
		_, _, err := ReadStatement(c.data)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", name, err, c.want)
		}
	}
}

func TestParseDigest(t *testing.T) {
	d, err := ParseDigest("SHA256:" + strings.ToUpper(imageSHA256))
	if err != nil || d.Algorithm != "sha256" || d.Hex != imageSHA256 || d.String() != "sha256:"+imageSHA256 {
		t.Errorf("ParseDigest = %+v, %v", d, err)
	}
	for _, s := range []string{"", "sha256", "md5:" + imageSHA256[:32], "sha256:" + imageSHA256[:63] + "g", "sha512:" + imageSHA256} {
		if _, err := ParseDigest(s); err == nil {
			t.Errorf("ParseDigest(%q) accepted", s)
		}
	}
}

func FuzzReadStatement(f *testing.F) {
	stmt, err := Statement(demoDocument(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(stmt)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"` + imageSHA256 + `"}}],"predicateType":"https://openvex.dev/ns/v0.2.0","predicate":{}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicate":null}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, subjects, err := ReadStatement(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrPredicate) {
				t.Fatalf("error wraps neither ErrMalformed nor ErrPredicate: %v", err)
			}
			return
		}
		if doc == nil || len(subjects) == 0 {
			t.Fatal("accepted without a document or subjects")
		}
	})
}
