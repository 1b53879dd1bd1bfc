//go:build unix

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vexloom/vexloom/internal/fixture"
)

// Files named on the command line are read only when they are regular
// files: a FIFO (or a device, or a directory) is refused at once, where
// reading it used to hang until the process was killed.
func TestOutsideFilesRefuseFIFOs(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	priv, pub := keyPair(t, dir, "k")
	fifo := filepath.Join(dir, "in.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	doc := filepath.Join(dir, "doc.json")
	if err := os.WriteFile(doc, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := [][]string{
		{"verify", fifo, "--key", pub},
		{"verify", doc, "--key", fifo},
		{"verify", doc, "--certificate-identity", "x", "--certificate-oidc-issuer", "https://i", "--trusted-root", fifo},
		{"attest", fifo, "--key", priv},
		{"attest", doc, "--key", fifo},
		{"gate", "--scan", fifo, "--allow-unsigned"},
		{"gate", "--scan", doc, "--key", fifo},
		{"gate", "--scan", doc, "--allow-unsigned", "--policy", fifo},
		{"gate", "--scan", filepath.Join("..", "gate", "testdata", "demo.govulncheck.json"), "--allow-unsigned", "--vex", fifo},
		{"gate", "--scan", doc, "--key", pub, "--certificate-identity", "x"},
		{"verify", os.DevNull, "--key", pub},
		{"verify", dir, "--key", pub},
	}
	for _, args := range cases {
		done := make(chan struct{})
		var stderr string
		var code int
		go func() {
			defer close(done)
			_, stderr, code = e.run(args...)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: still reading after 10s", args)
		}
		if args[len(args)-1] == "x" {
			continue // bad usage, checked before any file is read
		}
		if code != 1 || !strings.Contains(stderr, "not a regular file") {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
		}
	}
}

// A bundle read from stdin that never comes: the command gives up when
// its context is cancelled (SIGTERM).
func TestVerifyStdinHonoursCancellation(t *testing.T) {
	e := newEnv(t)
	_, pub := keyPair(t, t.TempDir(), "k")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		g := &globals{now: func() time.Time { return fixture.Now }, env: e.vars}
		done <- run(ctx, g, []string{"--cache-dir", e.cache, "verify", "-", "--key", pub}, r, &bytes.Buffer{}, &errb)
	}()
	select {
	case code := <-done:
		if code == 0 {
			t.Errorf("verify of nothing: exit 0")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("verify - still waits on stdin after its context was cancelled")
	}
}
