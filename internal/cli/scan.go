package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/report"
	"github.com/vexloom/vexloom/internal/scan"
	"github.com/vexloom/vexloom/internal/source"
)

type scanFlags struct {
	branches  []string
	commit    string
	format    string
	output    string
	failOn    string
	goVersion string
	modules   []string
	patterns  []string
	tags      []string
	author    string
	noCache   bool
	verbose   bool
}

func newScanCmd(g *globals) *cobra.Command {
	var f scanFlags
	cmd := &cobra.Command{
		Use:   "scan [flags] [PATH|REPO-URL]",
		Short: "Scan a working tree or branches of a git repository",
		Long: `Scan Go modules for known vulnerabilities with govulncheck's reachability
analysis, and assess what the analysis proves:

  required (module level)   the vulnerable module is in the build, none of its
                            vulnerable packages is imported:
                            not_affected / vulnerable_code_not_present
  imported (package level)  a vulnerable package is imported, no vulnerable
                            symbol is reachable:
                            not_affected / vulnerable_code_not_in_execute_path
  called (symbol level)     a vulnerable symbol is reachable: needs a person,
                            under_investigation until someone decides

PATH is a directory scanned as it is on disk (default "."). With --branch or
--commit, or with a URL (https://, ssh://, git://, file://, user@host:path),
the committed branches of a git repository are scanned instead, each at a
known commit, through a mirror in the cache. Every go.mod outside vendor/ and
testdata/ is a module to scan; the standard library version is the one each
branch builds with (.go-version, then the toolchain line, then the go line).

Results are cached by module content, database and tool version: scanning an
unchanged tree again takes well under a second.

Exit status: 0 when the scan ran (whatever it found), 1 when something could
not be scanned, 2 for bad usage, 3 when --fail-on is given and a finding
reaches that level.`,
		Example: `  vexloom scan .
  vexloom scan --branch main --branch release-1.0 ../project
  vexloom scan --format openvex -o vex.json https://github.com/org/repo
  vexloom scan --fail-on symbol .`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := "."
			if len(args) == 1 {
				target = args[0]
			}
			return runScan(cmd, g, f, target)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.branches, "branch", "b", nil, "branch to scan (repeatable; glob patterns such as release-1.* allowed; default: the repository's default branch)")
	fl.StringVar(&f.commit, "commit", "", "scan this commit (hash or tag) instead of a branch tip; with one --branch, it must be on that branch")
	fl.StringVarP(&f.format, "format", "f", "table", "output format: table, json, openvex, csaf, cyclonedx or sarif")
	fl.StringVarP(&f.output, "output", "o", "", "write the output to `FILE` instead of stdout")
	fl.StringVar(&f.failOn, "fail-on", "", "exit with status 3 when a finding reaches this `level`: module, package or symbol")
	fl.StringVar(&f.goVersion, "go-version", "", "standard library version to analyse every module with (default: what each branch builds with)")
	fl.StringArrayVar(&f.modules, "module", nil, "scan only this module, by path or directory (repeatable)")
	fl.StringArrayVar(&f.patterns, "packages", nil, "package patterns to analyse in each module (repeatable; default ./...)")
	fl.StringSliceVar(&f.tags, "tags", nil, "build tags, comma separated")
	fl.StringVar(&f.author, "author", "", "author of the OpenVEX document (default vexloom)")
	fl.BoolVar(&f.noCache, "no-cache", false, "scan again even if a cached result exists")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show every call trace in the table")
	return cmd
}

