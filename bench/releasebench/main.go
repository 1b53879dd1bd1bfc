// Command releasebench measures what keeping tracked releases alive costs
// (issue 12). Run it from the root of the vexloom repository:
//
//	go run ./bench/releasebench
//
// It needs the Go module proxy (the real golang.org/x/vulndb and the demo's
// dependencies). It
//
//  1. builds vexloom from this repository and govulncheck from the
//     golang.org/x/vuln version this module requires (the same engine);
//  2. creates the demo project (examples/demo) with -releases tags on
//     release-1.0 (the newest -keep each on a commit of its own with its own
//     Go content, the older ones sharing one commit), and a project file
//     tracking them (signed with a generated key, published to
//     the local store and the feed);
//  3. builds the "old" database: the real golang.org/x/vulndb (-vulndb)
//     without the -changed newest entries (with -imported, three of them
//     affect the demo's dependencies), and runs a first, untimed update
//     (every release scanned in full);
//  4. times an update with nothing new (every tracked release);
//  5. moves the database to the full golang.org/x/vulndb (the -changed
//     entries appear) and times one update with the newest -keep releases
//     tracked, counting the documents re-signed and the modules analysed
//     by delta that took an analysis another release with the same
//     analysed code computed (internal/scan/share.go); and times
//     govulncheck on one release commit against the same database, for
//     the ratio;
//  6. scans that release commit with the scan cache (the delta analysis'
//     result) and with --no-cache (a full rescan), and compares the
//     findings.
//
// It exits 1 naming the step that failed or when delta and full rescan
// differ, 3 with -enforce when a target is missed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vexloom/vexloom/examples/demo"
)

func main() {
	var (
		releases = flag.Int("releases", 40, "tracked releases for the update with nothing new")
		keep     = flag.Int("keep", 12, "tracked releases for the update after the database change")
		changed  = flag.Int("changed", 10, "database entries that change (at most 10 for the target)")
		vulndb   = flag.String("vulndb", "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018", "the golang.org/x/vulndb version")
		work     = flag.String("work", "", "work directory (default: a temporary one, removed)")
		enforce  = flag.Bool("enforce", false, "exit 3 when a target is missed")
		imported = flag.Bool("imported", false, "make three of the changed entries ones that affect the demo's dependencies, one in a package it imports")
	)
	flag.Parse()
	if err := run(*releases, *keep, *changed, *vulndb, *work, *enforce, *imported); err != nil {
		fmt.Fprintln(os.Stderr, "releasebench:", err)
		if strings.Contains(err.Error(), "target missed") {
			os.Exit(3)
		}
		os.Exit(1)
	}
}

