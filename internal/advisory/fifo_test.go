//go:build unix

package advisory

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/infile"
)

// An advisory feed named as a file that is a FIFO is refused at once
// instead of waiting for a writer; a cancelled sync reads nothing.
func TestFetchRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "feed.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := fetch(context.Background(), http.DefaultClient, fifo, 1<<20, true, nil)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, infile.ErrNotRegular) || !errors.Is(err, ErrFetch) {
			t.Errorf("err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("fetch still waits on the FIFO")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fetch(ctx, http.DefaultClient, dir, 1<<20, true, nil); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
