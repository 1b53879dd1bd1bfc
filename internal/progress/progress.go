// Package progress carries human-readable progress of long work (which
// branch, which module, how far) from the stages to the terminal.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
)

// Reporter receives progress lines. A nil *Reporter discards everything, so
// stages can report unconditionally.
type Reporter struct {
	mu sync.Mutex
	w  io.Writer
}

// New returns a Reporter writing one line per message to w.
func New(w io.Writer) *Reporter { return &Reporter{w: w} }

// Printf writes one progress line.
func (r *Reporter) Printf(format string, args ...any) {
	if r == nil || r.w == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, format+"\n", args...)
}

// Writer returns a writer whose lines become progress lines (a stage that
// writes notes to an io.Writer reports through it). A line without its
// newline is written as a whole line.
func (r *Reporter) Writer() io.Writer { return lineWriter{r} }

type lineWriter struct{ r *Reporter }

func (w lineWriter) Write(p []byte) (int, error) {
	for line := range strings.Lines(string(p)) {
		w.r.Printf("%s", strings.TrimSuffix(line, "\n"))
	}
	return len(p), nil
}