func run(releases, keep, changed int, vulndb, work string, enforce, withImported bool) error {
	ctx := context.Background()
	if work == "" {
		d, err := os.MkdirTemp("", "releasebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	step := func(s string) { fmt.Fprintf(os.Stderr, "== %s\n", s) }

	step("building vexloom and govulncheck")
	vexloom := filepath.Join(work, "bin", "vexloom")
	govulncheck := filepath.Join(work, "bin", "govulncheck")
	if _, err := cmd(root, nil, "go", "build", "-o", vexloom, "./cmd/vexloom"); err != nil {
		return fmt.Errorf("building vexloom: %w", err)
	}
	if _, err := cmd(root, nil, "go", "build", "-o", govulncheck, "golang.org/x/vuln/cmd/govulncheck"); err != nil {
		return fmt.Errorf("building govulncheck: %w", err)
	}

	step("fetching " + vulndb)
	out, err := cmd(root, nil, "go", "mod", "download", "-json", vulndb)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", vulndb, err)
	}
	var dl struct{ Dir string }
	if err := json.Unmarshal(out, &dl); err != nil || dl.Dir == "" {
		return fmt.Errorf("downloading %s: %s", vulndb, out)
	}
	osvDir := filepath.Join(dl.Dir, "data", "osv")
	removed, err := pickChanged(osvDir, changed, withImported)
	if err != nil {
		return err
	}
	oldDB := filepath.Join(work, "db-old")
	if err := copyOSV(osvDir, oldDB, removed); err != nil {
		return err
	}

	step(fmt.Sprintf("creating the demo project with %d release tags", releases))
	proj := filepath.Join(work, "project")
	repo, err := demo.Create(ctx, filepath.Join(proj, "repo"))
	if err != nil {
		return err
	}
	// The first releases-keep tags are older releases sharing commits; the
	// newest keep tags each have a commit of their own (their own Go
	// content), so the update after the database change analyses keep
	// different commits.
	var tags []string
	var commit string
	for i := 1; i <= releases; i++ {
		tag := fmt.Sprintf("v1.0.%d", i)
		if i == 1 || i > releases-keep {
			f := map[string][]byte{"version.go": []byte(fmt.Sprintf("package main\n\n// Version is the release.\nconst Version = %q\n", tag))}
			c, err := repo.Commit(ctx, demo.ReleaseBranch, demo.Epoch.Add(time.Duration(i)*time.Hour), "Release "+tag, f)
			if err != nil {
				return err
			}
			commit = c
		}
		if err := repo.Tag(ctx, tag, commit); err != nil {
			return err
		}
		tags = append(tags, tag)
	}
	cache := filepath.Join(work, "cache")
	env := append(os.Environ(), "VEXLOOM_CACHE="+cache, "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	vx := func(args ...string) ([]byte, error) { return cmd(proj, env, vexloom, append(args, "-q")...) }
	if _, err := vx("init", "--module", demo.Module, "--repository", "repo", "--branch", "main", "--branch", "release-*"); err != nil {
		return err
	}
	if _, err := vx("keygen", "-o", filepath.Join(proj, "release")); err != nil {
		return err
	}
	writeConfig := func(n int) error {
		base, err := os.ReadFile(filepath.Join(proj, "vexloom.yaml.base"))
		if err != nil {
			return err
		}
		section := fmt.Sprintf("\nreleases:\n  track:\n    - tags: [\"v1.0.*\"]\n      branches: [release-1.0]\n      keep: %d\n  signing:\n    key: release.key\n  publish: [local, feed]\n", n)
		return os.WriteFile(filepath.Join(proj, "vexloom.yaml"), append(base, section...), 0o644)
	}
	if err := os.Rename(filepath.Join(proj, "vexloom.yaml"), filepath.Join(proj, "vexloom.yaml.base")); err != nil {
		return err
	}
	if err := writeConfig(releases); err != nil {
		return err
	}

	step(fmt.Sprintf("old database (without %d entries: %s); first update, every release scanned in full", len(removed), strings.Join(removed, ", ")))
	if _, err := vx("db", "update", "--source", "dir:"+oldDB, "--force"); err != nil {
		return err
	}
	start := time.Now()
	if _, err := vx("update", "--format", "json"); err != nil {
		return err
	}
	first := time.Since(start)

	step(fmt.Sprintf("update with nothing new, %d tracked releases", releases))
	start = time.Now()
	out, err = vx("update", "--format", "json")
	if err != nil {
		return err
	}
	idle := time.Since(start)
	idleSummary, err := summarize(out)
	if err != nil {
		return err
	}

	step(fmt.Sprintf("database change (%d entries), update with %d tracked releases", len(removed), keep))
	if err := writeConfig(keep); err != nil {
		return err
	}
	if _, err := vx("update", "--format", "json"); err != nil { // settles the smaller set at the old database
		return err
	}
	if _, err := vx("db", "update", "--source", "dir:"+osvDir, "--force"); err != nil {
		return err
	}
	start = time.Now()
	out, movedProgress, err := cmdStderr(proj, env, vexloom, "update", "--format", "json")
	if err != nil {
		return err
	}
	moved := time.Since(start)
	deltas, shared := deltaLines(movedProgress)
	// The run's progress says what each module cost (kept with -work).
	if err := os.WriteFile(filepath.Join(work, "update-after-change.progress"), []byte(movedProgress), 0o644); err != nil {
		return err
	}
	movedSummary, err := summarize(out)
	if err != nil {
		return err
	}

	last := tags[len(tags)-1]
	step("govulncheck on " + last)
	tree := filepath.Join(work, "tree")
	if _, err := cmd(repo.Dir, nil, "git", "worktree", "add", "--detach", tree, last); err != nil {
		return err
	}
	info, err := vx("db", "info", "--format", "json")
	if err != nil {
		return err
	}
	var dbInfo struct {
		Dir string `json:"dir"`
	}
	if err := json.Unmarshal(info, &dbInfo); err != nil || dbInfo.Dir == "" {
		return fmt.Errorf("reading db info: %s", info)
	}
	gvDB := dbInfo.Dir
	start = time.Now()
	gvOut, err := cmd(tree, append(os.Environ(), "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=-mod=mod"), govulncheck, "-format", "json", "-db", "file://"+gvDB, "./...")
	if err != nil {
		return fmt.Errorf("govulncheck: %w", err)
	}
	gv := time.Since(start)
	_ = gvOut

	fmt.Printf("releasebench: demo project (%s), %s, %d entries changed\n", demo.Module, vulndb, len(removed))
	fmt.Printf("first update, %d releases (%d commits) scanned in full  %8.2fs\n", releases, keep+1, first.Seconds())
	fmt.Printf("update with nothing new, %d releases           %8.2fs  derived %d, re-signed %d   target < 5s\n", releases, idle.Seconds(), idleSummary.derived, idleSummary.signed)
	fmt.Printf("update after the database change, %d releases  %8.2fs  derived %d, re-signed %d\n", keep, moved.Seconds(), movedSummary.derived, movedSummary.signed)
	fmt.Printf("  modules analysed by delta %d, of which took a shared analysis %d\n", deltas, shared)
	fmt.Printf("govulncheck, one release commit                %8.2fs\n", gv.Seconds())
	ratio := moved.Seconds() / gv.Seconds()
	fmt.Printf("ratio update-after-change / govulncheck          %6.2f   target < 1\n", ratio)

	// vexloom scan (not update) of the release: at the old database (a
	// full scan, the base), then at the new one (the delta), then again
	// without the cache (a full rescan).
	// In a cache of its own: the update's holds the release's result at
	// the new database already (a scan's key has no module version), and
	// the analyses the update's deltas shared.
	step("delta against full rescan on " + last)
	senv := append(slices.Clone(env), "VEXLOOM_CACHE="+filepath.Join(work, "scan-cache"))
	sx := func(args ...string) ([]byte, error) { return cmd(proj, senv, vexloom, append(args, "-q")...) }
	scanArgs := []string{"scan", "--branch", demo.ReleaseBranch, "--commit", last, "--format", "json", "repo"}
	if _, err := sx("db", "update", "--source", "dir:"+oldDB, "--force"); err != nil {
		return err
	}
	if _, err := sx(scanArgs...); err != nil {
		return err
	}
	if _, err := sx("db", "update", "--source", "dir:"+osvDir, "--force"); err != nil {
		return err
	}
	deltaStart := time.Now()
	deltaOut, progressOut, err := cmdStderr(proj, senv, vexloom, scanArgs...)
	if err != nil {
		return err
	}
	deltaTime := time.Since(deltaStart)
	if !strings.Contains(progressOut, "database changed in") {
		return fmt.Errorf("the scan of %s did not take the delta:\n%s", last, progressOut)
	}
	for _, l := range strings.Split(progressOut, "\n") {
		if strings.Contains(l, "database changed in") {
			fmt.Printf("delta of %s:%s\n", last, strings.SplitN(l, ":", 2)[1])
		}
	}
	fullStart := time.Now()
	fullOut, err := sx(append(scanArgs, "--no-cache")...)
	if err != nil {
		return err
	}
	fullTime := time.Since(fullStart)
	df, err := findings(deltaOut)
	if err != nil {
		return err
	}
	ff, err := findings(fullOut)
	if err != nil {
		return err
	}

	fmt.Printf("vexloom scan %s: delta %.2fs, full rescan %.2fs\n", last, deltaTime.Seconds(), fullTime.Seconds())
	fmt.Printf("delta analysis findings %d, full rescan findings %d, identical: %v\n", len(df), len(ff), slices.Equal(df, ff))
	if !slices.Equal(df, ff) {
		return fmt.Errorf("delta and full rescan differ:\ndelta: %v\nfull:  %v", df, ff)
	}
	if enforce && (idle >= 5*time.Second || ratio >= 1) {
		return fmt.Errorf("target missed")
	}
	return nil
}

type updateSummary struct{ derived, signed int }

// deltaLines counts the modules a run's progress says were analysed by
// delta, and those of them that took an analysis shared by a release with
// the same analysed code.
func deltaLines(progress string) (deltas, shared int) {
	for _, l := range strings.Split(progress, "\n") {
		if strings.Contains(l, "database changed in") {
			deltas++
			if strings.Contains(l, "shared with") {
				shared++
			}
		}
	}
	return deltas, shared
}

func summarize(out []byte) (updateSummary, error) {
	var u struct {
		Releases []struct {
			Derived bool `json:"derived"`
			Changed bool `json:"changed"`
		} `json:"releases"`
	}
	if err := json.Unmarshal(out, &u); err != nil {
		return updateSummary{}, fmt.Errorf("reading update's output: %w", err)
	}
	var s updateSummary
	for _, r := range u.Releases {
		if r.Derived {
			s.derived++
		}
		if r.Changed {
			s.signed++
		}
	}
	return s, nil
}

// findings lists "id module level" of a scan report, sorted.
func findings(out []byte) ([]string, error) {
	var r struct {
		Targets []struct {
			Modules []struct {
				Findings []struct {
					ID     string `json:"id"`
					Module string `json:"module"`
					Level  string `json:"level"`
				} `json:"findings"`
			} `json:"modules"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("reading a scan report: %w", err)
	}
	var fs []string
	for _, t := range r.Targets {
		for _, m := range t.Modules {
			for _, f := range m.Findings {
				fs = append(fs, f.ID+" "+f.Module+" "+f.Level)
			}
		}
	}
	sort.Strings(fs)
	return fs, nil
}

// pickChanged chooses the entries that "appear" in the database change:
// the newest ones (what a database update brings), or, with imported, first
// three that affect the demo's dependencies (one of them in a package the
// demo imports, which every release must then analyse at symbol level).
func pickChanged(dir string, n int, imported bool) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".json") {
			ids = append(ids, strings.TrimSuffix(e.Name(), ".json"))
		}
	}
	sort.Strings(ids)
	var out []string
	for _, id := range []string{"GO-2024-3333", "GO-2025-3503", "GO-2025-3487"} {
		if imported && len(out) < n && slices.Contains(ids, id) {
			out = append(out, id)
		}
	}
	for i := len(ids) - 1; i >= 0 && len(out) < n; i-- {
		if !slices.Contains(out, ids[i]) {
			out = append(out, ids[i])
		}
	}
	return out, nil
}

func copyOSV(from, to string, skip []string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	es, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range es {
		if slices.Contains(skip, strings.TrimSuffix(e.Name(), ".json")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// cmdStderr is cmd that also returns the command's stderr.
func cmdStderr(dir string, env []string, name string, args ...string) ([]byte, string, error) {
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Env = env
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return out, stderr.String(), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, lastLines(stderr.String(), 15))
	}
	return out, stderr.String(), nil
}

func cmd(dir string, env []string, name string, args ...string) ([]byte, error) {
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Env = env
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, lastLines(stderr.String(), 15))
	}
	return out, nil
}

func lastLines(s string, n int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
