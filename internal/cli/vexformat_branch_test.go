package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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

// vex --branch B --format csaf|cyclonedx gives the statements of the
// branch's OpenVEX document, valid against the official schemas.
func TestBranchVEXFormats(t *testing.T) {
	cache := t.TempDir()
	fixture.Database(t, cache)
	dir := t.TempDir()
	vars := append(os.Environ(), "SOURCE_DATE_EPOCH=1795000000")
	runCmd := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		g := &globals{now: func() time.Time { return fixture.Now }, env: vars}
		if code := run(context.Background(), g, append([]string{"--cache-dir", cache}, args...), strings.NewReader(""), &out, &errb); code != 0 {
			t.Fatalf("vexloom %s: exit %d: %s", strings.Join(args, " "), code, errb.String())
		}
		return out.String()
	}
	if _, err := demo.Create(context.Background(), filepath.Join(dir, "repo")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "vexloom.yaml")
	runCmd("init", "-o", cfg, "--module", demo.Module, "--repository", "repo", "--branch", "main")
	runCmd("update", "--config", cfg, "-q")
	facts := func(out string) []string {
		doc, _, err := vexformat.Parse([]byte(out))
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, f := range vex.Facts(doc) {
			s = append(s, f.String())
		}
		return s
	}
	want := facts(runCmd("vex", "--branch", "main", "--config", cfg))
	if len(want) == 0 {
		t.Fatal("the branch document states nothing")
	}
	for format, schema := range map[string]string{"csaf": schematest.CSAF, "cyclonedx": schematest.CycloneDX} {
		out := runCmd("vex", "--branch", "main", "--format", format, "--config", cfg)
		if err := schematest.Validate(schema, []byte(out)); err != nil {
			t.Errorf("--format %s: %v", format, err)
		}
		if got := facts(out); !slices.Equal(got, want) {
			t.Errorf("--format %s states something else than the branch's OpenVEX document", format)
		}
	}
}
