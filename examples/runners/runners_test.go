// Package runners holds examples that run `vexloom update` on a scheduler a
// project already has, one runner per branch against one PostgreSQL store:
// a Kubernetes Indexed Job, Prow periodics and a GitHub Actions matrix. The
// test keeps them valid YAML, their command lines within the flags of
// `vexloom update`, and passwords out of their store URLs.
package runners

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

var updateFlags = map[string]bool{"--config": true, "--branch": true, "--store": true, "--format": true}

var (
	flagPattern     = regexp.MustCompile(`(?:^|\s)(--[a-z-]+)`)
	passwordInURL   = regexp.MustCompile(`postgres(?:ql)?://[^@\s/]*:[^@\s/]*@`)
	passwordInQuery = regexp.MustCompile(`postgres(?:ql)?://\S*[?&]password=`)
)

func TestExamples(t *testing.T) {
	for _, file := range []string{"kubernetes-indexed-job.yaml", "prow-periodic.yaml", "github-actions-matrix.yaml"} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dec := yaml.NewDecoder(strings.NewReader(string(data)))
			docs := 0
			for {
				var doc map[string]any
				if err := dec.Decode(&doc); err != nil {
					if err.Error() == "EOF" {
						break
					}
					t.Fatalf("not valid YAML: %v", err)
				}
				docs++
			}
			if docs == 0 {
				t.Fatal("no YAML document")
			}
			n := 0
			for _, line := range strings.Split(string(data), "\n") {
				i := strings.Index(line, "cmd/vexloom@latest update ")
				if i < 0 {
					continue
				}
				n++
				args := line[i:]
				for _, m := range flagPattern.FindAllStringSubmatch(args, -1) {
					if !updateFlags[m[1]] {
						t.Errorf("%s uses %s, which vexloom update does not have: %s", file, m[1], args)
					}
				}
				if !strings.Contains(args, "--branch ") || !strings.Contains(args, "--store ") {
					t.Errorf("%s: a runner must name its branch and the shared store: %s", file, args)
				}
			}
			if n == 0 {
				t.Errorf("%s runs no vexloom update", file)
			}
			if passwordInURL.Match(data) || passwordInQuery.Match(data) {
				t.Errorf("%s puts a password in a store URL", file)
			}
			if !strings.Contains(string(data), "PGPASSWORD") {
				t.Errorf("%s does not say where the password comes from", file)
			}
		})
	}
}
