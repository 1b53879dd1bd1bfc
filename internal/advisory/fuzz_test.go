package advisory

import (
	"errors"
	"strings"
	"testing"

	"github.com/openvex/go-vex/pkg/vex"
)

func fuzzProject() Project {
	p := kubernetesProject()
	p.Products = append(p.Products, Product{Kind: Release, Ref: "v1.0.0", Version: "v1.0.0"})
	return p
}

// checkStatements holds for every advisory, however hostile: statements are
// for configured products, affected ones have an action statement.
func checkStatements(t *testing.T, a Advisory, p Project) {
	stmts, err := a.Assess(p)
	if err != nil && !errors.Is(err, ErrInvalid) {
		t.Fatalf("error not ErrInvalid: %v", err)
	}
	seen := map[string]bool{}
	for _, s := range stmts {
		if seen[s.Product.Ref] {
			t.Fatalf("two statements for %s", s.Product.Ref)
		}
		seen[s.Product.Ref] = true
		switch s.Status {
		case vex.StatusAffected:
			if strings.TrimSpace(s.Action) == "" {
				t.Fatalf("affected without action: %+v", s)
			}
		case vex.StatusFixed:
		default:
			t.Fatalf("status %q", s.Status)
		}
		if len(s.Components) == 0 {
			t.Fatalf("statement with no component: %+v", s)
		}
	}
}

func FuzzParseFeed(f *testing.F) {
	f.Add(readTestdata(f, "feed.json"))
	f.Add(readTestdata(f, "demo/feed.json"))
	for _, s := range []string{
		``, `{}`, `[]`, `null`,
		`{"version":"https://jsonfeed.org/version/1.1","items":[]}`,
		`{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"CVE-1","content_text":"#### Affected Versions\n- kubelet v1.2.0 - v1.1.0\n- <= v9\n#### Fixed Versions\n- v1.2.1"}]}`,
		`{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"CVE-1","summary":"x","content_text":"**Affected Versions**\n* kubectl >= v1.0.0 <= v0.1.0\n* kube-apiserver v1.30.0-v1.30.2\n","date_published":"2025-01-01T00:00:00+02:00"}]}`,
		`{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"CVE-1, CVE-2","date_published":"2025-02-30T00:00:00Z"}],"_kubernetes_io":{"updated_at":"x"}}`,
		`{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"CVE-1","_kubernetes_io":{"issue_number":"1e400"}}]}`,
	} {
		f.Add([]byte(s))
	}
	p := fuzzProject()
	f.Fuzz(func(t *testing.T, data []byte) {
		feed, err := ParseFeed(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		for _, it := range feed.Items {
			if len(it.IDs) == 0 {
				t.Fatal("item without ID")
			}
		}
		for _, a := range feed.Advisories("fuzz") {
			if len(a.Mitigations) > maxMitigation+8 || strings.ContainsAny(a.Mitigations, "\x00\n\t") {
				t.Fatalf("mitigation %q", a.Mitigations)
			}
			checkStatements(t, a, p)
		}
	})
}

func FuzzParseOSV(f *testing.F) {
	for _, name := range []string{"osv/CVE-2025-2001.json", "osv/CVE-2025-2002.json", "osv/GHSA-k8s1-ctl2-0003.json", "demo/CVE-2026-0001.json"} {
		f.Add(readTestdata(f, name))
	}
	for _, s := range []string{
		``, `[]`, `{}`, `[{}]`, `{"id":"CVE-1"}`,
		`{"id":"CVE-1","published":"2025-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Kubernetes","name":"kubelet"},"ranges":[{"type":"SEMVER","events":[{"introduced":"banana"}]}]}]}`,
		`{"id":"CVE-1","affected":[{"package":{"ecosystem":"Go","name":"k8s.io/kubernetes"},"ranges":[{"type":"ECOSYSTEM","events":[{"fixed":"1.0.0"},{"introduced":"2.0.0"},{"last_affected":"0.5.0"}]}],"versions":["x"]}]}`,
		`{"id":"CVE-1","affected":[{"package":{"ecosystem":"kubernetes","name":"kube-apiserver"},"severity":"CVSS","ranges":[{"type":"GIT","events":[{"introduced":"0"}]}]}]}`,
		`[{"id":"A"},{"id":"B","withdrawn":"2025-01-01T00:00:00Z"}]`,
	} {
		f.Add([]byte(s))
	}
	p := fuzzProject()
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, _, err := ParseOSV(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			return
		}
		var advs []Advisory
		for _, e := range entries {
			a := FromOSV(e, "fuzz")
			if a.ID == "" {
				t.Fatal("advisory without ID")
			}
			advs = append(advs, a)
		}
		for _, a := range merge(advs) {
			checkStatements(t, a, p)
		}
	})
}
