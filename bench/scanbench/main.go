// Command scanbench compares the cost of `vexloom scan` with the govulncheck
// command line tool on a large real Go module.
//
// Run it from the root of the vexloom repository:
//
//	go run ./bench/scanbench
//
// With the defaults it takes about 6 minutes on a 2-core machine and needs
// the Go module proxy. It
//
//  1. fetches the module to scan (-module, -version; default
//     k8s.io/apiserver) with `go mod download`, copies it to a writable
//     directory and downloads its dependencies, so no timed run fetches
//     anything;
//  2. builds vexloom from this repository and govulncheck from the
//     golang.org/x/vuln version this module requires, so both run the same
//     engine;
//  3. builds one local vulnerability database with `vexloom db update`
//     (-db-source) and points govulncheck at the same files with -db file://;
//  4. after one untimed warm-up run of each tool, runs -n times, interleaved:
//     govulncheck -format json, `vexloom scan --format json` with an empty
//     scan cache (first scan), and `vexloom scan` again on the unchanged tree
//     (repeated scan, a cache hit); both analyse the standard library of the
//     installed go command;
//  5. prints the medians, the ratios against their targets, and checks that
//     both tools found the same vulnerabilities at the same levels.
//
// On a shared machine other processes distort wall times. On Linux each timed
// run first waits (-max-wait) until the CPUs are idle, and a run during which
// other processes took more than a quarter of a CPU, or the hypervisor a
// tenth, is repeated (-retries). CPU times, also reported, are barely affected.
//
// It exits 1 naming the step that failed, 3 with -enforce when a ratio misses
// its target, and 2 for bad usage.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Targets the measured ratios are held to.
const (
	targetFirstRatio = 1.10        // first scan time, vexloom/govulncheck, at most
	targetRepeated   = time.Second // repeated scan time, under
	targetSpeedup    = 50.0        // govulncheck time / vexloom repeated scan time, at least
	targetRSSRatio   = 1.10        // peak RSS, vexloom/govulncheck, at most
)

const (
	vexloomModulePath   = "github.com/vexloom/vexloom"
	govulncheckPkg      = "golang.org/x/vuln/cmd/govulncheck"
	defaultModule       = "k8s.io/apiserver"
	defaultVersion      = "v0.37.2"
	defaultPattern      = "./..."
	exitTargetMissed    = 3
	exitUsage           = 2
	stderrTailForErrors = 4 << 10
)

type config struct {
	module   string
	version  string
	pattern  string
	runs     int
	retries  int
	maxWait  time.Duration
	dbSource string
	work     string
	keep     bool
	jsonOut  string
	enforce  bool
}

func main() {
	var c config
	flag.StringVar(&c.module, "module", defaultModule, "module to scan, fetched through the Go module proxy")
	flag.StringVar(&c.version, "version", defaultVersion, "version of -module (a version, or a query such as latest)")
	flag.StringVar(&c.pattern, "packages", defaultPattern, "package patterns to analyse, space separated")
	flag.IntVar(&c.runs, "n", 3, "timed runs of each tool (medians are reported)")
	flag.IntVar(&c.retries, "retries", 2, "times a timed run is repeated when other processes disturbed it (Linux only)")
	flag.DurationVar(&c.maxWait, "max-wait", 5*time.Minute, "how long to wait before each timed run for other processes to leave the CPUs idle (Linux only)")
	flag.StringVar(&c.dbSource, "db-source", "", "vulnerability database `SOURCE`, as vexloom db update --source takes it (default vexloom's default)")
	flag.StringVar(&c.work, "work", "", "work directory (default a new temporary directory, removed afterwards)")
	flag.BoolVar(&c.keep, "keep", false, "keep the work directory (outputs, caches, binaries)")
	flag.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to `FILE` (- for stdout, instead of the table)")
	flag.BoolVar(&c.enforce, "enforce", false, "exit with status 3 when a ratio misses its target")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./bench/scanbench [flags]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if msg := c.check(); msg != "" {
		fmt.Fprintf(os.Stderr, "scanbench: %s\n", msg)
		flag.Usage()
		os.Exit(exitUsage)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	res, err := run(ctx, c)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "scanbench: %v\n", err)
		os.Exit(1)
	}
	if c.jsonOut != "-" {
		printTable(os.Stdout, res)
	}
	if c.jsonOut != "" {
		if err := writeJSON(c.jsonOut, res); err != nil {
			fmt.Fprintf(os.Stderr, "scanbench: writing the results: %v\n", err)
			os.Exit(1)
		}
	}
	if !res.Findings.Same {
		fmt.Fprintf(os.Stderr, "scanbench: the tools found different vulnerabilities (see the findings in the results)\n")
		os.Exit(1)
	}
	if c.enforce && !res.TargetsMet {
		fmt.Fprintf(os.Stderr, "scanbench: a ratio misses its target\n")
		os.Exit(exitTargetMissed)
	}
}

