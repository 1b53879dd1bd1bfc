package vexformat

import (
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/vexloom/vexloom/internal/schematest"
	"github.com/vexloom/vexloom/internal/vex"
)

// Each format written is detected as itself, valid against its schema
// where it has one, and read back to the same statements.
func TestEveryFormatRoundTrips(t *testing.T) {
	b, err := os.ReadFile("../csaf/testdata/release.openvex.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := vex.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range vex.Facts(doc) {
		want = append(want, f.String())
	}
	for _, f := range Formats {
		out, err := Marshal(doc, f, Options{Namespace: "https://kubernetes.io"})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch f {
		case CSAF:
			err = schematest.Validate(schematest.CSAF, out)
		case CycloneDX:
			err = schematest.Validate(schematest.CycloneDX, out)
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		back, got, err := Parse(out)
		if err != nil || got != f {
			t.Fatalf("%s: read back as %s: %v", f, got, err)
		}
		var have []string
		for _, fa := range vex.Facts(back) {
			have = append(have, fa.String())
		}
		if !slices.Equal(have, want) {
			t.Errorf("%s: round trip changed the statements", f)
		}
	}
}

func TestDetectRefuses(t *testing.T) {
	for _, in := range []string{"", "[1]", `{"statements":[]}`, `{"bomFormat":`, "\x00{}"} {
		if _, _, err := Parse([]byte(in)); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("%q: got %v, want ErrUnknownFormat", in, err)
		}
	}
	if _, err := ParseFormat("spdx"); err == nil {
		t.Error("spdx accepted as a VEX format")
	}
}
