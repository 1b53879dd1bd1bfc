package source

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// ErrGoMod wraps errors about a go.mod file that cannot be used.
var ErrGoMod = errors.New("invalid go.mod")

// maxGoMod bounds the size of a go.mod vexloom reads.
const maxGoMod = 4 << 20

// Module is a Go module found in a tree.
type Module struct {
	// Path is the module path from its go.mod.
	Path string `json:"path"`
	// Dir is the module's directory relative to the tree's root, slash
	// separated; "." for the root.
	Dir string `json:"dir"`
	// GoDirective is the go line ("1.24.0"), Toolchain the toolchain line
	// ("go1.24.3"), both possibly empty.
	GoDirective string `json:"go_directive,omitempty"`
	Toolchain   string `json:"toolchain,omitempty"`
	// LocalReplaces are the directories (relative to the root, slash
	// separated) that replace directives point at inside the tree; their
	// content is part of the module's build.
	LocalReplaces []string `json:"local_replaces,omitempty"`
	// Err is set when the go.mod cannot be parsed; the module is reported
	// with it and not scanned.
	Err error `json:"-"`
}

// GoModPaths picks the go.mod files that define modules out of a list of
// slash-separated file paths: not under vendor/ or testdata/, nor under
// directories the go command ignores (names starting with "." or "_").
func GoModPaths(files []string) []string {
	var out []string
	for _, f := range files {
		if path.Base(f) != "go.mod" {
			continue
		}
		if ignoredDir(path.Dir(f)) {
			continue
		}
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

func ignoredDir(dir string) bool {
	if dir == "." {
		return false
	}
	for _, el := range strings.Split(dir, "/") {
		if el == "vendor" || el == "testdata" || strings.HasPrefix(el, ".") || strings.HasPrefix(el, "_") {
			return true
		}
	}
	return false
}

// ParseModule reads a go.mod found at relPath (slash separated, relative to
// the tree's root). A go.mod that does not parse yields a Module with Err set
// naming the file and line.
func ParseModule(relPath string, data []byte) Module {
	dir := path.Dir(relPath)
	m := Module{Dir: dir}
	if len(data) > maxGoMod {
		m.Err = fmt.Errorf("%w: %s is larger than %d bytes", ErrGoMod, relPath, maxGoMod)
		return m
	}
	f, err := modfile.Parse(relPath, data, nil)
	if err != nil {
		m.Err = fmt.Errorf("%w: %v", ErrGoMod, oneLine(err))
		return m
	}
	if f.Module == nil || f.Module.Mod.Path == "" {
		m.Err = fmt.Errorf("%w: %s has no module line", ErrGoMod, relPath)
		return m
	}
	m.Path = f.Module.Mod.Path
	if f.Go != nil {
		m.GoDirective = f.Go.Version
	}
	if f.Toolchain != nil {
		m.Toolchain = f.Toolchain.Name
	}
	for _, r := range f.Replace {
		if !modfile.IsDirectoryPath(r.New.Path) {
			continue
		}
		target := path.Clean(path.Join(dir, filepath.ToSlash(r.New.Path)))
		if target == ".." || strings.HasPrefix(target, "../") || path.IsAbs(target) {
			// Outside the tree: nothing vexloom can hash; the module will
			// probably not load, and the engine will say why.
			continue
		}
		if !slices.Contains(m.LocalReplaces, target) {
			m.LocalReplaces = append(m.LocalReplaces, target)
		}
	}
	slices.Sort(m.LocalReplaces)
	return m
}

func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}

// GoVersion is the Go version a module builds with, and where vexloom found it.
type GoVersion struct {
	// Version in GOVERSION form: "go1.24.3".
	Version string `json:"version"`
	// Source: "config", ".go-version", "toolchain", "go directive" or
	// "installed".
	Source string `json:"source"`
	// File is the file it was read from, relative to the tree's root.
	File string `json:"file,omitempty"`
}

func (g GoVersion) String() string {
	if g.File != "" {
		if path.Base(g.File) == g.Source {
			return fmt.Sprintf("%s (from %s)", g.Version, g.File)
		}
		return fmt.Sprintf("%s (from the %s in %s)", g.Version, g.Source, g.File)
	}
	return fmt.Sprintf("%s (%s)", g.Version, g.Source)
}

var goVersionRE = regexp.MustCompile(`^go1(\.(0|[1-9][0-9]*)){1,2}((rc|beta)[1-9][0-9]*)?$`)

// NormalizeGoVersion turns "1.24.3", "go1.24.3" and "1.24" into GOVERSION
// form ("go1.24.3", "go1.24.0"). Go 1.21 and later write a release as
// 1.N.0; before that 1.N was the release.
func NormalizeGoVersion(v string) (string, error) {
	s := strings.TrimSpace(v)
	if !strings.HasPrefix(s, "go") {
		s = "go" + s
	}
	if !goVersionRE.MatchString(s) {
		return "", fmt.Errorf("%q is not a Go version (want for example 1.24.3 or go1.24.3)", truncate(v, 40))
	}
	parts := strings.Split(strings.TrimPrefix(s, "go"), ".")
	if len(parts) == 2 && !strings.ContainsAny(parts[1], "rcbeta") {
		var minor int
		fmt.Sscanf(parts[1], "%d", &minor)
		if minor >= 21 {
			s += ".0"
		}
	}
	return s, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// FileReader reads a file of the tree by its slash-separated path relative
// to the root, returning an error wrapping os.ErrNotExist when absent.
type FileReader func(rel string) ([]byte, error)

// ResolveGoVersion decides which Go version m builds with: the configured
// one, else a .go-version file (in the module's directory, then at the
// root), else the toolchain line, else the go line. installed is used when
// none of these says (a go.mod without a go line).
func ResolveGoVersion(m Module, configured string, read FileReader, installed string) (GoVersion, error) {
	if configured != "" {
		v, err := NormalizeGoVersion(configured)
		if err != nil {
			return GoVersion{}, fmt.Errorf("configured Go version: %w", err)
		}
		return GoVersion{Version: v, Source: "config"}, nil
	}
	dirs := []string{m.Dir}
	if m.Dir != "." {
		dirs = append(dirs, ".")
	}
	for _, d := range dirs {
		name := path.Join(d, ".go-version")
		data, err := read(name)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return GoVersion{}, err
		}
		line := strings.TrimSpace(string(data))
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		v, err := NormalizeGoVersion(line)
		if err != nil {
			return GoVersion{}, fmt.Errorf("%s: %w", name, err)
		}
		return GoVersion{Version: v, Source: ".go-version", File: name}, nil
	}
	gomod := path.Join(m.Dir, "go.mod")
	if m.Toolchain != "" && m.Toolchain != "default" {
		v, err := NormalizeGoVersion(m.Toolchain)
		if err != nil {
			return GoVersion{}, fmt.Errorf("%s: toolchain line: %w", gomod, err)
		}
		return GoVersion{Version: v, Source: "toolchain", File: gomod}, nil
	}
	if m.GoDirective != "" {
		v, err := NormalizeGoVersion(m.GoDirective)
		if err != nil {
			return GoVersion{}, fmt.Errorf("%s: go line: %w", gomod, err)
		}
		return GoVersion{Version: v, Source: "go directive", File: gomod}, nil
	}
	return GoVersion{Version: installed, Source: "installed"}, nil
}
