package jsonx

import (
	"strings"
	"testing"
	"time"

	"github.com/openvex/go-vex/pkg/vex"
)

func TestMarshalDoesNotEscapeHTMLInsideMarshalers(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	doc := vex.VEX{
		Metadata: vex.Metadata{Context: vex.ContextLocator(), ID: "x", Author: "a <b@example.com>", Timestamp: &ts, Version: 1},
		Statements: []vex.Statement{{
			Vulnerability:   vex.Vulnerability{Name: "CVE-1"},
			Status:          vex.StatusNotAffected,
			Justification:   vex.VulnerableCodeNotPresent,
			ImpactStatement: "a && b <c>",
			Timestamp:       &ts,
		}},
	}
	b, err := Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"a <b@example.com>", "a && b <c>"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q unescaped:\n%s", want, s)
		}
	}
	if strings.Contains(s, `\u003c`) || strings.Contains(s, `\u0026`) {
		t.Errorf("output is HTML-escaped:\n%s", s)
	}
	again, err := Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != s {
		t.Error("two encodings of the same value differ")
	}
	if !strings.HasSuffix(s, "}\n") {
		t.Error("output does not end with a newline")
	}
}

func TestMarshalKeepsLargeNumbersExact(t *testing.T) {
	b, err := Compact(map[string]any{"n": int64(9007199254740993)})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"n":9007199254740993}` {
		t.Errorf("got %s", b)
	}
}
