package ghbackend

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/triage"
)

// A triage larger than an issue can hold (long advisory details, many
// modules and traces) gets an issue cut to fit, not a 422 that would stop
// every triage after it.
func TestLargeTriageFitsInAnIssue(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A monorepo with 800 modules, each calling the vulnerable code.
	var fs []triage.ModuleFinding
	for i := range 800 {
		f := finding("GO-2025-3503", "CVE-2025-22870", scan.LevelSymbol)
		f.Module = fmt.Sprintf("k8s.io/kubernetes/staging/src/k8s.io/component-ünïcödé-%03d", i)
		fs = append(fs, f)
	}
	e.observe(e.st, fs...)
	b := e.backend(e.st)
	e.mustRun(b)
	is := e.onlyIssue()
	if n := utf8.RuneCountInString(is.Body); n > 65536 {
		t.Fatalf("issue body of %d characters", n)
	}
	if !strings.Contains(is.Body, "cut here") || !utf8.ValidString(is.Body) {
		t.Errorf("the body does not say it was cut, or is not valid UTF-8")
	}
	if _, _, _, err := ParseIssueBody(is.Body); err != nil {
		t.Errorf("the cut body lost its data block: %v", err)
	}
}
