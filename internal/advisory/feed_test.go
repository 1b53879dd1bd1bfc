package advisory

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/osv"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseFeed(t *testing.T) {
	f, err := ParseFeed(readTestdata(t, "feed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 5, 30, 8, 0, 4, 0, time.UTC); !f.RefreshedAt.Equal(want) {
		t.Errorf("feed_refreshed_at = %v", f.RefreshedAt)
	}
	if want := time.Date(2026, 5, 29, 17, 12, 40, 0, time.UTC); !f.UpdatedAt.Equal(want) {
		t.Errorf("updated_at = %v", f.UpdatedAt)
	}
	if len(f.Items) != 5 || len(f.Problems) != 0 {
		t.Fatalf("%d items, problems %v", len(f.Items), f.Problems)
	}
	it := f.Items[0]
	if it.IDs[0] != "CVE-2025-1001" || it.IssueNumber != 900001 || !strings.Contains(it.GoogleGroupURL, "kubernetes-announce") ||
		it.URL != "https://github.com/kubernetes/kubernetes/issues/900001" || !it.DatePublished.Equal(time.Date(2025, 6, 1, 17, 0, 0, 0, time.UTC)) {
		t.Errorf("item 0: %+v", it)
	}
	if got := f.Items[4].IDs; len(got) != 2 || got[0] != "CVE-2025-1005" || got[1] != "CVE-2025-1006" {
		t.Errorf("multi-ID item: %v", got)
	}

	advs := f.Advisories("feed")
	if len(advs) != 6 {
		t.Fatalf("%d advisories", len(advs))
	}
	a := advs[0]
	if len(a.Affected) != 1 || a.Affected[0].Component != "kube-apiserver" || len(a.Affected[0].Ranges) != 3 {
		t.Fatalf("affected: %+v", a.Affected)
	}
	if got := a.Affected[0].Fixed; strings.Join(got, " ") != "v1.33.4 v1.32.8 v1.31.12" {
		t.Errorf("fixed: %v", got)
	}
	if r := a.Affected[0].Ranges[2].Events; len(r) != 2 || r[0].Introduced != "0" || r[1].LastAffected != "v1.31.11" {
		t.Errorf("<= range: %+v", r)
	}
	if !strings.HasPrefix(a.Mitigations, "Disable the ExampleAdmission plugin") || strings.Contains(a.Mitigations, "Fixed") || strings.Contains(a.Mitigations, "Detection") {
		t.Errorf("mitigations: %q", a.Mitigations)
	}
	kubectl := advs[4].Affected[0]
	if kubectl.Component != "kubectl" || len(kubectl.Ranges) != 2 || kubectl.Ranges[1].Events[1].Fixed != "v1.31.6" {
		t.Errorf("kubectl: %+v", kubectl)
	}
	if !placeholder(advs[2].Summary, advs[2].Details) || !placeholder(advs[3].Summary, advs[3].Details) || placeholder(a.Summary, a.Details) {
		t.Error("placeholders not told apart")
	}
}

func TestParseContentForms(t *testing.T) {
	text := "**Affected Versions**\n" +
		"* `kube-proxy` v1.30.0-v1.30.2\n" +
		"- k8s.io/apiserver >= v1.28.0, < v1.28.9\n" +
		"- kube-proxy v1.29.0 to v1.29.5.\n" +
		"- v1.27.3\n" +
		"- kube-proxy all versions\n" + // not readable: skipped
		"- kube-proxy v1.31.0 - v1.30.0\n" + // backwards: skipped
		"- kube-proxy <= v1.2.x\n" + // not a version: skipped
		"Some prose that is not a bullet v1.0.0\n" +
		"## Fixed Versions\n" +
		"- v1.30.3\n" +
		"- kube-proxy >= v1.29.6\n"
	affected, mit := parseContent(text)
	if mit != "" {
		t.Errorf("mitigations %q", mit)
	}
	got := map[string]Affected{}
	for _, a := range affected {
		got[a.Component] = a
	}
	kp := got["kube-proxy"]
	if len(kp.Ranges) != 2 || kp.Ranges[0].Events[0].Introduced != "v1.30.0" || kp.Ranges[0].Events[1].LastAffected != "v1.30.2" ||
		kp.Ranges[1].Events[1].LastAffected != "v1.29.5" {
		t.Errorf("kube-proxy: %+v", kp)
	}
	if strings.Join(kp.Fixed, " ") != "v1.29.6 v1.30.3" {
		t.Errorf("kube-proxy fixes (own, then unscoped): %v", kp.Fixed)
	}
	api := got["k8s.io/apiserver"]
	if len(api.Ranges) != 1 || api.Ranges[0].Events[0].Introduced != "v1.28.0" || api.Ranges[0].Events[1].Fixed != "v1.28.9" {
		t.Errorf("apiserver: %+v", api)
	}
	if whole := got[""]; len(whole.Versions) != 1 || whole.Versions[0] != "v1.27.3" {
		t.Errorf("unscoped: %+v", whole)
	}
}

