package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	vulnscan "golang.org/x/vuln/scan"

	"github.com/vexloom/vexloom/internal/osv"
	"github.com/vexloom/vexloom/internal/progress"
)

// Mode says what govulncheck analyses.
type Mode string

// Modes.
const (
	ModeSource Mode = "source"
	ModeBinary Mode = "binary"
)

// Request is one run of the engine.
type Request struct {
	// Mode is source (default) or binary.
	Mode Mode
	// Dir is the module directory (source mode).
	Dir string
	// Patterns are the package patterns to analyse (source mode); default
	// "./...".
	Patterns []string
	// Binary is the executable to analyse (binary mode).
	Binary string
	// DB is the database URL (file://...).
	DB string
	// GoVersion pins the standard library version ("go1.24.3"); empty means
	// the installed go command's version.
	GoVersion string
	// Tags are build tags.
	Tags []string
	// Env is the environment of the go command; nil means os.Environ().
	// GOWORK=off is added unless Env sets GOWORK, so each module is analysed
	// on its own go.mod.
	Env []string
	// Progress receives govulncheck's progress messages.
	Progress *progress.Reporter
	// Level is the scan level, symbol (default) or module (source mode):
	// module only reads the module graph (delta.go).
	Level string
}

// Output is what one engine run found.
type Output struct {
	// GoVersion is the standard library version the engine used.
	GoVersion string `json:"go_version,omitempty"`
	// DBLastModified is the database's modification time as the engine saw it.
	DBLastModified *time.Time `json:"db_last_modified,omitempty"`
	// Modules are the modules of the analysed build (path@version).
	Modules []ModuleVersion `json:"modules,omitempty"`
	// Findings, one per vulnerability and module, strongest level first.
	Findings []Finding `json:"findings"`
	// Vulnerabilities describes each ID in Findings.
	Vulnerabilities []Vulnerability `json:"vulnerabilities,omitempty"`
}

// ModuleVersion is a module in a build list.
type ModuleVersion struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"`
}

// ErrEngine wraps errors reported by govulncheck's engine (a module that does
// not load, a binary that cannot be read).
var ErrEngine = errors.New("govulncheck")

// maxStderr bounds how much of the engine's stderr is kept for errors.
const maxStderr = 64 << 10

// Run runs govulncheck's engine in-process and reads its JSON stream as it is
// written, so memory stays close to the engine's own.
func Run(ctx context.Context, req Request) (*Output, error) {
	level := req.Level
	if level == "" {
		level = "symbol"
	}
	args := []string{"-format", "json", "-scan", level, "-db", req.DB}
	switch req.Mode {
	case "", ModeSource:
		if req.Dir == "" {
			return nil, errors.New("no module directory to scan")
		}
		args = append(args, "-C", req.Dir)
		if len(req.Tags) > 0 {
			args = append(args, "-tags", strings.Join(req.Tags, ","))
		}
		if level != "module" { // module level reads the module graph, not packages
			patterns := req.Patterns
			if len(patterns) == 0 {
				patterns = []string{"./..."}
			}
			args = append(args, patterns...)
		}
	case ModeBinary:
		args = append(args, "-mode", "binary", req.Binary)
	default:
		return nil, fmt.Errorf("unknown scan mode %q", req.Mode)
	}
	env := req.Env
	if env == nil {
		env = os.Environ()
	}
	env = slices.Clone(env)
	if !hasEnv(env, "GOWORK") {
		env = append(env, "GOWORK=off")
	}
	if req.GoVersion != "" {
		env = append(env, "GOVERSION="+req.GoVersion)
	}

	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	stderr := &boundedBuffer{max: maxStderr}
	// The engine does not survive its context being cancelled: x/vuln
	// v1.9.0 returns a nil result without an error when its call graph is
	// interrupted, and dereferences it in a goroutine of its own, which
	// takes the whole process down. So the engine runs on a context that
	// is never cancelled and, when ours is, is left to finish in the
	// background while Run returns the cancellation: an interrupted scan
	// is an error, never a crash nor a shorter result.
	cmd := vulnscan.Command(context.WithoutCancel(ctx), args...)
	cmd.Stdin = strings.NewReader("")
	cmd.Stdout = pw
	cmd.Stderr = stderr
	cmd.Env = env

	dec := newDecoder(req.Progress)
	var decErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		decErr = dec.read(pr)
		// Drain whatever is left so the engine never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, pr)
	}()
	if err := cmd.Start(); err != nil {
		pw.Close()
		wg.Wait()
		return nil, fmt.Errorf("starting govulncheck: %w", err)
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.Close()
		wg.Wait()
		done <- err
	}()
	var runErr error
	select {
	case runErr = <-done:
	case <-ctx.Done():
		// The decoder drains the engine's output until it ends.
		return nil, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if runErr != nil {
		return nil, engineError(runErr, stderr.String())
	}
	if decErr != nil {
		return nil, fmt.Errorf("reading govulncheck output: %w", decErr)
	}
	return dec.output(), nil
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// engineError turns the engine's error and stderr into one line: the
// engine writes a paragraph (a go list error per package, advice about
// package patterns); the errors themselves are what matter.
func engineError(err error, stderr string) error {
	msg := strings.TrimSpace(stderr)
	if msg == "" {
		msg = err.Error()
	}
	var parts []string
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "govulncheck: ")
		switch {
		case line == "",
			strings.HasPrefix(line, "There are errors with the provided package patterns"),
			strings.HasPrefix(line, "For details on package patterns"):
			continue
		}
		parts = append(parts, line)
	}
	const max = 6
	if len(parts) > max {
		parts = append(parts[:max], fmt.Sprintf("and %d more", len(parts)-max))
	}
	one := strings.Join(parts, "; ")
	one = strings.ReplaceAll(one, ":; ", ": ")
	return fmt.Errorf("%w: %s", ErrEngine, one)
}

