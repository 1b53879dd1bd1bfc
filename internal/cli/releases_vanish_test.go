package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/vexloom/vexloom/internal/release"
)

// update's lines for the tracked releases: a release kept at its recorded
// commit says why in its own warning line; releases the configuration no
// longer selects are one line, told apart from any failure, naming at
// most five.
func TestWriteKeptReleasesDropped(t *testing.T) {
	t.Parallel()
	note := "release v1.0.1: the tag no longer exists; the recorded commit stays covered (0123456789ab)"
	k := &keptReleases{Releases: []release.Kept{{Release: "v1.0.1", Branch: "release-1.0", Commit: "0123456789abcdef", Version: 2, Statements: 3, Warnings: []string{note}}}}
	for i := range 7 {
		k.Dropped = append(k.Dropped, release.Point{Name: "v0.9." + string(rune('0'+i))})
	}
	var buf bytes.Buffer
	writeKeptReleases(&buf, k)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"release v1.0.1       0123456789ab on release-1.0  3 statements  VEX v2 unchanged",
		"warning: " + note,
		"7 releases no longer selected by the releases section, their documents left as last written: v0.9.0, v0.9.1, v0.9.2, v0.9.3, v0.9.4, and 2 more",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), strings.Join(want, "\n"))
	}
	if len(k.failures()) != 0 {
		t.Errorf("dropped releases are failures: %v", k.failures())
	}
	buf.Reset()
	k.Dropped = k.Dropped[:1]
	writeKeptReleases(&buf, k)
	if !strings.HasSuffix(buf.String(), "1 release no longer selected by the releases section, its document left as last written: v0.9.0\n") {
		t.Errorf("one dropped:\n%s", buf.String())
	}

	// What the lines quote from outside (a file name in the binaries
	// directory, a registry's error) cannot drive the terminal.
	buf.Reset()
	k.Releases[0].Warnings = []string{"release v1.0.1: binary demo\x1b[2J\x1b]0;owned\x07 (sha256:0123) is no longer in dist"}
	k.Releases[0].Failures = []string{"release v1.0.1: publishing version 2 to oci:r: \x1b[31mDENIED\nforged line"}
	writeKeptReleases(&buf, k)
	if strings.ContainsAny(buf.String(), "\x1b\x07") || strings.Count(buf.String(), "\n") != 4 {
		t.Errorf("outside text reaches the terminal unescaped:\n%q", buf.String())
	}
}