func TestCleanMitigationBounded(t *testing.T) {
	long := "### How do I mitigate this vulnerability?\n" + strings.Repeat("Restrict access to the node proxy endpoint. ", 100) + "\x00\x1b[31m"
	_, m := parseContent(long)
	if len(m) > maxMitigation+4 || !strings.HasSuffix(m, " …") || strings.ContainsAny(m, "\x00\x1b") {
		t.Errorf("mitigation of %d bytes: %q", len(m), m[len(m)-20:])
	}
}

func TestParseFeedHostile(t *testing.T) {
	for name, c := range map[string]struct {
		data string
		want string
	}{
		"not json":      {`<html>`, "not a JSON Feed"},
		"trailing":      {`{"version":"https://jsonfeed.org/version/1.1","items":[]} {}`, "after its JSON"},
		"rss version":   {`{"version":"2.0","items":[]}`, "not a JSON Feed version"},
		"no items":      {`{"version":"https://jsonfeed.org/version/1.1"}`, "no items array"},
		"items object":  {`{"version":"https://jsonfeed.org/version/1.1","items":{}}`, "not a JSON Feed"},
		"bad refreshed": {`{"version":"https://jsonfeed.org/version/1.1","items":[],"_kubernetes_io":{"feed_refreshed_at":"yesterday"}}`, "feed_refreshed_at"},
	} {
		_, err := ParseFeed([]byte(c.data))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want ErrInvalid with %q", name, err, c.want)
		}
	}
	// One byte over the limit, with a valid feed's start and end; the
	// bytes between are never written, so the case costs no memory the
	// parser does not touch.
	head, tail := `{"version":"https://jsonfeed.org/version/1.1","items":[],"x":"`, `"}`
	huge := make([]byte, MaxFeedSize+1)
	copy(huge, head)
	copy(huge[len(huge)-len(tail):], tail)
	if _, err := ParseFeed(huge); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "more than the") {
		t.Errorf("huge: %v, want ErrInvalid with %q", err, "more than the")
	}

	items := `[
		{"id": 7},
		{"id": ""},
		{"id": "CVE-2025-1/../../etc"},
		{"id": "CVE-2025-0002", "date_published": "2025-13-45T00:00:00Z"},
		{"id": "CVE-2025-0003", "date_modified": "01/02/2025"},
		{"id": "CVE-2025-0004", "_kubernetes_io": {"issue_number": 1.5}},
		{"id": "CVE-2025-0005", "content_text": "` + strings.Repeat("x", maxItemText+1) + `"},
		"a string",
		{"id": "CVE-2025-0006", "date_published": "2025-01-01T00:00:00Z", "summary": "fine"}
	]`
	f, err := ParseFeed([]byte(`{"version":"https://jsonfeed.org/version/1","items":` + items + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Items) != 1 || f.Items[0].IDs[0] != "CVE-2025-0006" {
		t.Errorf("items kept: %+v", f.Items)
	}
	if len(f.Problems) != 8 {
		t.Errorf("%d problems: %+v", len(f.Problems), f.Problems)
	}
	for _, p := range f.Problems {
		if strings.Contains(p.Reason, "CVE-2025-0002") || p.Reason == "" {
			t.Errorf("problem %+v", p)
		}
	}
	if !strings.Contains(f.Problems[3].Reason, "date_published") || f.Problems[3].ID != "CVE-2025-0002" {
		t.Errorf("malformed date: %+v", f.Problems[3])
	}
}