func writeJSON(file string, res *Results) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return err
	}
	if file == "-" {
		_, err := os.Stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(file, buf.Bytes(), 0o644)
}

// check returns what is wrong with the command line, or "".
func (c config) check() string {
	switch {
	case flag.NArg() != 0:
		return fmt.Sprintf("unexpected argument %q", flag.Arg(0))
	case c.runs < 1:
		return "-n must be at least 1"
	case c.retries < 0:
		return "-retries must not be negative"
	case c.module == "" || c.version == "":
		return "-module and -version must not be empty"
	case len(strings.Fields(c.pattern)) == 0:
		return "-packages must name at least one pattern"
	}
	return ""
}

// bench holds what the steps share.
type bench struct {
	cfg         config
	env         []string // environment of every command
	repo        string   // the vexloom repository
	work        string
	project     string // writable copy of the module
	bin         string
	baseCache   string // vexloom cache holding only the database
	dbDir       string // the database directory, for govulncheck -db
	goVersion   string
	patterns    []string
	vexloom     string
	govulncheck string
}

// step runs one numbered step and names it in its error.
func step(n int, name string, f func() error) error {
	logf("step %d: %s", n, name)
	start := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("step %d (%s): %w", n, name, err)
	}
	logf("step %d: done in %s", n, roundDuration(time.Since(start)))
	return nil
}

