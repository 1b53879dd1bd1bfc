package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"

	"github.com/vexloom/vexloom/internal/atomicfile"
)

// Answer is one comment of the demo's script.
type Answer struct {
	Author, Body string
}

// Answers are the demo's answers to a triage that needs a person: one from
// a reviewer, whom the OWNERS file does not allow to decide, and one from
// an approver.
func Answers() []Answer {
	decision := "/not_affected:vulnerable_code_cannot_be_controlled_by_adversary\n" +
		"The demo only parses pages its operator supplies on stdin; no remote party controls that input."
	return []Answer{
		{Author: "demo-reviewer", Body: "LGTM\n" + decision},
		{Author: "demo-maintainer", Body: "Reviewed the call sites.\n" + decision + "\n/lgtm"},
	}
}

// WriteAdvisories writes the demo's own advisories (Advisories) into dir,
// creating it.
func WriteAdvisories(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := Advisories.ReadDir("advisories")
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := Advisories.ReadFile("advisories/" + e.Name())
		if err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Build builds the demo's command from the repository's work tree at
// repoDir (on main) into out, with the environment env. The modules it
// needs are those the scans downloaded.
func Build(ctx context.Context, env []string, repoDir, out string) error {
	c := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=true", "-o", out, ".")
	c.Dir = repoDir
	c.Env = append(slices.Clone(env), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
	if b, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("building the demo: %v\n%s", err, b)
	}
	return nil
}

// Step is one command of the demo's release half, as a release manager
// would type it.
type Step struct {
	// Args are vexloom's arguments.
	Args []string
	// Blocks: the step is the gate, expected to fail (its policy exit).
	Blocks bool
	// Why is the line said before the command, if any.
	Why string
	// Project: the command works on the project (takes --config).
	Project bool
}

// ReleasePaths are the files the demo's release half reads and writes.
type ReleasePaths struct {
	// Advisories is the directory of the project's own advisories
	// (WriteAdvisories).
	Advisories string
	// Key is the signing key's path without its .key/.pub ending.
	Key string
	// Doc is main's assembled release VEX.
	Doc string
	// Binary is the demo's command built from main (Build).
	Binary string
}

// ReleaseSteps is the release half of the demo's loop: the project's own
// advisory, a signing key, the gate failing on what nobody has signed yet,
// the release VEX assembled, signed and published, and the gate passing.
func ReleaseSteps(p ReleasePaths) []Step {
	gate := func(ref string) []string {
		return []string{"gate", "--release", ref, "--vex", "store", "--key", p.Key + ".pub"}
	}
	return []Step{
		{[]string{"advisories", "sync", "--osv", p.Advisories}, false, "The project's own advisory, CVE-2026-0001, affects v1.0.0:", true},
		{[]string{"keygen", "--out", p.Key}, false, "A key to sign release VEX with:", false},
		{gate(ReleaseTag), true, "The gate blocks v1.0.0 for the advisory:", true},
		{gate(MainBranch), true, "It blocks main: html.Parse is reached and no signed statement says it is not exploitable yet:", true},
		{[]string{"assemble", "--release", MainBranch, "--binary", p.Binary, "-o", p.Doc}, false, "Assemble main's VEX, sign it and publish it:", true},
		{[]string{"publish", p.Doc, "--ref", MainBranch, "--key", p.Key + ".key"}, false, "", true},
		{gate(MainBranch), false, "Now the maintainers' signed not_affected opens the gate:", true},
	}
}
