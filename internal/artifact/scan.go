package artifact

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/vexloom/vexloom/internal/progress"
	"github.com/vexloom/vexloom/internal/scan"
)

// BinaryResult is a binary-mode scan of one Go executable.
type BinaryResult struct {
	// File is the executable scanned.
	File string `json:"file"`
	// GoVersion is the standard library version the engine took from the
	// binary.
	GoVersion string `json:"go_version,omitempty"`
	// Database is the vulnerability database the scan read.
	Database scan.Database `json:"database"`
	// Modules are the modules linked into the binary (path@version, the
	// standard library as "stdlib").
	Modules []scan.ModuleVersion `json:"modules,omitempty"`
	// Findings, one per vulnerability and module, strongest level first. In
	// binary mode a symbol-level finding means a vulnerable function is in
	// the binary's symbol table (the linker drops what the program cannot
	// reach, so this is close to, but not, a call graph), package level that
	// only other code of the vulnerable package is, and module level that
	// only the module is.
	Findings []scan.Finding `json:"findings"`
	// Vulnerabilities describe the findings' IDs.
	Vulnerabilities []scan.Vulnerability `json:"vulnerabilities,omitempty"`
}

// ScanBinary analyses a Go executable with govulncheck's engine in binary
// mode against db (db.URL is what the engine reads). A file that is not a
// Go binary, or a database the engine cannot read, is an error matching
// scan.ErrEngine.
func ScanBinary(ctx context.Context, file string, db scan.Database, p *progress.Reporter) (*BinaryResult, error) {
	if db.URL == "" {
		return nil, errors.New("scanning a binary: no vulnerability database")
	}
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("scanning binary: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("scanning binary %s: not a regular file", file)
	}
	out, err := scan.Run(ctx, scan.Request{
		Mode:     scan.ModeBinary,
		Binary:   file,
		DB:       db.URL,
		Progress: p,
	})
	if err != nil {
		return nil, fmt.Errorf("scanning binary %s: %w", file, err)
	}
	return &BinaryResult{
		File:            file,
		GoVersion:       out.GoVersion,
		Database:        db,
		Modules:         out.Modules,
		Findings:        out.Findings,
		Vulnerabilities: out.Vulnerabilities,
	}, nil
}