func run(ctx context.Context, c config) (*Results, error) {
	start := time.Now()
	b := &bench{cfg: c, patterns: strings.Fields(c.pattern)}
	// Every go command runs the installed toolchain on the module's own
	// go.mod: a module that needs a newer Go fails here instead of being
	// scanned by a downloaded toolchain that only one of the tools would use.
	b.env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local")

	if err := step(0, "setting up the work directory", b.setup); err != nil {
		return nil, err
	}
	if !c.keep && c.work == "" {
		defer os.RemoveAll(b.work)
	}
	steps := []struct {
		name string
		f    func(context.Context) error
	}{
		{"fetching " + c.module + "@" + c.version + " and its dependencies", b.fetchProject},
		{"building vexloom and govulncheck", b.buildTools},
		{"building the vulnerability database", b.buildDB},
	}
	for i, s := range steps {
		if err := step(i+1, s.name, func() error { return s.f(ctx) }); err != nil {
			return nil, err
		}
	}
	var res *Results
	if err := step(4, fmt.Sprintf("measuring (1 warm-up + %d timed runs of each)", c.runs), func() (err error) {
		res, err = b.measure(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	if err := step(5, "comparing findings", func() error { return b.compare(res) }); err != nil {
		return nil, err
	}
	res.Total = seconds(time.Since(start))
	if c.keep || c.work != "" {
		logf("work directory kept: %s", b.work)
	}
	return res, nil
}

func (b *bench) setup() error {
	gomod, err := b.output(context.Background(), "", "go", "env", "GOMOD")
	if err != nil {
		return err
	}
	gomod = strings.TrimSpace(gomod)
	if gomod == "" || gomod == os.DevNull {
		return errors.New("not inside a Go module: run scanbench from the vexloom repository")
	}
	data, err := os.ReadFile(gomod)
	if err != nil {
		return fmt.Errorf("reading the module file: %w", err)
	}
	if modulePath(data) != vexloomModulePath {
		return fmt.Errorf("%s is not %s's go.mod: run scanbench from the vexloom repository", gomod, vexloomModulePath)
	}
	b.repo = filepath.Dir(gomod)

	if b.cfg.work != "" {
		if err := os.MkdirAll(b.cfg.work, 0o755); err != nil {
			return fmt.Errorf("creating the work directory: %w", err)
		}
		b.work, err = filepath.Abs(b.cfg.work)
	} else {
		b.work, err = os.MkdirTemp("", "scanbench-")
	}
	if err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	b.bin = filepath.Join(b.work, "bin")
	b.baseCache = filepath.Join(b.work, "cache")
	for _, d := range []string{b.bin, b.baseCache, filepath.Join(b.work, "runs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("creating the work directory: %w", err)
		}
	}
	logf("work directory: %s", b.work)
	return nil
}

// modulePath returns the path on the module line of a go.mod file.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// fetchProject puts a writable copy of the module in the work directory and
// makes sure its packages load without any download.
func (b *bench) fetchProject(ctx context.Context) error {
	// go mod download -json reports a module it cannot fetch in its output's
	// Error field, and exits 1.
	out, dlErr := b.output(ctx, b.work, "go", "mod", "download", "-json", b.cfg.module+"@"+b.cfg.version)
	var info struct {
		Path, Version, Dir, Error string
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		if dlErr != nil {
			return dlErr
		}
		return fmt.Errorf("reading go mod download output: %w", err)
	}
	if info.Error != "" {
		return errors.New(info.Error)
	}
	if dlErr != nil {
		return dlErr
	}
	if info.Dir == "" {
		return errors.New("go mod download named no directory")
	}
	b.cfg.version = info.Version // a query such as latest, resolved
	b.project = filepath.Join(b.work, "src", path.Base(info.Path)+"@"+info.Version)
	if err := os.RemoveAll(b.project); err != nil {
		return fmt.Errorf("clearing %s: %w", b.project, err)
	}
	if err := copyTree(info.Dir, b.project); err != nil {
		return fmt.Errorf("copying the module: %w", err)
	}
	if _, err := b.output(ctx, b.project, "go", "mod", "download"); err != nil {
		return err
	}
	// go list -deps loads every package either tool will load, so a missing
	// go.sum line or module shows up here, not in a timed run.
	if err := b.quiet(ctx, b.project, "go", append([]string{"list", "-deps"}, b.patterns...)...); err != nil {
		return err
	}
	v, err := b.output(ctx, b.project, "go", "env", "GOVERSION")
	if err != nil {
		return err
	}
	b.goVersion = strings.TrimSpace(v)
	logf("  %s@%s in %s, analysed with %s", info.Path, info.Version, b.project, b.goVersion)
	return nil
}

func (b *bench) buildTools(ctx context.Context) error {
	b.vexloom = filepath.Join(b.bin, "vexloom"+exeSuffix())
	b.govulncheck = filepath.Join(b.bin, "govulncheck"+exeSuffix())
	if err := b.quiet(ctx, b.repo, "go", "build", "-o", b.vexloom, "./cmd/vexloom"); err != nil {
		return err
	}
	// Built inside this module, govulncheck gets exactly the x/vuln and
	// x/tools versions vexloom is built with.
	return b.quiet(ctx, b.repo, "go", "build", "-o", b.govulncheck, govulncheckPkg)
}

func (b *bench) buildDB(ctx context.Context) error {
	args := []string{"--cache-dir", b.baseCache, "db", "update"}
	if b.cfg.dbSource != "" {
		args = append(args, "--source", b.cfg.dbSource)
	}
	if err := b.quiet(ctx, b.work, b.vexloom, args...); err != nil {
		return err
	}
	out, err := b.output(ctx, b.work, b.vexloom, "--cache-dir", b.baseCache, "db", "info", "--format", "json")
	if err != nil {
		return err
	}
	var info struct {
		Dir     string `json:"dir"`
		Source  string `json:"source"`
		Version string `json:"version"`
		Entries int    `json:"entries"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		return fmt.Errorf("reading vexloom db info: %w", err)
	}
	if info.Dir == "" {
		return errors.New("vexloom db info named no database directory")
	}
	b.dbDir = info.Dir
	logf("  %s %s, %d entries, in %s", info.Source, info.Version, info.Entries, info.Dir)
	return nil
}

// freshCache returns a new vexloom cache directory holding a copy of the
// database and nothing else, so a scan with it is a first scan.
func (b *bench) freshCache(name string) (string, error) {
	dir := filepath.Join(b.work, "runs", name, "cache")
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	// The database is <cache>/vulndb: a pointer file "current" naming one
	// generation directory gen-*. Copy both; skip the lock and leftovers.
	src := filepath.Join(b.baseCache, "vulndb")
	entries, err := os.ReadDir(src)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "vulndb")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return "", err
	}
	for _, e := range entries {
		n := e.Name()
		if n != "current" && !strings.HasPrefix(n, "gen-") {
			continue
		}
		if e.IsDir() {
			err = copyTree(filepath.Join(src, n), filepath.Join(dst, n))
		} else {
			err = copyFile(filepath.Join(src, n), filepath.Join(dst, n), 0o644)
		}
		if err != nil {
			return "", err
		}
	}
	return dir, nil
}

// copyTree copies the regular files and directories under src to dst,
// making them writable (module cache directories are read-only).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return copyFile(p, target, fi.Mode().Perm()|0o600)
		default:
			return fmt.Errorf("%s: not a regular file or directory", p)
		}
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Sample is one timed run.
type Sample struct {
	Wall   float64 `json:"wall_seconds"`
	CPU    float64 `json:"cpu_seconds"` // user + system, the command's and its children's
	MaxRSS int64   `json:"max_rss_bytes"`
	// OtherCPU is the CPU time the rest of the system used meanwhile and
	// Steal the time the hypervisor took away (Linux only).
	OtherCPU  float64 `json:"other_cpu_seconds,omitempty"`
	Steal     float64 `json:"steal_seconds,omitempty"`
	Disturbed bool    `json:"disturbed,omitempty"`
}

// systemCPU is the CPU time the whole machine has spent, in seconds.
type systemCPU struct{ busy, iowait, steal float64 }

// Thresholds above which a run counts as disturbed: on average this many
// CPUs busy with other processes, or taken by the hypervisor.
const (
	maxOtherCPUs = 0.25
	maxStealCPUs = 0.10
)

func (s Sample) disturbed() bool {
	return s.Wall > 0 && (s.OtherCPU/s.Wall > maxOtherCPUs || s.Steal/s.Wall > maxStealCPUs)
}

// Series is every timed run of one kind and their medians.
type Series struct {
	Runs         []Sample `json:"runs"`
	Retried      int      `json:"retried,omitempty"` // disturbed runs that were repeated
	MedianWall   float64  `json:"median_wall_seconds"`
	MedianCPU    float64  `json:"median_cpu_seconds"`
	MedianMaxRSS int64    `json:"median_max_rss_bytes"`
}

func (s *Series) add(x Sample) {
	s.Runs = append(s.Runs, x)
	var w, c []float64
	var r []int64
	for _, x := range s.Runs {
		w, c, r = append(w, x.Wall), append(c, x.CPU), append(r, x.MaxRSS)
	}
	s.MedianWall, s.MedianCPU, s.MedianMaxRSS = median(w), median(c), median(r)
}

// Ratio is a measured ratio, held to Target unless Target is empty.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	Target string  `json:"target,omitempty"`
	Met    bool    `json:"met"`
}

// Findings compares what the tools found: the strongest level of each
// (vulnerability, module).
type Findings struct {
	Govulncheck []string       `json:"govulncheck"`
	Vexloom     []string       `json:"vexloom"`
	Levels      map[string]int `json:"levels"`
	Same        bool           `json:"same"`
	OnlyGovuln  []string       `json:"only_govulncheck,omitempty"`
	OnlyVexloom []string       `json:"only_vexloom,omitempty"`
}

// Results are what scanbench measured.
type Results struct {
	Date        string   `json:"date"`
	Module      string   `json:"module"`
	Version     string   `json:"version"`
	Packages    string   `json:"packages"`
	GoVersion   string   `json:"go_version"`
	OS          string   `json:"os"`
	Arch        string   `json:"arch"`
	CPUs        int      `json:"cpus"`
	Runs        int      `json:"runs"`
	Govulncheck Series   `json:"govulncheck"`
	First       Series   `json:"vexloom_first_scan"`
	Repeated    Series   `json:"vexloom_repeated_scan"`
	Ratios      []Ratio  `json:"ratios"`
	TargetsMet  bool     `json:"targets_met"`
	Findings    Findings `json:"findings"`
	Total       float64  `json:"total_seconds"`

	govulnOut, vexloomOut string // outputs of the last timed runs
}

// measure does the warm-up runs, then the timed runs, interleaved. Odd
// rounds run govulncheck first, even rounds vexloom first, so neither tool
// always runs right after the other's memory was freed.
func (b *bench) measure(ctx context.Context) (*Results, error) {
	res := &Results{
		Date:      time.Now().UTC().Format(time.RFC3339),
		Module:    b.cfg.module,
		Version:   b.cfg.version,
		Packages:  b.cfg.pattern,
		GoVersion: b.goVersion,
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
		Runs:      b.cfg.runs,
	}
	for round := 0; round <= b.cfg.runs; round++ {
		label := fmt.Sprintf("run %d/%d", round, b.cfg.runs)
		if round == 0 {
			label = "warm-up"
		}
		dir := filepath.Join(b.work, "runs", fmt.Sprint(round))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		// sample runs f, again while other processes disturb it (timed
		// rounds only), and records the result in s.
		sample := func(name string, s *Series, f func() (Sample, error)) error {
			for attempt := 0; ; attempt++ {
				if round > 0 {
					if err := b.waitQuiet(ctx); err != nil {
						return fmt.Errorf("%s: %s: waiting for idle CPUs: %w", label, name, err)
					}
				}
				x, err := f()
				if err != nil {
					return fmt.Errorf("%s: %s: %w", label, name, err)
				}
				logf("  %-8s %-22s %s", label, name, x)
				if round == 0 {
					return nil
				}
				if x.Disturbed && attempt < b.cfg.retries {
					s.Retried++
					continue
				}
				s.add(x)
				return nil
			}
		}
		gv := func() error {
			out := filepath.Join(dir, "govulncheck.json")
			res.govulnOut = out
			return sample("govulncheck", &res.Govulncheck, func() (Sample, error) {
				return b.runGovulncheck(ctx, out)
			})
		}
		vx := func() error {
			var cache string
			out := filepath.Join(dir, "vexloom.json")
			res.vexloomOut = out
			err := sample("vexloom first scan", &res.First, func() (Sample, error) {
				var err error
				if cache, err = b.freshCache(fmt.Sprint(round)); err != nil {
					return Sample{}, fmt.Errorf("copying the database into a fresh cache: %w", err)
				}
				return b.runVexloom(ctx, cache, out, false)
			})
			if err != nil {
				return err
			}
			return sample("vexloom repeated scan", &res.Repeated, func() (Sample, error) {
				return b.runVexloom(ctx, cache, filepath.Join(dir, "vexloom-repeated.json"), true)
			})
		}
		order := []func() error{gv, vx}
		if round%2 == 0 {
			order = []func() error{vx, gv}
		}
		for _, f := range order {
			if err := f(); err != nil {
				return nil, err
			}
		}
	}
	res.ratios()
	return res, nil
}

// waitQuiet waits, at most -max-wait, until other processes leave the CPUs
// idle, so that a timed run measures the tool and not the neighbours.
func (b *bench) waitQuiet(ctx context.Context) error {
	const window = 2 * time.Second
	deadline := time.Now().Add(b.cfg.maxWait)
	waited := false
	for {
		before, ok := readSystemCPU()
		if !ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(window):
		}
		after, _ := readSystemCPU()
		busy := (after.busy - before.busy + after.steal - before.steal) / window.Seconds()
		if busy <= maxOtherCPUs {
			return nil
		}
		if time.Now().After(deadline) {
			logf("  other processes still keep %.1f CPUs busy after %s: measuring anyway", busy, b.cfg.maxWait)
			return nil
		}
		if !waited {
			logf("  other processes keep %.1f CPUs busy: waiting for them (at most %s)", busy, b.cfg.maxWait)
			waited = true
		}
	}
}

func (b *bench) runGovulncheck(ctx context.Context, out string) (Sample, error) {
	args := []string{"-format", "json", "-db", fileURL(b.dbDir), "-C", b.project}
	args = append(args, b.patterns...)
	s, _, err := b.timed(ctx, out, b.govulncheck, args...)
	return s, err
}

// runVexloom scans the project with cache; a repeated scan must be served
// from the cache. The report goes to stdout, into a file, like govulncheck's
// stream: `-o /dev/null` is not used because vexloom writes -o files through
// a temporary file and a rename, which would replace /dev/null itself when
// run as root.
func (b *bench) runVexloom(ctx context.Context, cache, out string, repeated bool) (Sample, error) {
	args := []string{"--cache-dir", cache, "scan", "--format", "json", "--go-version", b.goVersion}
	for _, p := range b.patterns {
		args = append(args, "--packages", p)
	}
	args = append(args, b.project)
	s, stderr, err := b.timed(ctx, out, b.vexloom, args...)
	if err != nil {
		return s, err
	}
	// vexloom's progress says "<module>: cached, ..." for a cache hit.
	cached := strings.Contains(stderr, ": cached, ")
	if repeated && !cached {
		return s, fmt.Errorf("the result did not come from the scan cache:\n%s", tail(stderr))
	}
	if !repeated && cached {
		return s, errors.New("a first scan was served from the cache")
	}
	return s, nil
}

// timed runs a command with its stdout to the file out (.json) and its
// stderr to the file beside it (.stderr), and returns its wall time, CPU
// time, peak RSS and stderr.
func (b *bench) timed(ctx context.Context, out, name string, args ...string) (Sample, string, error) {
	f, err := os.Create(out)
	if err != nil {
		return Sample{}, "", err
	}
	defer f.Close()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = b.work
	cmd.Env = b.env
	cmd.Stdout = f
	cmd.Stderr = &stderr
	before, haveLoad := readSystemCPU()
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	after, _ := readSystemCPU()
	// Kept beside the output (-keep) for whoever looks into a slow run.
	_ = os.WriteFile(strings.TrimSuffix(out, ".json")+".stderr", []byte(stderr.String()), 0o644)
	if err != nil {
		return Sample{}, stderr.String(), commandError(cmd, err, stderr.String())
	}
	ps := cmd.ProcessState
	s := Sample{
		Wall:   seconds(wall),
		CPU:    seconds(ps.UserTime() + ps.SystemTime()),
		MaxRSS: maxRSS(ps),
	}
	if haveLoad {
		s.OtherCPU = max(0, after.busy-before.busy-s.CPU)
		s.Steal = after.steal - before.steal
		s.Disturbed = s.disturbed()
	}
	return s, stderr.String(), nil
}

func (s Sample) String() string {
	rss := "n/a"
	if s.MaxRSS > 0 {
		rss = formatBytes(s.MaxRSS)
	}
	msg := fmt.Sprintf("wall %-8s cpu %-8s peak RSS %s", formatSeconds(s.Wall), formatSeconds(s.CPU), rss)
	if s.Disturbed {
		msg += fmt.Sprintf("  (disturbed: other processes %.1f CPU-s, steal %.1fs)", s.OtherCPU, s.Steal)
	}
	return msg
}

func (r *Results) ratios() {
	g, f, rep := r.Govulncheck, r.First, r.Repeated
	first := f.MedianWall / g.MedianWall
	speedup := g.MedianWall / rep.MedianWall
	r.Ratios = []Ratio{
		{Name: "first scan time, vexloom/govulncheck", Value: first, Target: fmt.Sprintf("<= %.2f", targetFirstRatio), Met: first <= targetFirstRatio},
		{Name: "repeated scan time", Value: rep.MedianWall, Unit: "s", Target: fmt.Sprintf("< %s", targetRepeated), Met: rep.MedianWall < targetRepeated.Seconds()},
		{Name: "speed-up, govulncheck/vexloom repeated", Value: speedup, Unit: "x", Target: fmt.Sprintf(">= %.0f", targetSpeedup), Met: speedup >= targetSpeedup},
	}
	// CPU time is not a target, but unlike wall time it hardly moves when
	// other processes share the machine.
	cpu := f.MedianCPU / g.MedianCPU
	r.Ratios = append(r.Ratios, Ratio{Name: "first scan CPU time, vexloom/govulncheck", Value: cpu, Met: true})
	if g.MedianMaxRSS > 0 && f.MedianMaxRSS > 0 {
		rss := float64(f.MedianMaxRSS) / float64(g.MedianMaxRSS)
		r.Ratios = append(r.Ratios, Ratio{Name: "peak RSS, vexloom/govulncheck", Value: rss, Target: fmt.Sprintf("<= %.2f", targetRSSRatio), Met: rss <= targetRSSRatio})
	}
	r.TargetsMet = true
	for _, x := range r.Ratios {
		r.TargetsMet = r.TargetsMet && x.Met
	}
}

// Levels, weakest first, as both tools name them.
var levels = []string{"module", "package", "symbol"}

// compare reads both tools' outputs of the last timed run and checks they
// found the same (vulnerability, module) pairs at the same strongest level,
// and analysed the same standard library.
func (b *bench) compare(res *Results) error {
	gv, gvGo, err := readGovulncheck(res.govulnOut)
	if err != nil {
		return fmt.Errorf("reading govulncheck's output: %w", err)
	}
	vx, vxGo, err := readVexloom(res.vexloomOut)
	if err != nil {
		return fmt.Errorf("reading vexloom's output: %w", err)
	}
	if gvGo != vxGo {
		return fmt.Errorf("the tools analysed different standard libraries: govulncheck %q, vexloom %q", gvGo, vxGo)
	}
	fd := Findings{Govulncheck: gv, Vexloom: vx, Levels: map[string]int{}}
	for _, k := range gv {
		fd.Levels[k[strings.LastIndexByte(k, ' ')+1:]]++
	}
	for _, k := range gv {
		if !slices.Contains(vx, k) {
			fd.OnlyGovuln = append(fd.OnlyGovuln, k)
		}
	}
	for _, k := range vx {
		if !slices.Contains(gv, k) {
			fd.OnlyVexloom = append(fd.OnlyVexloom, k)
		}
	}
	fd.Same = len(fd.OnlyGovuln) == 0 && len(fd.OnlyVexloom) == 0
	res.Findings = fd
	if len(gv) == 0 {
		logf("  warning: govulncheck found nothing; the comparison proves little")
	}
	return nil
}

// readGovulncheck folds govulncheck's JSON stream into "ID module level"
// keys, one per (ID, module) at the strongest level: the stream repeats a
// called vulnerability at the module, package and symbol levels.
func readGovulncheck(file string) (keys []string, goVersion string, err error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	strongest := map[string]int{}
	dec := json.NewDecoder(f)
	for {
		var m struct {
			Config *struct {
				GoVersion string `json:"go_version"`
			} `json:"config"`
			Finding *struct {
				OSV   string `json:"osv"`
				Trace []struct {
					Module   string `json:"module"`
					Package  string `json:"package"`
					Function string `json:"function"`
				} `json:"trace"`
			} `json:"finding"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return nil, "", err
		}
		if m.Config != nil {
			goVersion = m.Config.GoVersion
		}
		if m.Finding == nil {
			continue
		}
		if m.Finding.OSV == "" || len(m.Finding.Trace) == 0 {
			return nil, "", errors.New("a finding without an OSV ID or trace")
		}
		top := m.Finding.Trace[0]
		level := 0
		switch {
		case top.Function != "":
			level = 2
		case top.Package != "":
			level = 1
		}
		k := m.Finding.OSV + " " + top.Module
		if l, ok := strongest[k]; !ok || level > l {
			strongest[k] = level
		}
	}
	for k, l := range strongest {
		keys = append(keys, k+" "+levels[l])
	}
	slices.Sort(keys)
	return keys, goVersion, nil
}

// readVexloom reads vexloom's JSON report into "ID module level" keys.
func readVexloom(file string) (keys []string, goVersion string, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", err
	}
	var rep struct {
		Targets []struct {
			Modules []struct {
				Path      string `json:"path"`
				Error     string `json:"error"`
				GoVersion struct {
					Version string `json:"version"`
				} `json:"go_version"`
				Findings []struct {
					ID     string `json:"id"`
					Module string `json:"module"`
					Level  string `json:"level"`
				} `json:"findings"`
			} `json:"modules"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return nil, "", err
	}
	n := 0
	for _, t := range rep.Targets {
		for _, m := range t.Modules {
			n++
			if m.Error != "" {
				return nil, "", fmt.Errorf("module %s: %s", m.Path, m.Error)
			}
			goVersion = m.GoVersion.Version
			for _, f := range m.Findings {
				if !slices.Contains(levels, f.Level) {
					return nil, "", fmt.Errorf("finding %s: unknown level %q", f.ID, f.Level)
				}
				keys = append(keys, f.ID+" "+f.Module+" "+f.Level)
			}
		}
	}
	if n != 1 {
		return nil, "", fmt.Errorf("%d modules scanned, want exactly 1", n)
	}
	slices.Sort(keys)
	return slices.Compact(keys), goVersion, nil
}

func printTable(w io.Writer, r *Results) {
	fmt.Fprintf(w, "%s@%s %s, %s, %s/%s, %d CPUs, median of %d runs\n\n", r.Module, r.Version, r.Packages, r.GoVersion, r.OS, r.Arch, r.CPUs, r.Runs)
	fmt.Fprintf(w, "%-24s %10s %10s %12s\n", "", "wall", "cpu", "peak RSS")
	for _, row := range []struct {
		name string
		s    Series
	}{{"govulncheck", r.Govulncheck}, {"vexloom first scan", r.First}, {"vexloom repeated scan", r.Repeated}} {
		rss := "n/a"
		if row.s.MedianMaxRSS > 0 {
			rss = formatBytes(row.s.MedianMaxRSS)
		}
		fmt.Fprintf(w, "%-24s %10s %10s %12s\n", row.name, formatSeconds(row.s.MedianWall), formatSeconds(row.s.MedianCPU), rss)
	}
	fmt.Fprintln(w)
	for _, x := range r.Ratios {
		verdict := "ok"
		switch {
		case x.Target == "":
			verdict = "(no target)"
		case !x.Met:
			verdict = "MISSED"
		}
		v := fmt.Sprintf("%.2f", x.Value)
		switch x.Unit {
		case "s":
			v = formatSeconds(x.Value)
		case "x":
			v = fmt.Sprintf("%.0fx", x.Value)
		}
		target := ""
		if x.Target != "" {
			target = "target " + x.Target
		}
		fmt.Fprintf(w, "%-41s %8s  %-15s %s\n", x.Name, v, target, verdict)
	}
	fmt.Fprintln(w)
	for _, row := range []struct {
		name string
		s    Series
	}{{"govulncheck", r.Govulncheck}, {"vexloom first scan", r.First}, {"vexloom repeated scan", r.Repeated}} {
		n := 0
		for _, x := range row.s.Runs {
			if x.Disturbed {
				n++
			}
		}
		if row.s.Retried > 0 || n > 0 {
			fmt.Fprintf(w, "%s: %d disturbed runs repeated, %d of the counted runs still disturbed by other processes\n", row.name, row.s.Retried, n)
		}
	}
	fd := r.Findings
	if fd.Same {
		fmt.Fprintf(w, "findings: the same %d (vulnerability, module) pairs at the same level (%d symbol, %d package, %d module)\n",
			len(fd.Govulncheck), fd.Levels["symbol"], fd.Levels["package"], fd.Levels["module"])
	} else {
		fmt.Fprintf(w, "findings DIFFER: govulncheck %d, vexloom %d\n", len(fd.Govulncheck), len(fd.Vexloom))
		for _, k := range fd.OnlyGovuln {
			fmt.Fprintf(w, "  only govulncheck: %s\n", k)
		}
		for _, k := range fd.OnlyVexloom {
			fmt.Fprintf(w, "  only vexloom:     %s\n", k)
		}
	}
	fmt.Fprintf(w, "total time: %s\n", roundDuration(time.Duration(r.Total*float64(time.Second))))
}

// output runs a command and returns its stdout, also when it fails.
func (b *bench) output(ctx context.Context, dir, name string, args ...string) (string, error) {
	var stdout, stderr strings.Builder
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, b.env, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), commandError(cmd, err, stderr.String())
	}
	return stdout.String(), nil
}

// quiet runs a command whose output matters only when it fails.
func (b *bench) quiet(ctx context.Context, dir, name string, args ...string) error {
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, b.env, io.Discard, &stderr
	if err := cmd.Run(); err != nil {
		return commandError(cmd, err, stderr.String())
	}
	return nil
}

func commandError(cmd *exec.Cmd, err error, stderr string) error {
	msg := strings.Join(append([]string{filepath.Base(cmd.Path)}, cmd.Args[1:]...), " ")
	if s := strings.TrimSpace(tail(stderr)); s != "" {
		return fmt.Errorf("%s: %w\n%s", msg, err, s)
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// tail keeps the end of a command's stderr, where errors are.
func tail(s string) string {
	if len(s) <= stderrTailForErrors {
		return s
	}
	return "…" + s[len(s)-stderrTailForErrors:]
}

func fileURL(dir string) string {
	p := filepath.ToSlash(dir)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	return "file://" + p
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

func median[T int64 | float64](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func formatSeconds(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.2fs", s)
	}
	return fmt.Sprintf("%.1fs", s)
}

func formatBytes(n int64) string {
	const mib = 1 << 20
	if n >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(n)/mib)
}

func roundDuration(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "scanbench: "+format+"\n", args...)
}
