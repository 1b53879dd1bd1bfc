package owners

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// kubernetes is a repository shaped like Kubernetes: a root OWNERS in the
// filters form, aliases (one naming another, two naming each other),
// vendor/OWNERS for dependency approvers, staging directories with
// no_parent_owners, comments, mixed case and names listed twice, two
// malformed files and files in directories that are not read.
var kubernetes = map[string]string{
	"OWNERS_ALIASES": `# See the OWNERS docs at https://go.k8s.io/owners#owners_aliases
aliases:
  sig-release-leads:
    - cpanato # SIG Technical Lead
    - jeremyrickard
    - Justaugustus
    - saschagrunert
    - cpanato
  release-engineering-approvers:
    - sig-release-leads # an alias inside an alias
    - puerco
  dep-approvers:
    - BenTheElder
    - dims
    - liggitt
  dep-reviewers:
    - logicalhan
  security-response-committee:
    - cjcullen
    - tabbysable
  sig-api-machinery-api-approvers:
    - deads2k
    - jpbetz
  loop-a: [loop-b, zed]
  loop-b: [loop-a, yan]
`,
	"OWNERS": `# See the OWNERS docs at https://go.k8s.io/owners
filters:
  ".*":
    reviewers:
      - thockin
      - reviewer-rita
    approvers:
      - dims
      - Thockin
      - sig-release-leads
    labels:
      - sig/release
  "\\.md$":
    approvers:
      - docs-dora
emeritus_approvers:
  - lavalamp # taking a long break
  - old-oscar
`,
	"vendor/OWNERS": `# See the OWNERS docs at https://go.k8s.io/owners
options:
  # make root approval non-recursive
  no_parent_owners: true
approvers:
  - dep-approvers
reviewers:
  - dep-reviewers
labels:
  - area/dependency
`,
	"pkg/OWNERS": `options:
  no_parent_owners: true
reviewers:
  - dchen1107
  - pat-reviewer
approvers:
  - dchen1107
  - liggitt
emeritus_approvers:
  - lavalamp
`,
	"pkg/kubelet/OWNERS": `filters:
  ".*":
    approvers:
      - kubelet-kim
    reviewers:
      - kubelet-ken
  "\\.go$":
    approvers:
      - go-gopher
`,
	"staging/OWNERS": `approvers:
  - staging-sam
`,
	"staging/src/k8s.io/apiserver/OWNERS": `options:
  no_parent_owners: true
approvers:
  - sig-api-machinery-api-approvers
  - sttts
  - STTTS
reviewers:
  - rev-rob
required_reviewers:
  - req-ray
emeritus_approvers:
  - ex-eve
emeritus_reviewers:
  - ex-ed
`,
	"test/e2e/OWNERS": `approvers:
  - loop-a
  - release-engineering-approvers
`,
	"hack/OWNERS":               "approvers: alice\n",
	"cmd/OWNERS":                "approvers:\n  - bob\n reviewers: [\n",
	"testdata/OWNERS":           "approvers: [test-tom]\n",
	"pkg/api/testdata/OWNERS":   "approvers: [test-tina]\n",
	".github/OWNERS":            "approvers: [dot-dan]\n",
	"_output/OWNERS":            "approvers: [under-uma]\n",
	"pkg/kubelet/cm/cm.go":      "package cm\n",
	"docs/OWNERS.md":            "not an OWNERS file\n",
	"staging/OWNERS_ALIASES":    "aliases: {x: [staging-alias-user]}\n",
	"pkg/kubelet/OWNERS_README": "approvers: [nobody]\n",
}

// readMap reads files from a map, as Load's read.
func readMap(files map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		s, ok := files[p]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(s), nil
	}
}

// loadMap loads a tree from a map of paths to contents.
func loadMap(t testing.TB, files map[string]string) (*Tree, []Warning) {
	t.Helper()
	tree, warnings, err := Load(slices.Sorted(maps.Keys(files)), readMap(files))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tree, warnings
}

// writeTree writes files under a new temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, s := range files {
		name := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
