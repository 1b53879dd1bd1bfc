package osv

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRealEntries(t *testing.T) {
	files, err := filepath.Glob("../fixture/osv/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		e, err := Parse(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if e.ID+".json" != filepath.Base(f) {
			t.Errorf("%s: id %s", f, e.ID)
		}
		if len(e.Affected) == 0 {
			t.Errorf("%s: no affected", f)
		}
	}
}

func TestParseGoSpecificImports(t *testing.T) {
	data, err := os.ReadFile("../fixture/osv/GO-2024-3333.json")
	if err != nil {
		t.Fatal(err)
	}
	e, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if e.CVE() != "CVE-2024-45338" {
		t.Errorf("CVE = %q", e.CVE())
	}
	imps := e.Affected[0].EcosystemSpecific.Imports
	if len(imps) != 1 || imps[0].Path != "golang.org/x/net/html" {
		t.Fatalf("imports = %+v", imps)
	}
	found := false
	for _, s := range imps[0].Symbols {
		found = found || s == "Parse"
	}
	if !found {
		t.Errorf("Parse not among symbols %v", imps[0].Symbols)
	}
}

func TestParseRejects(t *testing.T) {
	cases := map[string]string{
		"not json":        `{"id": `,
		"no id":           `{"modified":"2024-01-01T00:00:00Z"}`,
		"path in id":      `{"id":"../../etc/passwd","modified":"2024-01-01T00:00:00Z"}`,
		"bad alias":       `{"id":"GO-1","aliases":["a b"],"modified":"2024-01-01T00:00:00Z"}`,
		"no package name": `{"id":"GO-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go"}}]}`,
		"two events":      `{"id":"GO-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}`,
		"bad time":        `{"id":"GO-1","modified":"yesterday"}`,
	}
	for name, in := range cases {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
	big := `{"id":"GO-1","details":"` + strings.Repeat("x", MaxEntrySize) + `"}`
	if _, err := Parse([]byte(big)); !errors.Is(err, ErrInvalid) {
		t.Errorf("oversized entry accepted: %v", err)
	}
}

func TestEcosystemSpecificToleratesOtherShapes(t *testing.T) {
	in := `{"id":"GHSA-x","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"x"},"ecosystem_specific":{"imports":"not a list","other":1}}]}`
	e, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Affected[0].EcosystemSpecific.Imports) != 0 {
		t.Error("imports read from a non-list")
	}
}

func TestLatestFix(t *testing.T) {
	ev := func(kv ...string) []Event {
		var out []Event
		for i := 0; i < len(kv); i += 2 {
			switch kv[i] {
			case "i":
				out = append(out, Event{Introduced: kv[i+1]})
			case "f":
				out = append(out, Event{Fixed: kv[i+1]})
			}
		}
		return out
	}
	cases := []struct {
		ranges []Range
		want   string
	}{
		{[]Range{{Type: RangeSemver, Events: ev("i", "0", "f", "0.33.0")}}, "0.33.0"},
		{[]Range{{Type: RangeSemver, Events: ev("i", "0", "f", "1.23.7", "i", "1.24.0-0", "f", "1.24.1")}}, "1.24.1"},
		// Introduced again after the last fix: no version is safe by being new.
		{[]Range{{Type: RangeSemver, Events: ev("i", "0", "f", "1.0.0", "i", "1.1.0")}}, ""},
		{[]Range{{Type: RangeSemver, Events: ev("i", "0")}}, ""},
		{[]Range{{Type: RangeGit, Events: ev("i", "0", "f", "abc")}}, ""},
	}
	for i, c := range cases {
		if got := LatestFix(c.ranges); got != c.want {
			t.Errorf("case %d: LatestFix = %q, want %q", i, got, c.want)
		}
	}
}