func runScan(cmd *cobra.Command, g *globals, f scanFlags, target string) error {
	ctx := cmd.Context()
	format, err := report.ParseFormat(f.format)
	if err != nil {
		return usageError("%v", err)
	}
	var failOn scan.Level
	if f.failOn != "" {
		if failOn, err = scan.ParseLevel(f.failOn); err != nil {
			return usageError("--fail-on: %v", err)
		}
	}
	if f.goVersion != "" {
		if _, err := source.NormalizeGoVersion(f.goVersion); err != nil {
			return usageError("--go-version: %v", err)
		}
	}
	useRepo := source.IsRemote(target) || len(f.branches) > 0 || f.commit != ""
	if f.commit != "" && len(f.branches) > 1 {
		return usageError("--commit takes at most one --branch")
	}
	if !useRepo {
		if fi, err := os.Stat(target); err == nil && !fi.IsDir() {
			return usageError("%s is a file; scan takes a directory or a repository URL", target)
		}
	}

	cacheDir, err := g.cache()
	if err != nil {
		return err
	}
	p := g.progress(cmd)
	db, err := openDB(ctx, g, cacheDir, p)
	if err != nil {
		return err
	}
	var cache *scan.Cache
	if !f.noCache {
		cache = &scan.Cache{Dir: filepath.Join(cacheDir, "scans")}
	}
	scanner := scan.NewScanner(scan.Options{
		DB:        scanDatabase(db),
		Cache:     cache,
		Progress:  p,
		Env:       g.env,
		GoVersion: f.goVersion,
		Patterns:  f.patterns,
		Tags:      f.tags,
		Modules:   f.modules,
	})

	var targets []*scan.Target
	if useRepo {
		targets, err = scanRepository(ctx, scanner, cacheDir, target, f, p)
	} else {
		var t *scan.Target
		t, err = scanner.ScanTree(ctx, target)
		if t != nil {
			targets = append(targets, t)
		}
	}
	if err != nil {
		return err
	}

	now, err := g.timestamp()
	if err != nil {
		return err
	}
	rep := report.Build(scanDatabase(db), targets, now)
	opts := report.Options{Author: f.author, Now: now, Verbose: f.verbose, Namespace: publisherNamespace(target)}
	if err := writeOutput(cmd.OutOrStdout(), f.output, func(w io.Writer) error {
		return report.Write(w, rep, format, opts)
	}); err != nil {
		return err
	}
	if f.output != "" {
		p.Printf("wrote %s", f.output)
	}
	if failures := rep.Failures(); len(failures) > 0 {
		for _, line := range failures {
			fmt.Fprintf(cmd.ErrOrStderr(), "vexloom: %s\n", firstLineOf(line))
		}
		return silentExit(ExitError)
	}
	if failOn != scan.LevelNone && rep.MaxLevel() >= failOn {
		return policyError("a finding reaches the %s level (--fail-on %s)", rep.MaxLevel(), failOn)
	}
	return nil
}

func scanRepository(ctx context.Context, s *scan.Scanner, cacheDir, spec string, f scanFlags, p *progress.Reporter) ([]*scan.Target, error) {
	repo, err := source.OpenRepository(ctx, spec, cacheDir, p)
	if err != nil {
		return nil, err
	}
	if f.commit != "" {
		c, err := repo.ResolveRevision(ctx, f.commit)
		if err != nil {
			return nil, err
		}
		branch := ""
		if len(f.branches) == 1 {
			branch = f.branches[0]
			if _, err := repo.ResolveBranch(ctx, branch); err != nil {
				return nil, err
			}
			if !repo.Contains(ctx, branch, c.Hash) {
				return nil, fmt.Errorf("commit %s is not on branch %s", f.commit, branch)
			}
		}
		t, err := s.ScanCommit(ctx, repo, branch, c)
		if err != nil {
			return nil, err
		}
		return []*scan.Target{t}, nil
	}
	branches := f.branches
	if len(branches) == 0 {
		def, err := repo.DefaultBranch(ctx)
		if err != nil {
			return nil, err
		}
		branches = []string{def}
	} else {
		if branches, err = repo.MatchBranches(ctx, branches); err != nil {
			return nil, err
		}
	}
	var out []*scan.Target
	for i, b := range branches {
		c, err := repo.ResolveBranch(ctx, b)
		if err != nil {
			return nil, err
		}
		if len(branches) > 1 {
			p.Printf("[branch %d/%d] %s", i+1, len(branches), b)
		}
		t, err := s.ScanCommit(ctx, repo, b, c)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func firstLineOf(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
