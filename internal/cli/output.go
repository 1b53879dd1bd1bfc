package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vexloom/vexloom/internal/atomicfile"
)

// writeOutput writes what fill produces to path ("" or "-" for stdout).
// A file is written whole or not at all: to a temporary file first, renamed
// into place only when everything was written.
func writeOutput(stdout io.Writer, path string, fill func(w io.Writer) error) error {
	if path == "" || path == "-" {
		return fill(stdout)
	}
	var buf bytes.Buffer
	if err := fill(&buf); err != nil {
		return err
	}
	// A device, pipe or other special file (/dev/null, /dev/stdout, a FIFO)
	// is written to, never replaced.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return fmt.Errorf("writing %s: it is a directory", path)
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		if _, err := f.Write(buf.Bytes()); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return f.Close()
	}
	// A symbolic link is followed: its target is replaced, not the link.
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	return writeFileAtomic(path, buf.Bytes(), 0o644)
}

// writeBytes writes b to the file path, or to stdout when path is "" or
// "-" (writeOutput).
func writeBytes(stdout io.Writer, path string, b []byte) error {
	return writeOutput(stdout, path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory and a rename.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	return atomicfile.Write(path, data, perm)
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usageError("--format must be %s, not %q", strings.Join(allowed, " or "), format)
}

// schemaBase prefixes the schema URIs of vexloom's JSON outputs.
const schemaBase = "https://github.com/vexloom/vexloom/schema/"

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