func TestAffects(t *testing.T) {
	r := []Range{{Type: RangeSemver, Events: []Event{{Introduced: "0"}, {Fixed: "1.23.7"}, {Introduced: "1.24.0-0"}, {Fixed: "1.24.1"}}}}
	cases := map[string]bool{
		"v1.22.0": true, "1.23.6": true, "v1.23.7": false, "v1.24.0": true, "go1.24.0": true,
		"v1.24.1": false, "v1.25.0": false, "v1.24.0-rc.1": true,
	}
	for v, want := range cases {
		if got := Affects(r, v); got != want {
			t.Errorf("Affects(%s) = %v, want %v", v, got, want)
		}
	}
	last := []Range{{Type: RangeSemver, Events: []Event{{Introduced: "1.0.0"}, {LastAffected: "1.2.0"}}}}
	for v, want := range map[string]bool{"v0.9.0": false, "v1.0.0": true, "v1.2.0": true, "v1.2.1": false} {
		if got := Affects(last, v); got != want {
			t.Errorf("last_affected: Affects(%s) = %v, want %v", v, got, want)
		}
	}
	if !Affects(nil, "v1.0.0") {
		t.Error("an entry without ranges affects every version")
	}
}

func TestCanonicalGo(t *testing.T) {
	for in, want := range map[string]string{
		"1.22":                              "v1.22.0",
		"go1.22.3":                          "v1.22.3",
		"v0.33.0":                           "v0.33.0",
		"go1.22rc1":                         "v1.22.0-rc.1",
		"0.0.0-20250721152936-fe86ceb2c3fa": "v0.0.0-20250721152936-fe86ceb2c3fa",
	} {
		if got := CanonicalGo(in); got != want {
			t.Errorf("CanonicalGo(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../fixture/osv/*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"id":"GO-1","affected":[{"package":{"name":"m","ecosystem":"Go"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if !ValidID(e.ID) {
			t.Fatalf("accepted invalid id %q", e.ID)
		}
		for _, a := range e.Affected {
			_ = LatestFix(a.Ranges)
			_ = Affects(a.Ranges, "v1.0.0")
		}
	})
}

func TestName(t *testing.T) {
	cases := []struct {
		id      string
		aliases []string
		want    string
	}{
		{"GO-2025-3503", []string{"GHSA-qxp5-gwg8-xv66", "CVE-2025-22870"}, "CVE-2025-22870"},
		{"CVE-2026-0001", []string{"GHSA-xxxx-xxxx-xxxx"}, "CVE-2026-0001"},
		{"GO-2024-0001", []string{"GHSA-qxp5-gwg8-xv66"}, "GO-2024-0001"},
		{"GO-2024-0002", nil, "GO-2024-0002"},
	}
	for _, c := range cases {
		if got := Name(c.id, c.aliases); got != c.want {
			t.Errorf("Name(%q, %q) = %q, want %q", c.id, c.aliases, got, c.want)
		}
	}
	if CVE("GO-2024-0002", []string{"GHSA-qxp5-gwg8-xv66"}) != "" {
		t.Error("CVE of an entry without one")
	}
}

func TestCompiledRange(t *testing.T) {
	events := []Event{{Introduced: "0"}, {Fixed: "1.2.0"}, {Introduced: "1.3.0"}, {LastAffected: "1.3.5"}, {Limit: "2.0.0"}}
	r, err := Compile(events, func(v string) (string, bool) { return CanonicalGo(v), true })
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]bool{"v1.0.0": true, "v1.2.0": false, "v1.3.0": true, "v1.3.5": true, "v1.3.6": false} {
		if got := r.Affects(v); got != want {
			t.Errorf("Affects(%s) = %v, want %v", v, got, want)
		}
		if got := Affects([]Range{{Type: RangeSemver, Events: events}}, v); got != want {
			t.Errorf("osv.Affects(%s) = %v, want %v", v, got, want)
		}
	}
	if r.Open() {
		t.Error("closed range reported open")
	}
	if _, err := Compile([]Event{{Fixed: "x"}}, func(string) (string, bool) { return "", false }); err == nil || err.Error() != `events[0]: "x" is not a semantic version` {
		t.Errorf("error = %v", err)
	}
	ranges := []Range{{Type: RangeSemver, Events: []Event{{Introduced: "0"}, {Fixed: "1.2.0"}, {Introduced: "1.3.0"}, {Fixed: "1.3.6"}}}}
	if got := FixedAfter(ranges, "v1.3.1"); got != "1.3.6" {
		t.Errorf("FixedAfter = %q", got)
	}
	if got := FixedAfter(ranges, "not-a-version"); got != "1.2.0" {
		t.Errorf("FixedAfter of no version = %q", got)
	}
}