type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The JSON stream of govulncheck (protocol v1.0.0): a sequence of messages,
// each with exactly one of these fields set.
type message struct {
	Config   *streamConfig   `json:"config,omitempty"`
	Progress *streamProgress `json:"progress,omitempty"`
	SBOM     *streamSBOM     `json:"SBOM,omitempty"`
	OSV      json.RawMessage `json:"osv,omitempty"`
	Finding  *streamFinding  `json:"finding,omitempty"`
}

type streamConfig struct {
	ProtocolVersion string     `json:"protocol_version"`
	ScannerName     string     `json:"scanner_name,omitempty"`
	ScannerVersion  string     `json:"scanner_version,omitempty"`
	DB              string     `json:"db,omitempty"`
	DBLastModified  *time.Time `json:"db_last_modified,omitempty"`
	GoVersion       string     `json:"go_version,omitempty"`
	ScanLevel       string     `json:"scan_level,omitempty"`
	ScanMode        string     `json:"scan_mode,omitempty"`
}

type streamProgress struct {
	Message string `json:"message,omitempty"`
}

type streamSBOM struct {
	GoVersion string          `json:"go_version,omitempty"`
	Modules   []ModuleVersion `json:"modules,omitempty"`
	Roots     []string        `json:"roots,omitempty"`
}

type streamFinding struct {
	OSV          string   `json:"osv,omitempty"`
	FixedVersion string   `json:"fixed_version,omitempty"`
	Trace        []*Frame `json:"trace,omitempty"`
}

// decoder folds the stream into findings: one per (vulnerability, module) at
// the strongest level seen.
type decoder struct {
	progress *progress.Reporter
	cfg      streamConfig
	sbom     streamSBOM
	osvs     map[string]*osv.Entry
	findings map[string]*Finding
	traces   map[string]map[string]bool
}

func newDecoder(p *progress.Reporter) *decoder {
	return &decoder{
		progress: p,
		osvs:     map[string]*osv.Entry{},
		findings: map[string]*Finding{},
		traces:   map[string]map[string]bool{},
	}
}

func (d *decoder) read(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var m message
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		switch {
		case m.Config != nil:
			d.cfg = *m.Config
		case m.Progress != nil:
			if msg := strings.TrimSpace(m.Progress.Message); msg != "" {
				d.progress.Printf("    %s", msg)
			}
		case m.SBOM != nil:
			d.sbom = *m.SBOM
		case len(m.OSV) > 0:
			var e osv.Entry
			if err := json.Unmarshal(m.OSV, &e); err != nil {
				return fmt.Errorf("decoding OSV entry: %w", err)
			}
			d.osvs[e.ID] = &e
		case m.Finding != nil:
			d.finding(m.Finding)
		}
	}
}

