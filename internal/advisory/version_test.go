package advisory

import (
	"testing"

	"github.com/vexloom/vexloom/internal/osv"
)

func TestJudge(t *testing.T) {
	// CVE-2025-2001's shape: open from the start to 1.31.12, 1.32.0 to
	// 1.32.8, 1.33.0 up to and including 1.33.3.
	ranges, err := compileRanges([]osv.Range{{Type: osv.RangeSemver, Events: []osv.Event{
		{Introduced: "0"}, {Fixed: "1.31.12"}, {Introduced: "1.32.0"}, {Fixed: "1.32.8"}, {Introduced: "1.33.0"}, {LastAffected: "1.33.3"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		v, status, fix, after string
		sameLine              bool
	}{
		{"v1.30.9", "affected", "v1.31.12", "", false}, // no fix in its line: the next line's
		{"v1.31.11", "affected", "v1.31.12", "", true},
		{"v1.31.12", "fixed", "v1.31.12", "", true},
		{"v1.31.20", "fixed", "v1.31.12", "", true},
		{"v1.32.0", "affected", "v1.32.8", "", true},
		{"v1.32.8", "fixed", "v1.32.8", "", true},
		{"v1.33.3", "affected", "", "v1.33.3", false}, // last_affected: no fix version known
		{"v1.33.4", "fixed", "", "v1.33.3", true},
		{"v1.34.0", "fixed", "", "v1.33.3", false},         // a newer line than any named, past every fix
		{"v1.35.0-alpha.1", "fixed", "", "v1.33.3", false}, // the main branch
	} {
		got := judge(ranges, nil, nil, c.v)
		if got.status != c.status || got.fix != c.fix || got.after != c.after || got.sameLine != c.sameLine {
			t.Errorf("%s: got %+v, want %s fix=%q after=%q sameLine=%v", c.v, got, c.status, c.fix, c.after, c.sameLine)
		}
	}

	// Introduced late: older versions are not concerned, nor a line the
	// advisory skips while a range is still open.
	late, _ := compileRanges([]osv.Range{{Type: osv.RangeEcosystem, Events: []osv.Event{{Introduced: "1.32.2"}, {Fixed: "1.32.4"}}}})
	for _, v := range []string{"v1.31.0", "v1.32.1"} {
		if got := judge(late, nil, nil, v); got.status != "" {
			t.Errorf("%s: %+v, want not concerned", v, got)
		}
	}
	open, _ := compileRanges([]osv.Range{{Type: osv.RangeSemver, Events: []osv.Event{{Introduced: "1.30.0"}, {Fixed: "1.30.5"}, {Introduced: "1.31.0"}}}})
	if got := judge(open, nil, nil, "v1.40.0"); got.status != "affected" || got.fix != "" {
		t.Errorf("open range: %+v", got)
	}
	if got := judge(open, nil, nil, "v1.30.6"); got.status != "fixed" {
		t.Errorf("past the fix of an open advisory: %+v", got)
	}

	// Explicit versions and fixes, as the feed gives them.
	if got := judge(nil, []string{"v1.0.0"}, []string{"v1.0.1"}, "v1.0.0"); got.status != "affected" || got.fix != "v1.0.1" {
		t.Errorf("listed version: %+v", got)
	}
	if got := judge(nil, []string{"v1.0.0"}, []string{"v1.0.1"}, "v1.0.1"); got.status != "fixed" {
		t.Errorf("fixed version: %+v", got)
	}
	if got := judge(nil, []string{"v1.0.0"}, []string{"v1.0.1"}, "v0.9.0"); got.status != "" {
		t.Errorf("before the vulnerability: %+v", got)
	}
}

func TestCompileRangesRejectsBadVersions(t *testing.T) {
	for _, r := range []osv.Range{
		{Type: osv.RangeSemver, Events: []osv.Event{{Introduced: "banana"}}},
		{Type: osv.RangeSemver, Events: []osv.Event{{Introduced: "0"}, {Fixed: "1.2.3.4"}}},
		{Type: "CALVER", Events: []osv.Event{{Introduced: "0"}}},
	} {
		if _, err := compileRanges([]osv.Range{r}); err == nil {
			t.Errorf("%+v: no error", r)
		}
	}
	// GIT ranges are skipped, not errors.
	got, err := compileRanges([]osv.Range{{Type: osv.RangeGit, Events: []osv.Event{{Introduced: "0"}, {Fixed: "abc123"}}}})
	if err != nil || len(got) != 0 {
		t.Errorf("GIT range: %v, %v", got, err)
	}
}
