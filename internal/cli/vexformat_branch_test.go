package cli

import (
	"bytes"
	"context"
	"encoding/json"
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
	t.Parallel()
	cache := t.TempDir()
	fixture.Database(t, cache)
	useSharedScans(t, cache)
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
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withFeed := strings.Replace(string(text), "# feed_format: openvex", "feed_format: csaf", 1)
	if withFeed == string(text) {
		t.Fatal("the starter file has no feed_format line")
	}
	if err := os.WriteFile(cfg, []byte(withFeed), 0o644); err != nil {
		t.Fatal(err)
	}
	runCmd("update", "--config", cfg, "-q")

	// The feed carries CSAF, as configured.
	index, err := os.ReadFile(filepath.Join(dir, "vex", "feed", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Packages []struct{ ID, Location, Format string }
	}
	if err := json.Unmarshal(index, &idx); err != nil || len(idx.Packages) == 0 {
		t.Fatalf("feed index: %v\n%s", err, index)
	}
	for _, p := range idx.Packages {
		b, err := os.ReadFile(filepath.Join(dir, "vex", "feed", filepath.FromSlash(p.Location)))
		if err != nil {
			t.Fatal(err)
		}
		if p.Format != "csaf" {
			t.Errorf("%s: format %q", p.ID, p.Format)
		}
		if err := schematest.Validate(schematest.CSAF, b); err != nil {
			t.Errorf("%s: %v", p.Location, err)
		}
	}
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
