// Package ci holds example CI configurations that run vexloom's release
// gate: a GitHub Actions workflow (gate.yaml) and Prow jobs
// (prow-job.yaml). The test keeps them valid YAML and their command lines
// within the documented shape of `vexloom gate`.
package ci

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// gateFlags are the flags of `vexloom gate` (issue 6, "The command line").
var gateFlags = map[string]bool{
	"--release": true, "--scan": true, "--vex": true, "--key": true,
	"--certificate-identity": true, "--certificate-oidc-issuer": true,
	"--allow-unsigned": true, "--policy": true, "--format": true, "--attest-result": true,
}

var flagPattern = regexp.MustCompile(`(?:^|\s)(--[a-z-]+)`)

func TestExamples(t *testing.T) {
	for _, file := range []string{"gate.yaml", "prow-job.yaml"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatalf("not valid YAML: %v", err)
			}
			// Join continued lines, then check every gate invocation.
			text := strings.ReplaceAll(string(data), "\\\n", " ")
			n := 0
			for _, line := range strings.Split(text, "\n") {
				line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
				i := strings.Index(line, "cmd/vexloom@latest gate ")
				if i < 0 {
					continue
				}
				n++
				args := line[i:]
				for _, m := range flagPattern.FindAllStringSubmatch(args, -1) {
					if !gateFlags[m[1]] {
						t.Errorf("%s uses %s, which vexloom gate does not have: %s", file, m[1], args)
					}
				}
				verify := strings.Contains(args, "--key ") || strings.Contains(args, "--certificate-identity ")
				if !verify || strings.Contains(args, "--allow-unsigned") {
					t.Errorf("%s runs the gate without verifying VEX signatures: %s", file, args)
				}
				if !strings.Contains(args, "--release ") && !strings.Contains(args, "--scan ") {
					t.Errorf("%s names no release point: %s", file, args)
				}
			}
			if n < 2 {
				t.Errorf("%s runs the gate %d times; want at least 2", file, n)
			}
		})
	}
}