func (d *decoder) finding(sf *streamFinding) {
	if sf.OSV == "" || len(sf.Trace) == 0 || sf.Trace[0] == nil {
		return
	}
	top := *sf.Trace[0]
	level := LevelModule
	switch {
	case top.Function != "":
		level = LevelSymbol
	case top.Package != "":
		level = LevelPackage
	}
	key := sf.OSV + " " + top.Module
	f := d.findings[key]
	if f == nil {
		f = &Finding{ID: sf.OSV, Module: top.Module}
		d.findings[key] = f
	}
	if f.Version == "" {
		f.Version = top.Version
	}
	if sf.FixedVersion != "" {
		f.FixedVersion = sf.FixedVersion
	}
	if level > f.Level {
		f.Level = level
	}
	if top.Package != "" && !slices.Contains(f.Packages, top.Package) {
		f.Packages = append(f.Packages, top.Package)
	}
	if level == LevelSymbol {
		sym := top.Symbol()
		if !slices.Contains(f.Symbols, sym) {
			f.Symbols = append(f.Symbols, sym)
		}
		trace := make(Trace, 0, len(sf.Trace))
		for _, fr := range sf.Trace {
			if fr != nil {
				trace = append(trace, *fr)
			}
		}
		sig := traceSignature(trace)
		if d.traces[key] == nil {
			d.traces[key] = map[string]bool{}
		}
		if !d.traces[key][sig] {
			d.traces[key][sig] = true
			f.Traces = append(f.Traces, trace)
		}
	}
}

func traceSignature(t Trace) string {
	var b strings.Builder
	for _, f := range t {
		b.WriteString(f.Symbol())
		b.WriteString("@")
		b.WriteString(f.Position.String())
		b.WriteString(";")
	}
	return b.String()
}

func (d *decoder) output() *Output {
	out := &Output{
		GoVersion:      d.cfg.GoVersion,
		DBLastModified: d.cfg.DBLastModified,
		Modules:        d.sbom.Modules,
		Findings:       []Finding{},
	}
	if out.GoVersion == "" {
		out.GoVersion = d.sbom.GoVersion
	}
	ids := map[string]bool{}
	for _, f := range d.findings {
		if e := d.osvs[f.ID]; e != nil {
			f.Aliases = sortedUnique(e.Aliases)
			for _, a := range e.Affected {
				if a.Package.Name != f.Module {
					continue
				}
				for _, imp := range a.EcosystemSpecific.Imports {
					f.VulnerablePackages = append(f.VulnerablePackages, imp.Path)
					for _, sym := range imp.Symbols {
						f.VulnerableSymbols = append(f.VulnerableSymbols, imp.Path+"."+sym)
					}
				}
			}
			f.VulnerablePackages = sortedUnique(f.VulnerablePackages)
			f.VulnerableSymbols = sortedUnique(f.VulnerableSymbols)
		}
		slices.Sort(f.Packages)
		slices.Sort(f.Symbols)
		slices.SortFunc(f.Traces, func(a, b Trace) int { return strings.Compare(traceSignature(a), traceSignature(b)) })
		out.Findings = append(out.Findings, *f)
		ids[f.ID] = true
	}
	SortFindings(out.Findings)
	for id := range ids {
		e := d.osvs[id]
		if e == nil {
			out.Vulnerabilities = append(out.Vulnerabilities, Vulnerability{ID: id})
			continue
		}
		out.Vulnerabilities = append(out.Vulnerabilities, VulnerabilityFromOSV(e))
	}
	slices.SortFunc(out.Vulnerabilities, func(a, b Vulnerability) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// VulnerabilityFromOSV keeps the reportable part of an OSV entry.
func VulnerabilityFromOSV(e *osv.Entry) Vulnerability {
	v := Vulnerability{
		ID:         e.ID,
		Aliases:    sortedUnique(e.Aliases),
		Summary:    e.Summary,
		Details:    e.Details,
		References: e.References,
	}
	if !e.Published.IsZero() && e.Published.Year() > 1 {
		v.Published = e.Published.UTC().Format(time.RFC3339)
	}
	if !e.Modified.IsZero() && e.Modified.Year() > 1 {
		v.Modified = e.Modified.UTC().Format(time.RFC3339)
	}
	if strings.HasPrefix(e.ID, "GO-") {
		v.URL = "https://pkg.go.dev/vuln/" + e.ID
	}
	return v
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