func TestParseOSV(t *testing.T) {
	entries, problems, err := ParseOSV(readTestdata(t, "osv/GHSA-k8s1-ctl2-0003.json"))
	if err != nil || len(problems) != 0 || len(entries) != 1 {
		t.Fatal(entries, problems, err)
	}
	a := FromOSV(entries[0], "osv")
	if a.ID != "CVE-2025-2003" || len(a.Aliases) != 1 || a.Aliases[0] != "GHSA-k8s1-ctl2-0003" {
		t.Errorf("IDs: %s %v", a.ID, a.Aliases)
	}
	if len(a.Affected) != 1 || a.Affected[0].Component != "kubectl" || a.Affected[0].Ecosystem != "Kubernetes" {
		t.Errorf("only the Kubernetes package is kept: %+v", a.Affected)
	}
	if len(a.Severity) != 1 || a.Severity[0].Type != "CVSS_V4" || a.URL != "https://github.com/kubernetes/kubernetes/issues/900103" {
		t.Errorf("severity %v, url %s", a.Severity, a.URL)
	}

	entries, _, err = ParseOSV(readTestdata(t, "osv/CVE-2025-2001.json"))
	if err != nil {
		t.Fatal(err)
	}
	if s := entries[0].Severity; len(s) != 1 || s[0].Type != "CVSS_V3" {
		t.Errorf("affected[].severity not read: %v", s)
	}
	entries, _, _ = ParseOSV(readTestdata(t, "osv/CVE-2025-2002.json"))
	if w := FromOSV(entries[0], "osv").Withdrawn; w == nil || !w.Equal(time.Date(2025, 8, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("withdrawn %v", w)
	}

	// An array with one bad entry: the others still count.
	arr := `[` + string(readTestdata(t, "osv/CVE-2025-2001.json")) + `, {"id": "BAD", "affected": [{"package": {"name": ""}}]}, {"id": "X-1", "modified": "not a time"}]`
	entries, problems, err = ParseOSV([]byte(arr))
	if err != nil || len(entries) != 1 || len(problems) != 2 || problems[0].ID != "BAD" {
		t.Errorf("array: %d entries, %+v, %v", len(entries), problems, err)
	}
	for _, bad := range []string{"", "null", "42", `"x"`, "[1,"} {
		if _, _, err := ParseOSV([]byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%.10q: %v", bad, err)
		}
	}
	huge := make([]byte, MaxOSVSize+1) // never written: costs no memory the parser does not touch
	huge[0], huge[len(huge)-1] = '[', ']'
	if _, _, err := ParseOSV(huge); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "allowed") {
		t.Errorf("huge: %v, want ErrInvalid with %q", err, "allowed")
	}
}

func TestMerge(t *testing.T) {
	feed := Advisory{ID: "CVE-1", Published: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Mitigations: "do x", URL: "u1", Source: "feed", origin: originFeed,
		Affected: []Affected{{Component: "kubelet", Versions: []string{"v1.0.0"}}}}
	o := Advisory{ID: "GHSA-1", Aliases: []string{"CVE-1"}, Published: time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC), Source: "osv", origin: originOSV,
		Affected: []Affected{{Component: "k8s.io/kubelet", Ranges: []osv.Range{{Type: "SEMVER", Events: []osv.Event{{Introduced: "0"}}}}}}}
	got := merge([]Advisory{feed, o})
	if len(got) != 1 {
		t.Fatalf("%d advisories", len(got))
	}
	m := got[0]
	if m.ID != "CVE-1" || m.Mitigations != "do x" || m.Affected[0].Component != "k8s.io/kubelet" || !m.Published.Equal(o.Published) || m.Source != "feed, osv" {
		t.Errorf("merged: %+v", m)
	}
	o.Published = time.Time{}
	if got := merge([]Advisory{feed, o}); !got[0].Published.IsZero() {
		t.Error("an unknown publication time must stay unknown")
	}
}
