package cli

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
	"github.com/vexloom/vexloom/internal/fixture"
	"github.com/vexloom/vexloom/internal/schematest"
	"github.com/vexloom/vexloom/internal/vex"
	"github.com/vexloom/vexloom/internal/vexformat"
)

// scan --format csaf and --format cyclonedx write the statements of
// --format openvex, in documents valid against the official CSAF 2.0 and
// CycloneDX 1.6 schemas, the same bytes each time.
func TestScanVEXFormats(t *testing.T) {
	t.Parallel()
	cache := t.TempDir()
	fixture.Database(t, cache)
	useSharedScans(t, cache)
	repo := fixture.DemoRepo(t)
	vars := append(os.Environ(), "SOURCE_DATE_EPOCH=1795000000")
	runVEX := func(format string) string {
		t.Helper()
		var out, errb bytes.Buffer
		g := &globals{now: func() time.Time { return fixture.Now }, env: vars}
		code := run(context.Background(), g, []string{"--cache-dir", cache, "scan", "--branch", demo.MainBranch, "--format", format, repo.Dir},
			strings.NewReader(""), &out, &errb)
		if code != 0 {
			t.Fatalf("--format %s: exit %d: %s", format, code, errb.String())
		}
		return out.String()
	}
	facts := func(format, out string) []string {
		t.Helper()
		doc, got, err := vexformat.Parse([]byte(out))
		if err != nil || string(got) != format {
			t.Fatalf("--format %s reads back as %s: %v", format, got, err)
		}
		var s []string
		for _, f := range vex.Facts(doc) {
			s = append(s, f.String())
		}
		return s
	}
	want := facts("openvex", runVEX("openvex"))
	if len(want) == 0 {
		t.Fatal("the scan stated nothing")
	}
	for format, schema := range map[string]string{"csaf": schematest.CSAF, "cyclonedx": schematest.CycloneDX} {
		out := runVEX(format)
		if err := schematest.Validate(schema, []byte(out)); err != nil {
			t.Errorf("--format %s does not validate: %v", format, err)
		}
		if got := facts(format, out); !slices.Equal(got, want) {
			t.Errorf("--format %s states something else than openvex:\n%s\n\nwant:\n%s", format, strings.Join(got, "\n\n"), strings.Join(want, "\n\n"))
		}
		if again := runVEX(format); again != out {
			t.Errorf("--format %s: two runs differ", format)
		}
	}
}
